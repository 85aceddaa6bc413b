import Foundation
import LatheIO
import Testing
import LatheText

/// WARC files the tests write: gzip per record, damaged members, truncated records.
enum WarcFixture {
    static func record(_ type: String, id: Int, uri: String? = nil, contentType: String, block: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
        var header = "WARC/1.1\r\nWARC-Type: \(type)\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-\(String(format: "%012d", id))>\r\n"
        if let uri { header += "WARC-Target-URI: \(uri)\r\n" }
        header += "Content-Type: \(contentType)\r\nContent-Length: \(declaredLength ?? block.count)\r\n\r\n"
        return Array(header.utf8) + block + Array("\r\n\r\n".utf8)
    }

    static func response(id: Int, headers: String, body: [UInt8]) -> [UInt8] {
        record("response", id: id, uri: "http://example.com/\(id)", contentType: "application/http; msgtype=response",
               block: Array("HTTP/1.1 200 OK\r\n\(headers)\r\n".utf8) + body)
    }

    static func htmlResponse(id: Int, paragraph: String) -> [UInt8] {
        response(id: id, headers: "Content-Type: text/html\r\n", body: Array("<html><body><p>\(paragraph)</p></body></html>".utf8))
    }

    /// One gzip member holding `bytes` in stored (uncompressed) deflate blocks: exact and
    /// independent of any deflate implementation.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF]
        var i = 0
        repeat {
            let n = min(65535, bytes.count - i)
            let final: UInt8 = i + n == bytes.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += bytes[i..<(i + n)]
            i += n
        } while i < bytes.count
        let crc = crc32(bytes)
        let size = UInt32(truncatingIfNeeded: bytes.count)
        for v in [crc, size] { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
        return out
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func temporaryPath(_ ext: String) -> String {
        NSTemporaryDirectory() + "lathe-test-\(UUID().uuidString).\(ext)"
    }

    static func write(_ bytes: [UInt8], ext: String = "warc") throws -> String {
        let path = temporaryPath(ext)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func events(_ path: String) throws -> [WarcEvent] {
        let reader = try WarcReader(path: path)
        var events: [WarcEvent] = []
        while let event = try reader.next() { events.append(event) }
        return events
    }

    static var fixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/ingest").path
    }
}

extension WarcEvent {
    var recordID: String? { if case .record(let r) = self { r.recordID } else { nil } }
    var damage: (offset: Int, reason: String)? {
        if case .damaged(let offset, let reason, _) = self { (offset, reason) } else { nil }
    }
}

@Suite struct WarcReaderTests {
    @Test func gzipPerRecordGivesMemberOffsets() throws {
        let members = try (1...3).map { try WarcFixture.gzip(WarcFixture.htmlResponse(id: $0, paragraph: "page \($0)")) }
        let path = try WarcFixture.write(members.flatMap { $0 })
        defer { try? FileManager.default.removeItem(atPath: path) }
        let events = try WarcFixture.events(path)
        #expect(events.count == 3)
        var offsets: [Int] = []
        for event in events { if case .record(let r) = event { offsets.append(r.offset) } }
        #expect(offsets == [0, members[0].count, members[0].count + members[1].count])
        #expect(events.last?.recordID == "<urn:uuid:00000000-0000-0000-0000-000000000003>")
    }

    @Test func corruptMemberIsSkippedAndTheRestRead() throws {
        let first = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 1, paragraph: "first"))
        var second = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 2, paragraph: String(repeating: "second ", count: 50)))
        for i in 20..<(second.count - 10) { second[i] ^= 0x5A }
        let third = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 3, paragraph: "third"))
        let path = try WarcFixture.write(first + second + third)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let events = try WarcFixture.events(path)
        #expect(events.count == 3)
        #expect(events[0].recordID?.hasSuffix("001>") == true)
        #expect(events[1].damage?.offset == first.count)
        #expect(events[1].damage?.reason == "truncated_record" || events[1].damage?.reason == "corrupt_gzip")
        #expect(events[2].recordID?.hasSuffix("003>") == true)
    }

    @Test func truncatedGzipRecordAtTheEnd() throws {
        let first = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 1, paragraph: "first"))
        let second = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 2, paragraph: String(repeating: "cut ", count: 200)))
        let path = try WarcFixture.write(first + second.prefix(second.count / 2))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let events = try WarcFixture.events(path)
        #expect(events.count == 2)
        #expect(events[0].recordID != nil)
        #expect(events[1].damage?.offset == first.count)
        #expect(events[1].damage?.reason == "truncated_record")
    }

    @Test func truncatedPlainRecordAndGarbageBetweenRecords() throws {
        let first = WarcFixture.htmlResponse(id: 1, paragraph: "first")
        let liar = WarcFixture.record("resource", id: 2, contentType: "text/html", block: Array("<p>short</p>".utf8), declaredLength: 20)
        let third = WarcFixture.htmlResponse(id: 3, paragraph: "third")
        // The second record claims 20 bytes; reading them runs into the garbage line.
        let path = try WarcFixture.write(first + liar + Array("garbage line\r\n".utf8) + third)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let events = try WarcFixture.events(path)
        #expect(events.first?.recordID?.hasSuffix("001>") == true)
        #expect(events.contains { $0.damage?.reason == "invalid_warc_header" })
        #expect(events.last?.recordID?.hasSuffix("003>") == true)

        let cut = try WarcFixture.write(first + WarcFixture.htmlResponse(id: 4, paragraph: "cut").prefix(60))
        defer { try? FileManager.default.removeItem(atPath: cut) }
        let cutEvents = try WarcFixture.events(cut)
        #expect(cutEvents.count == 2)
        #expect(cutEvents[1].damage?.offset == first.count)
    }

    @Test func aFileThatIsNotWARCFails() throws {
        let path = try WarcFixture.write(Array("<html><body>not a warc</body></html>".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: IOFailure.self) { try WarcFixture.events(path) }
    }

    @Test func oversizedBlocksAreSkippedNotHeld() throws {
        let big = WarcFixture.htmlResponse(id: 1, paragraph: String(repeating: "x", count: 5000))
        let path = try WarcFixture.write(big + WarcFixture.htmlResponse(id: 2, paragraph: "small"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try WarcReader(path: path, maxBlockBytes: 1000)
        guard case .record(let first)? = try reader.next() else { Issue.record("no record"); return }
        #expect(first.blockSkipped)
        guard case .record(let second)? = try reader.next() else { Issue.record("no second record"); return }
        #expect(!second.blockSkipped)
    }
}

@Suite struct HTTPPayloadTests {
    @Test func chunkedAndGzipBodiesAreDecoded() throws {
        let html = Array("<html><body><p>Compressed and chunked, the body still reads as one page of text.</p></body></html>".utf8)
        let compressed = try WarcFixture.gzip(html)
        var chunked: [UInt8] = []
        var i = 0
        while i < compressed.count {
            let piece = compressed[i..<min(i + 17, compressed.count)]
            chunked += Array(String(piece.count, radix: 16).utf8) + [0x0D, 0x0A] + piece + [0x0D, 0x0A]
            i += 17
        }
        chunked += Array("0\r\n\r\n".utf8)
        let block = Array("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".utf8) + chunked
        let response = try HTTPPayload.parseResponse(block)
        #expect(response.status == 200)
        #expect(response.mediaType == "text/html")
        #expect(response.charset == "utf-8")
        #expect(response.body == html)
    }

    @Test func bodyThatOnlyClaimsToBeChunkedIsKept() throws {
        let block = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n<p>not chunked</p>".utf8)
        #expect(try HTTPPayload.parseResponse(block).body == Array("<p>not chunked</p>".utf8))
    }

    @Test func unknownEncodingAndBadStatusLine() {
        #expect(throws: PayloadError.self) { try HTTPPayload.parseResponse(Array("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\nxx".utf8)) }
        #expect(throws: PayloadError.self) { try HTTPPayload.parseResponse(Array("garbage\r\n\r\n".utf8)) }
    }
}

