import Foundation
import LatheIO
import Testing
import LatheText

/// The whole of `lathe-ingest` short of argument parsing: inputs in, records and drops out.
@Suite struct IngestTests {
    struct Run {
        var records: [JSONValue]
        var rejects: [JSONValue]
        var stats: RunStats
    }

    func ingest(_ inputs: [String], format: InputFormat = .auto, settings: IngestSettings = IngestSettings(),
                jobs: Int = 2, onError: OnError = .fail) throws -> Run {
        var config = PipelineConfig(tool: "lathe-ingest", inputs: inputs)
        config.output = WarcFixture.temporaryPath("jsonl")
        config.rejectsPath = WarcFixture.temporaryPath("jsonl")
        config.quiet = true
        config.jobs = jobs
        config.onError = onError
        defer {
            try? FileManager.default.removeItem(atPath: config.output)
            try? FileManager.default.removeItem(atPath: config.rejectsPath!)
        }
        let sink = try RecordSink(config: config)
        do {
            try Ingester(settings: settings, format: format).run(inputs: inputs, config: config, sink: sink)
        } catch {
            try? sink.finish()
            throw error
        }
        try sink.finish()
        func lines(_ path: String) throws -> [JSONValue] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        }
        return Run(records: try lines(config.output), rejects: try lines(config.rejectsPath!), stats: sink.stats)
    }

    @Test func mixedWarcFixture() throws {
        let run = try ingest([WarcFixture.fixtures + "/mixed.warc"])
        #expect(run.stats.recordsIn == 5)
        #expect(run.stats.dropped == ["warc_warcinfo": 1, "binary_payload": 1, "http_status": 1])
        #expect(run.records.count == 2)
        let page = run.records[0]
        #expect(page["id"] == "urn:uuid:00000000-0000-0000-0000-000000000002")
        #expect(page["source"] == "LATHE-TEST-CRAWL")
        #expect(page["url"] == "http://example.com/chunked")
        #expect(page["title"] == "Chunked page")
        #expect(page["lang"] == "en")
        #expect(page["text"] == "The first paragraph of a page sent in chunks, long enough to count as content.\nA second paragraph, also long enough to be part of the article body.")
        #expect(run.records[1]["text"] == "Plain text from a WET file.\nSecond line, with é.")
        let reasons = run.rejects.compactMap { $0["reason"]?.string }
        #expect(reasons == ["warc_warcinfo", "binary_payload", "http_status"])
    }

    @Test func damagedRecordsAreCountedWithTheirOffset() throws {
        let first = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 1, paragraph: "A page that survives the damage after it, with enough words to count."))
        let second = try WarcFixture.gzip(WarcFixture.htmlResponse(id: 2, paragraph: String(repeating: "lost ", count: 100)))
        let nonHTML = try WarcFixture.gzip(WarcFixture.response(id: 3, headers: "Content-Type: application/pdf\r\n", body: Array("%PDF-1.4".utf8)))
        let path = try WarcFixture.write(first + nonHTML + second.prefix(40), ext: "warc.gz")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try ingest([path], jobs: 1)
        #expect(run.records.count == 1)
        #expect(run.stats.dropped["non_html"] == 1)
        #expect(run.stats.droppedTotal == 2)
        let damaged = run.rejects.first { $0["offset"] == .number(JSONNumber(first.count + nonHTML.count)) }
        #expect(damaged != nil)
    }

    @Test func htmlDirectoryWithCharsetsAndEmptyPages() throws {
        let dir = NSTemporaryDirectory() + "lathe-html-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/site.example/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(Array("<html><body><p>Grüße aus Köln</p></body></html>".utf8)).write(to: URL(fileURLWithPath: dir + "/site.example/a.html"))
        try Data([0x3C, 0x70, 0x3E, 0x63, 0x61, 0x66, 0xE9, 0x3C, 0x2F, 0x70, 0x3E]).write(to: URL(fileURLWithPath: dir + "/site.example/sub/b.htm"))
        try Data(Array("<html><body><script>only()</script></body></html>".utf8)).write(to: URL(fileURLWithPath: dir + "/site.example/sub/empty.html"))
        try Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 0]).write(to: URL(fileURLWithPath: dir + "/site.example/sub/image.html"))
        try Data(Array("ignored".utf8)).write(to: URL(fileURLWithPath: dir + "/site.example/notes.md"))
        var settings = IngestSettings()
        settings.urlFromPath = true
        let run = try ingest([dir], settings: settings)
        #expect(run.records.map { $0["text"] } == ["Grüße aus Köln", "café"])
        #expect(run.records.map { $0["url"] } == ["https://site.example/a.html", "https://site.example/sub/b.htm"])
        #expect(run.records[1]["meta"]?["charset"] == "windows-1252")
        #expect(run.stats.dropped == ["empty_text": 1, "binary_payload": 1])
        // The same inputs give the same ids.
        #expect(try ingest([dir], settings: settings).records.map { $0["id"] } == run.records.map { $0["id"] })
    }

    @Test func jsonlWithHTMLAndTextFields() throws {
        let path = try WarcFixture.write(Array("""
            {"id": 7, "html": "<p>From <b>HTML</b></p>", "url": "https://x.example/", "lang_hint": "en"}
            {"text": "Already text"}

            {"body": "neither field"}

            """.utf8), ext: "jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: RecordError.self) { try ingest([path]) }
        let run = try ingest([path], onError: .skip)
        #expect(run.records.count == 2)
        #expect(run.records[0]["id"] == "7")
        #expect(run.records[0]["text"] == "From HTML")
        #expect(run.records[0]["lang_hint"] == "en")
        #expect(run.records[1]["text"] == "Already text")
        #expect(run.stats.dropped == ["missing_field": 1])
        do {
            _ = try ingest([path])
        } catch let error as RecordError {
            #expect(error.location.line == 4)
        }
    }

    @Test func pagesOverTheLimitAreDropped() throws {
        let path = try WarcFixture.write(Array(("<p>" + String(repeating: "long ", count: 100) + "</p>").utf8), ext: "html")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var settings = IngestSettings()
        settings.maxPageBytes = 100
        let run = try ingest([path], settings: settings)
        #expect(run.stats.dropped == ["page_too_large": 1])
    }

    @Test func filtersSeeEveryDocument() throws {
        var settings = IngestSettings()
        settings.filters = [DocumentStep(name: "no-cologne") { doc in
            doc.text.contains("Köln") ? .drop(reason: "mentions_cologne") : .keep
        }]
        let path = try WarcFixture.write(Array("<p>Grüße aus Köln</p>".utf8), ext: "html")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ingest([path], settings: settings).stats.dropped == ["mentions_cologne": 1])
    }
}
