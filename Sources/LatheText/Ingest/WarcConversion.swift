import LatheIO

/// WARC records to documents: `response` (HTTP) and `resource` records through the HTML
/// extractor, `conversion` (WET) records as text; every other record type is counted under
/// `warc_<type>`.
public enum WarcConversion {
    static let htmlTypes: Set<String> = ["text/html", "application/xhtml+xml", "application/xhtml", "text/xhtml"]

    public static func outcome(_ record: WarcRecord, file: String, source: String, settings: IngestSettings) -> Outcome {
        let id = record.recordID.map(stripAngles) ?? StableID.make(source, file, String(record.offset))
        var origin = PageOrigin(id: id, source: settings.source ?? source, url: record.targetURI)
        if let date = record.headers["WARC-Date"] { origin.meta["warc_date"] = .string(date) }
        var rejectInfo = origin
        rejectInfo.meta["warc_type"] = .string(record.type)
        rejectInfo.meta["file"] = .string(file)
        rejectInfo.meta["offset"] = .number(JSONNumber(record.offset))

        let type = record.type
        guard type == "response" || type == "resource" || type == "conversion" else {
            return .drop(rejectInfo.rejectRecord, reason: "warc_" + (type.isEmpty ? "untyped" : type))
        }
        if record.blockSkipped || record.blockLength > settings.maxPageBytes {
            return .drop(rejectInfo.rejectRecord, reason: DropReason.pageTooLarge,
                         detail: .string("\(record.blockLength) bytes, over --max-page-bytes \(settings.maxPageBytes)"))
        }
        let contentType = record.headers["Content-Type"] ?? ""
        switch type {
        case "conversion":
            return PageConversion.text(record.block, charset: Charset.parameter(contentType), origin: origin, settings: settings)
        case "resource":
            return page(record.block, mediaType: mediaType(contentType), charset: Charset.parameter(contentType),
                        origin: origin, reject: rejectInfo, settings: settings)
        default:
            let response: HTTPResponse
            do {
                response = try HTTPPayload.parseResponse(record.block, maxBodyBytes: settings.maxPageBytes)
            } catch {
                return .drop(rejectInfo.rejectRecord, reason: error.reason, detail: .string(error.detail))
            }
            guard (200..<300).contains(response.status) else {
                return .drop(rejectInfo.rejectRecord, reason: DropReason.httpStatus, detail: .string("HTTP status \(response.status)"))
            }
            return page(response.body, mediaType: response.mediaType, charset: response.charset,
                        origin: origin, reject: rejectInfo, settings: settings)
        }
    }

    private static func page(_ body: [UInt8], mediaType: String?, charset: String?, origin: PageOrigin, reject: PageOrigin,
                             settings: IngestSettings) -> Outcome {
        if let mediaType, !mediaType.isEmpty, !htmlTypes.contains(mediaType) {
            // Servers label HTML as text/plain or octet-stream now and then; trust the bytes over
            // the label only when they open like an HTML document.
            guard (mediaType == "text/plain" || mediaType == "application/octet-stream") && looksLikeHTML(body) else {
                return .drop(reject.rejectRecord, reason: DropReason.nonHTML, detail: .string(mediaType))
            }
        } else if mediaType == nil || mediaType!.isEmpty, !looksLikeHTML(body) {
            return .drop(reject.rejectRecord, reason: DropReason.nonHTML, detail: .string("no Content-Type, and not HTML by its first bytes"))
        }
        if body.count > settings.maxPageBytes {
            return .drop(reject.rejectRecord, reason: DropReason.pageTooLarge,
                         detail: .string("\(body.count) bytes, over --max-page-bytes \(settings.maxPageBytes)"))
        }
        if let kind = PageConversion.binarySignature(body) {
            return .drop(reject.rejectRecord, reason: DropReason.binaryPayload, detail: .string(kind))
        }
        return PageConversion.html(body, httpCharset: charset, origin: origin, settings: settings)
    }

    static func mediaType(_ contentType: String) -> String? {
        let type = contentType.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        return type.isEmpty ? nil : type
    }

    /// The first non-blank bytes open an HTML document or element.
    public static func looksLikeHTML(_ body: [UInt8]) -> Bool {
        var i = 0
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < body.count && (body[i] == 0x20 || body[i] == 0x09 || body[i] == 0x0A || body[i] == 0x0D) { i += 1 }
        guard i < body.count, body[i] == UInt8(ascii: "<") else { return false }
        let head = String(decoding: body[i..<min(body.count, i + 1024)], as: UTF8.self).lowercased()
        return head.hasPrefix("<!doctype html") || head.contains("<html") || head.contains("<head") || head.contains("<body")
            || head.hasPrefix("<!--") || head.contains("<meta") || head.contains("<title") || head.contains("<div") || head.contains("<p>")
    }

    static func stripAngles(_ id: String) -> String {
        id.hasPrefix("<") && id.hasSuffix(">") ? String(id.dropFirst().dropLast()) : id
    }
}
