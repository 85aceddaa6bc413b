import LatheIO

/// Named header fields in file order; names compare without case.
public struct HeaderFields: Sendable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public subscript(name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    mutating func append(_ name: String, _ value: String) { fields.append((name, value)) }

    mutating func continueLast(_ more: String) {
        guard !fields.isEmpty else { return }
        fields[fields.count - 1].value += " " + more
    }
}

/// One WARC record: its header, and its block unless the block was too large to keep.
public struct WarcRecord: Sendable {
    /// Where the record starts in the file: its gzip member's offset for a gzip file.
    public var offset: Int
    /// `WARC/1.0`, `WARC/1.1`, `WARC/0.18`, ...
    public var version: String
    public var headers: HeaderFields
    /// The block (Content-Length bytes); empty when `blockLength` exceeded the reader's limit.
    public var block: [UInt8]
    public var blockLength: Int
    public var blockSkipped: Bool { block.count != blockLength }

    public var type: String { headers["WARC-Type"]?.lowercased() ?? "" }
    public var recordID: String? { headers["WARC-Record-ID"] }
    public var targetURI: String? {
        // WARC 1.0 writes the URI bare; early writers wrapped it in <>.
        headers["WARC-Target-URI"].map { $0.hasPrefix("<") && $0.hasSuffix(">") ? String($0.dropFirst().dropLast()) : $0 }
    }
}

/// What the reader found next: a record, or a stretch of the file it had to skip.
public enum WarcEvent: Sendable {
    case record(WarcRecord)
    /// `reason` is the drop reason (`truncated_record`, `corrupt_gzip`, `invalid_warc_header`);
    /// `offset` the file offset of the damage.
    case damaged(offset: Int, reason: String, detail: String)
}

/// Reads WARC records one after another from a file or stdin, plain or gzip (per record, as
/// Common Crawl writes it, or the whole file at once).
///
/// A record that is cut short, whose gzip member is corrupt, or whose header makes no sense
/// is reported as `.damaged` with its offset, and reading goes on at the next record; a
/// file that does not start with a WARC record is not a WARC file and fails at once.
public final class WarcReader {
    public let name: String
    private let input: WarcByteStream
    private let maxBlockBytes: Int
    private var sawRecord = false
    private var atEnd = false

    static let maxHeaderBytes = 1 << 16

    /// `maxBlockBytes`: blocks longer than this are skipped without being held in memory
    /// (their records come back with an empty `block`).
    public convenience init(path: String, maxBlockBytes: Int = 64 << 20) throws {
        self.init(stream: try WarcByteStream(path: path), name: path, maxBlockBytes: maxBlockBytes)
    }

    init(stream: WarcByteStream, name: String, maxBlockBytes: Int) {
        input = stream
        self.name = name
        self.maxBlockBytes = maxBlockBytes
    }

    /// The next record or damaged stretch; nil at the end of the file.
    public func next() throws -> WarcEvent? {
        if atEnd { return nil }
        // Between records: CR/LF padding, or a break from a damaged gzip member.
        while true {
            if try input.fill(1) == 0 {
                if let damaged = input.passBreak() {
                    return .damaged(offset: damaged.fileOffset, reason: damaged.reason, detail: damaged.detail)
                }
                atEnd = true
                return nil
            }
            let first = input.withUnread(1) { $0[0] }
            if first == 0x0D || first == 0x0A { input.consume(1); continue }
            break
        }
        let start = input.position
        let offset = input.fileOffset(of: start)

        if !sawRecord {
            let got = try input.fill(5)
            let head = input.withUnread(min(got, 40)) { String(decoding: $0, as: UTF8.self) }
            if !head.hasPrefix("WARC/") {
                throw IOFailure("\(name): not a WARC file: expected 'WARC/1.0' or 'WARC/1.1' at byte \(offset), found '\(head.replacingOccurrences(of: "\n", with: "\\n"))'")
            }
        }
        // The header: lines up to an empty one.
        guard let headerLength = try findHeaderEnd() else {
            return try skipDamaged(at: offset, start: start, reason: input.pendingBreak.map { _ in "truncated_record" } ?? "truncated_record",
                                   detail: "record header at byte \(offset) is cut off")
        }
        let headerText = input.withUnread(headerLength.text) { String(decoding: $0, as: UTF8.self) }
        var lines = headerText.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map(String.init)
        guard let versionLine = lines.first, versionLine.hasPrefix("WARC/") else {
            if !sawRecord {
                throw IOFailure("\(name): not a WARC file: expected 'WARC/1.0' or 'WARC/1.1' at byte \(offset), found '\(String(headerText.prefix(40)).replacingOccurrences(of: "\n", with: "\\n"))'")
            }
            return try skipDamaged(at: offset, start: start, reason: "invalid_warc_header",
                                   detail: "no WARC version line at byte \(offset)")
        }
        sawRecord = true
        lines.removeFirst()
        var headers = HeaderFields()
        for line in lines {
            if line.first == " " || line.first == "\t" {
                headers.continueLast(line.trimmingSpaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(String(line[..<colon]).trimmingSpaces, String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        guard let lengthText = headers["Content-Length"], let length = Int(lengthText), length >= 0 else {
            return try skipDamaged(at: offset, start: start, reason: "invalid_warc_header",
                                   detail: "record at byte \(offset) has no valid Content-Length")
        }
        input.consume(headerLength.total)

        var record = WarcRecord(offset: offset, version: versionLine.trimmingSpaces, headers: headers, block: [], blockLength: length)
        if length > maxBlockBytes {
            var left = length
            while left > 0 {
                let got = try input.fill(min(left, 1 << 20))
                if got == 0 { return try cut(offset: offset, detail: "record at byte \(offset) declares \(length) bytes, the file ends first") }
                let step = min(got, left)
                input.consume(step)
                left -= step
            }
        } else {
            let got = try input.fill(length)
            if got < length { return try cut(offset: offset, detail: "record at byte \(offset) declares \(length) bytes, only \(got) follow") }
            record.block = input.withUnread(length) { Array($0) }
            input.consume(length)
        }
        return .record(record)
    }

    /// The record at `offset` ended early (end of file or a damaged gzip member): report it,
    /// and continue after the break if there is one.
    private func cut(offset: Int, detail: String) throws -> WarcEvent {
        if let damaged = input.passBreak() {
            return .damaged(offset: offset, reason: "truncated_record", detail: detail + " (\(damaged.detail))")
        }
        input.consume(input.available)
        atEnd = true
        return .damaged(offset: offset, reason: "truncated_record", detail: detail)
    }

    /// Skips from a bad header to the next line that starts a WARC record (or the next break).
    private func skipDamaged(at offset: Int, start: Int, reason: String, detail: String) throws -> WarcEvent {
        input.consume(1)
        while true {
            let got = try input.fill(1 << 16)
            if got == 0 {
                if let damaged = input.passBreak() { return .damaged(offset: offset, reason: reason, detail: detail + " (\(damaged.detail))") }
                atEnd = true
                return .damaged(offset: offset, reason: reason, detail: detail)
            }
            let found: Int? = input.withUnread(got) { bytes in
                var i = 0
                while i + 6 <= bytes.count {
                    if bytes[i] == 0x0A && bytes[i + 1] == 0x57 && bytes[i + 2] == 0x41 && bytes[i + 3] == 0x52
                        && bytes[i + 4] == 0x43 && bytes[i + 5] == 0x2F { return i + 1 }
                    i += 1
                }
                return nil
            }
            if let found {
                input.consume(found)
                return .damaged(offset: offset, reason: reason, detail: detail)
            }
            // Keep the last bytes: a marker may straddle two fills.
            input.consume(max(1, got - 5))
        }
    }

    /// The length of the header block (to the empty line) and with its terminator.
    private func findHeaderEnd() throws -> (text: Int, total: Int)? {
        var searched = 0
        var want = 4096
        while true {
            let got = try input.fill(want)
            let found: (Int, Int)? = input.withUnread(got) { bytes in
                var i = max(0, searched - 3)
                while i < bytes.count {
                    if bytes[i] == 0x0A {
                        if i + 1 < bytes.count && bytes[i + 1] == 0x0A { return (i, i + 2) }
                        if i + 2 < bytes.count && bytes[i + 1] == 0x0D && bytes[i + 2] == 0x0A { return (i, i + 3) }
                    }
                    i += 1
                }
                return nil
            }
            if let found { return (found.0, found.1) }
            if got < want || got >= Self.maxHeaderBytes { return got >= Self.maxHeaderBytes ? (min(got, 200), min(got, 200)) : nil }
            searched = got
            want *= 2
        }
    }
}
