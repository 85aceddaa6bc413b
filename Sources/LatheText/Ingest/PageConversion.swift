import LatheIO

/// How `lathe-ingest` turns what it reads into documents.
public struct IngestSettings: Sendable {
    public var extraction = ExtractionOptions()
    /// Pages (HTTP bodies, files) larger than this are dropped as `page_too_large`.
    public var maxPageBytes = 16 << 20
    /// The `source` of every document; nil: the crawl name a WARC's warcinfo gives, else the input's name.
    public var source: String?
    /// `--block-domains`, `--lang`, `--filters` and `--redact`, for documents and threads; nil
    /// checks nothing and identifies no language.
    public var checks: RecordChecks?
    /// Further steps every document goes through after `checks`.
    public var filters: [DocumentStep] = []
    public var htmlField = "html"
    public var textField = "text"
    public var urlField = "url"
    public var idField = "id"
    /// HTML files get `https://` + their path below the directory given as their URL.
    public var urlFromPath = false
    /// StackExchange dumps: post text held in memory before a sorted run spills to disk, bytes.
    public var memoryBudget = 512 << 20
    /// StackExchange dumps: where spill runs go; nil is `$TMPDIR` or `/tmp`.
    public var tempDirectory: String?
    /// StackExchange dumps: the site's host name; nil takes the dump's directory name.
    public var site: String?
    /// StackExchange dumps: keep questions without answers (else `unanswered` drops).
    public var keepUnanswered = false

    public init() {}
}

/// Drop reasons, one name per way a page can fail to become a document.
public enum DropReason {
    public static let emptyText = "empty_text"
    public static let pageTooLarge = "page_too_large"
    public static let nonHTML = "non_html"
    public static let binaryPayload = "binary_payload"
    public static let httpStatus = "http_status"
}

/// Where a page came from, before it has text.
public struct PageOrigin: Sendable {
    public var id: String
    public var source: String
    public var url: String?
    public var meta = JSONObject()

    public init(id: String, source: String, url: String? = nil) {
        self.id = id
        self.source = source
        self.url = url
    }

    /// What `--rejects` gets for a page that never became a document.
    public var rejectRecord: JSONValue {
        var object = JSONObject([("id", .string(id)), ("source", .string(source))])
        if let url { object["url"] = .string(url) }
        for (key, value) in meta { object[key] = value }
        return .object(object)
    }
}

public enum PageConversion {
    /// An HTML page in any charset to a document, or the reason it is not one.
    public static func html(_ bytes: [UInt8], httpCharset: String? = nil, origin: PageOrigin, settings: IngestSettings) -> Outcome {
        if bytes.count > settings.maxPageBytes {
            return .drop(origin.rejectRecord, reason: DropReason.pageTooLarge, detail: .string("\(bytes.count) bytes, over --max-page-bytes \(settings.maxPageBytes)"))
        }
        if let kind = binarySignature(bytes) {
            return .drop(origin.rejectRecord, reason: DropReason.binaryPayload, detail: .string(kind))
        }
        let decoded = Charset.decode(bytes, httpCharset: httpCharset)
        let page = HTMLExtractor.extract(utf8: decoded.utf8, options: settings.extraction)
        var document = Document(id: origin.id, text: page.text, source: origin.source, url: origin.url, title: page.title)
        document.lang = page.htmlLang.flatMap(primaryLanguage)
        document.meta = origin.meta
        if decoded.charset != "utf-8" { document.meta["charset"] = .string(decoded.charset) }
        if decoded.replaced > 0 { document.meta["replaced_bytes"] = .number(JSONNumber(decoded.replaced)) }
        if let canonical = page.canonicalURL { document.meta["canonical_url"] = .string(canonical) }
        if let published = page.published { document.meta["published"] = .string(published) }
        return finish(document, settings: settings)
    }

    /// Text used as it is (WET records, text files), decoded to UTF-8.
    public static func text(_ bytes: [UInt8], charset: String? = nil, origin: PageOrigin, settings: IngestSettings) -> Outcome {
        if bytes.count > settings.maxPageBytes {
            return .drop(origin.rejectRecord, reason: DropReason.pageTooLarge, detail: .string("\(bytes.count) bytes, over --max-page-bytes \(settings.maxPageBytes)"))
        }
        if let kind = binarySignature(bytes) {
            return .drop(origin.rejectRecord, reason: DropReason.binaryPayload, detail: .string(kind))
        }
        let decoded = Charset.decode(bytes, httpCharset: charset, sniffMeta: false)
        var text = String(decoding: decoded.utf8, as: UTF8.self)
        if text.contains("\r") { text = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n") }
        var document = Document(id: origin.id, text: text.trimmingSpaces, source: origin.source, url: origin.url)
        document.meta = origin.meta
        if decoded.charset != "utf-8" { document.meta["charset"] = .string(decoded.charset) }
        if decoded.replaced > 0 { document.meta["replaced_bytes"] = .number(JSONNumber(decoded.replaced)) }
        return finish(document, settings: settings)
    }

    /// Runs the filters over a document with text, and says keep or drop.
    public static func finish(_ document: Document, settings: IngestSettings) -> Outcome {
        var document = document
        if document.text.allSatisfy(\.isWhitespace) {
            return .drop(document.json, reason: DropReason.emptyText)
        }
        if let checks = settings.checks, case .drop(let reason, let detail) = checks.check(&document) {
            return .drop(document.json, reason: reason, detail: detail)
        }
        for filter in settings.filters {
            if case .drop(let reason, let detail) = filter.apply(&document) {
                return .drop(document.json, reason: reason, detail: detail)
            }
        }
        return .keep(document.json)
    }

    /// `en` for `en-US`, nil for what is not a language tag.
    static func primaryLanguage(_ tag: String) -> String? {
        let primary = tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? ""
        guard (2...3).contains(primary.count), primary.allSatisfy({ $0 >= "a" && $0 <= "z" }) else { return nil }
        return primary
    }

    /// What a payload that claims to be text really is, when its first bytes give it away:
    /// a known binary format's magic number, or control bytes no text has.
    public static func binarySignature(_ bytes: [UInt8]) -> String? {
        let head = bytes.prefix(1024)
        func starts(_ magic: [UInt8]) -> Bool { head.starts(with: magic) }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "PNG image" }
        if starts([0xFF, 0xD8, 0xFF]) { return "JPEG image" }
        if starts(Array("GIF8".utf8)) { return "GIF image" }
        if starts(Array("%PDF".utf8)) { return "PDF document" }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return "ZIP archive" }
        if starts([0x1F, 0x8B]) { return "gzip data" }
        if starts(Array("RIFF".utf8)) { return "RIFF media" }
        if head.count >= 12, head.dropFirst(4).starts(with: Array("ftyp".utf8)) { return "MP4 media" }
        if starts([0x00, 0x00, 0x01, 0x00]) { return "ICO image" }
        if starts(Array("wOFF".utf8)) || starts(Array("wOF2".utf8)) { return "web font" }
        if starts([0xFF, 0xFE]) || starts([0xFE, 0xFF]) { return nil }  // UTF-16 text with a BOM
        var control = 0
        for b in head where b < 0x09 || (b > 0x0D && b < 0x20 && b != 0x1B) { control += 1 }
        if control > 0 && control * 50 > head.count || head.contains(0) { return "binary data (control bytes)" }
        return nil
    }
}
