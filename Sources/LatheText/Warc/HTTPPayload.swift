import CZlib

/// An HTTP response as a WARC `response` record holds it: status, headers, and the body with
/// its transfer and content encodings undone.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HeaderFields
    public var body: [UInt8]

    /// The media type, lower-cased, without parameters (`text/html`).
    public var mediaType: String? {
        headers["Content-Type"].map { $0.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? "" }
    }

    public var charset: String? { headers["Content-Type"].flatMap { Charset.parameter($0) } }
}

/// Why a payload could not be read; the reason is a drop reason.
public struct PayloadError: Error, Sendable {
    public var reason: String
    public var detail: String
}

public enum HTTPPayload {
    /// Parses an HTTP response message. Chunked bodies are de-chunked (a body that only claims
    /// to be chunked is taken as it is, as browsers do); gzip and deflate bodies are inflated,
    /// up to `maxBodyBytes`.
    public static func parseResponse(_ block: [UInt8], maxBodyBytes: Int = 64 << 20) throws(PayloadError) -> HTTPResponse {
        guard let (headerEnd, bodyStart) = headerBoundary(block) else {
            throw PayloadError(reason: "invalid_http", detail: "no end of HTTP headers in the response record")
        }
        let headerText = String(decoding: block[0..<headerEnd], as: UTF8.self)
        var lines = headerText.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/") else {
            throw PayloadError(reason: "invalid_http", detail: "response record does not start with an HTTP status line")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw PayloadError(reason: "invalid_http", detail: "bad HTTP status line '\(statusLine.prefix(60))'")
        }
        lines.removeFirst()
        var headers = HeaderFields()
        for line in lines {
            if line.first == " " || line.first == "\t" { headers.continueLast(line.trimmingSpaces); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(String(line[..<colon]).trimmingSpaces, String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        var body = Array(block[bodyStart...])
        if headers["Transfer-Encoding"]?.lowercased().contains("chunked") == true, let dechunked = dechunk(body) {
            body = dechunked
        }
        if let encoding = headers["Content-Encoding"]?.lowercased().trimmingSpaces, !encoding.isEmpty, encoding != "identity" {
            switch encoding {
            case "gzip", "x-gzip", "deflate":
                // Crawlers sometimes store the body already decoded but keep the header.
                if encoding != "deflate" && !(body.count >= 2 && body[0] == 0x1F && body[1] == 0x8B) { break }
                guard let inflated = inflate(body, gzip: encoding != "deflate", limit: maxBodyBytes) else {
                    throw PayloadError(reason: "bad_content_encoding", detail: "the \(encoding) body does not decompress")
                }
                body = inflated
            default:
                throw PayloadError(reason: "unsupported_content_encoding", detail: "Content-Encoding '\(encoding)'")
            }
        }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    static func headerBoundary(_ block: [UInt8]) -> (Int, Int)? {
        var i = 0
        while i < block.count {
            if block[i] == 0x0A {
                if i + 1 < block.count && block[i + 1] == 0x0A { return (i, i + 2) }
                if i + 2 < block.count && block[i + 1] == 0x0D && block[i + 2] == 0x0A { return (i, i + 3) }
            }
            i += 1
        }
        // Headers with no body at all.
        if block.count >= 2 && block[block.count - 1] == 0x0A { return (block.count, block.count) }
        return nil
    }

    /// The body of a chunked message, or nil when it is not validly chunked.
    static func dechunk(_ body: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        while true {
            // Chunk size in hex, optional extensions, CRLF.
            var size = 0
            var digits = 0
            while i < body.count, let d = hexValue(body[i]) {
                size = size * 16 + d
                digits += 1
                i += 1
                if digits > 12 { return nil }
            }
            guard digits > 0 else { return nil }
            while i < body.count && body[i] != 0x0A { i += 1 }
            guard i < body.count else { return nil }
            i += 1
            if size == 0 { return out }
            guard i + size <= body.count else {
                // A last chunk cut short: keep what there is (the record was truncated by the crawler).
                out.append(contentsOf: body[i...])
                return out
            }
            out.append(contentsOf: body[i..<(i + size)])
            i += size
            if i < body.count && body[i] == 0x0D { i += 1 }
            if i < body.count && body[i] == 0x0A { i += 1 }
            if i >= body.count { return out }
        }
    }

    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: Int(b - 0x30)
        case 0x41...0x46: Int(b - 0x41 + 10)
        case 0x61...0x66: Int(b - 0x61 + 10)
        default: nil
        }
    }

    /// Inflates gzip (`gzip: true`) or deflate (zlib-wrapped, or raw as some servers send it).
    /// A stream cut short keeps what was inflated; nil when nothing sensible came out.
    public static func inflate(_ data: [UInt8], gzip: Bool, limit: Int) -> [UInt8]? {
        if let out = inflate(data, windowBits: gzip ? 15 + 16 : 15, limit: limit) { return out }
        return gzip ? nil : inflate(data, windowBits: -15, limit: limit)
    }

    private static func inflate(_ data: [UInt8], windowBits: Int32, limit: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = data
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    out.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.avail_out))])
                }
            } while status == Z_OK && stream.avail_in > 0 && out.count <= limit
            // A stream that ended mid-way (avail_in 0, Z_OK or Z_BUF_ERROR) keeps its output.
            if status == Z_OK || status == Z_BUF_ERROR {
                repeat {
                    chunk.withUnsafeMutableBufferPointer { outBuf in
                        stream.next_out = outBuf.baseAddress
                        stream.avail_out = UInt32(outBuf.count)
                        status = CZlib.inflate(&stream, Z_SYNC_FLUSH)
                        out.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.avail_out))])
                    }
                } while status == Z_OK && stream.avail_out == 0 && out.count <= limit
            }
        }
        if status == Z_STREAM_END || ((status == Z_OK || status == Z_BUF_ERROR) && !out.isEmpty) { return out }
        return nil
    }
}
