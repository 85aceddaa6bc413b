import Foundation
import Testing
import LatheIO
@testable import LatheDedupe

/// Lines of every shape the byte-level path (`Analyzer.analyze(line:)`) meets: escapes,
/// non-ASCII text, keys in any order, nested paths, conversations, ids of every type, missing
/// and null keys, and lines the scanner must leave to the parser (invalid JSON, duplicate,
/// escaped or non-ASCII keys, many keys, deep nesting).
private let lines: [String] = [
    #"{"id": "a", "text": "Hello   World, this is it."}"#,
    #"{"id":"b","text":"hello world,\tTHIS is it.\n"}"#,
    #"  {"text": "Caf\u00e9 NOIR", "id": "c"}  "#,
    #"{"id": "d", "text": "café noir"}"#,
    #"{"id": "e", "text": "Cafe\u0301 noir"}"#,
    #"{"id": "f", "text": "STRASSE und straße"}"#,
    #"{"id": "g", "text": "strasse UND STRASSE"}"#,
    #"{"id": "h", "text": "emoji \ud83d\ude00 here \"quoted\" \\ \/"}"#,
    #"{"id": "i", "text": "EMOJI 😀 here \"quoted\" \\ /"}"#,
    #"{"id": 7, "text": "number id"}"#,
    #"{"id": {"x": [1, 2.5e3]}, "text": "object id"}"#,
    #"{"id": "j\"q", "text": "escaped id"}"#,
    #"{"id": null, "text": "null id"}"#,
    #"{"text": "no id at all", "score": -2}"#,
    #"{"id": "k", "text": null}"#,
    #"{"id": "l", "body": "no text"}"#,
    #"{"id": "m", "text": 12.50}"#,
    #"{"id": "n", "text": true, "score": 1e2}"#,
    #"{"id": "o", "text": ["para one", "Para  One", null, false], "x": 1}"#,
    #"{"id": "p", "text": {"b": "two", "a": "one"}}"#,
    #"{"id": "p2", "text": {"role": "r", "content": {"content": "deep"}}}"#,
    #"{"id": "q", "text": "x", "text": "y"}"#,
    #"{"id": "r", "te\u0078t": "escaped key"}"#,
    #"{"id": "s", "tëxt": "non-ASCII key", "text": "hello world, this is it."}"#,
    #"{"id": "t", "text": "bad \x"}"#,
    #"{"id": "u", "text": "unterminated}"#,
    #"not json"#,
    #"{"id": "v", "text": "trailing"} x"#,
    #"{"id": "v2", "text": "lone \ud800 surrogate"}"#,
    #"{"id": "v3", "text": "leading zero", "n": 012}"#,
    #"{"id": "w", "text": "   "}"#,
    #"{"id": "x", "text": ""}"#,
    #"{"id": "x2", "text": "", "score": 9}"#,
    "{\"id\": \"y\", \"text\": \"many keys\"" + (1...20).map { ", \"k\($0)\": \($0)" }.joined() + "}",
    "{\"id\": \"z\", \"text\": \"deep\", \"d\": " + String(repeating: "[", count: 80) + String(repeating: "]", count: 80) + "}",
    "{\"id\": \"z2\", \"text\": \"Hello World, this is it.\", \"d\": " + String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70) + "}",
    #"{"id":"c1","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}],"score":2}"#,
    #"{"id":"c2","messages":[{"content":"hi","role":"user"},{"role":"assistant","content":"hello!"}],"score":4}"#,
    #"{"id":"c3","messages":[{"role":"user","content":"Hi"},{"role":7,"content":["a","b"]}]}"#,
    #"{"id":"c4","messages":[{"role":"user","content":null},{"text":"no content","n":3}]}"#,
    #"{"id":"c5","messages":[{"role":"us\u0065r","content":"Hi"},{"role":"assistant","content":"Hello!"}]}"#,
    #"{"id":"c6","messages":"plain string", "text": "c6"}"#,
    #"{"id":"c7","messages":[], "text": ""}"#,
    #"{"id":"m1","meta":{"body":"Body Text","id":"M-1"},"title":"T","score":3, "text": "m"}"#,
    #"{"id":"m2","meta":{"body":"body  text"},"title":"t","score":5.5, "text": "M"}"#,
    #"{"id":"m3","meta":{"body":"body text","body2":1},"title":"t","score":"high", "text": "m3"}"#,
    #"{"id":"m4","meta":[{"body":"x"}],"title":"t", "text": "m4"}"#,
    #"{"id":"m5","meta":{"body":"Ünïcödé ΣΊΣΥΦΟΣ","id":7},"title":"ﬁne", "text": "ünïcödé σίσυφος"}"#,
    #"{"id":"m6","meta":{"body":"unicode σίσυφος"},"title":"fine", "text": "Ünïcödé ΣΊΣΥΦΟΣ"}"#,
    #"{"id": "e1", "text": "\u0048ello\u0020\u0020 \f World,\b x \/ \\n"}"#,
    #"{"id": "e2", "text": "  hello World,\b X / \\N  "}"#,
    "{\"id\": \"e3\", \"text\": \"" + (0..<20).map { "Para\\nGraph \($0) with  words" }.joined(separator: "\\n\\n") + "\"}",
    "{\"id\": \"e4\", \"text\": \"" + (0..<20).map { "para graph \($0) WITH words" }.joined(separator: " ") + "\"}",
]

/// The same lines as bytes, with lines no Swift string can hold (invalid UTF-8, a raw
/// control character) added.
private func corpus() -> Data {
    var data = Data(lines.joined(separator: "\n").utf8)
    data.append(contentsOf: Array("\n{\"id\": \"bad-utf8\", \"text\": \"caf".utf8) + [0xC3, 0x28] + Array("\"}\n".utf8))
    data.append(contentsOf: Array("{\"id\": \"ctl\", \"text\": \"a".utf8) + [0x01] + Array("b\"}\n".utf8))
    data.append(Data("{\"id\": \"last\", \"text\": \"HELLO WORLD, this is it.\"}\n".utf8))
    return data
}

/// Settings that together reach every key shape, normalisation, id and rank.
private func variants() -> [(String, DedupeSettings)] {
    var out: [(String, DedupeSettings)] = [("default", DedupeSettings())]
    for mode in [Normalization.ws, .none] {
        var s = DedupeSettings()
        s.normalization = mode
        out.append(("normalize \(mode)", s))
    }
    for keys in [["messages"], ["meta.body", "title"], ["messages.1.content"], ["text", "score"]] {
        var s = DedupeSettings()
        s.keys = KeyFields(keys)
        out.append(("keys \(keys)", s))
    }
    var s = nearSettings(verify: true, keep: .longest)
    out.append(("near verify longest", s))
    s = nearSettings(verify: false, keep: .field("score"))
    out.append(("near field:score", s))
    s = DedupeSettings()
    s.idField = "meta.id"
    s.keep = .field("meta.id")
    out.append(("id meta.id", s))
    return out
}

private struct Written: Equatable {
    var output: Data
    var rejects: Data
    var dropped: [String: Int]
    var recordsOut: Int
}

/// One run over the corpus in `scratch` (the same input path for every run, as the rejects
/// name it), writing `name`.jsonl and `name`-rejects.jsonl.
private func run(_ settings: DedupeSettings, in scratch: Scratch, parseEveryLine: Bool, discard: Bool = false,
                 jobs: Int, name: String) throws -> Written {
    let input = scratch.path + "/in.jsonl"
    if !FileManager.default.fileExists(atPath: input) { FileManager.default.createFile(atPath: input, contents: corpus()) }
    var config = PipelineConfig(tool: "test", inputs: [input])
    config.output = discard ? "/dev/null" : scratch.path + "/\(name).jsonl"
    config.rejectsPath = scratch.path + "/\(name)-rejects.jsonl"
    config.quiet = true
    config.onError = .skip
    config.jobs = jobs
    let deduplicator = Deduplicator(settings: settings)
    if parseEveryLine { deduplicator.analyzer.linePaths = nil }
    let report = try deduplicator.run(config)
    let read = { (file: String) in FileManager.default.contents(atPath: scratch.path + "/" + file) ?? Data() }
    return Written(output: read("\(name).jsonl"), rejects: read("\(name)-rejects.jsonl"), dropped: report.stats.dropped,
                   recordsOut: report.stats.recordsOut)
}

/// Everything an analysis holds, as text to compare.
private func summary(_ a: Analysis) -> String {
    let exclusion = a.exclusion.map { "\($0)" } ?? "-"
    return "id=\(a.id) exact=\(a.exact?.hex ?? "-") bands=\(a.bands ?? []) set=\(a.shingleSet ?? []) rank=\(a.rank) excl=\(exclusion) failed=\(a.failure != nil)"
}

@Suite struct LineFastPathTests {
    /// Each line the byte path takes gets the analysis the parsed record gets, for every pass's
    /// wants; the lines it must leave to the parser it leaves.
    @Test func byteAnalysisEqualsParsedAnalysis() throws {
        let all: [Wants] = [[.id, .exact], [.id, .exact, .rank, .bands], [.shingleSet], []]
        var taken = 0
        var left: Set<String> = []
        let scratch = Scratch()
        let input = scratch.path + "/in.jsonl"
        FileManager.default.createFile(atPath: input, contents: corpus())
        for (name, settings) in variants() {
            let analyzer = Analyzer(settings: settings)
            let batcher = LineBatcher(source: try ByteSource(path: input))
            while let batch = try batcher.next() {
                for i in 0..<batch.count {
                    let location = batch.location(i)
                    for wants in all {
                        guard let fast = batch.withLine(i, { analyzer.analyze(line: $0, maxDepth: 512, location, wants) }) else {
                            if name == "default" && wants == [.id, .exact] { left.insert(batch.text(i)) }
                            continue
                        }
                        taken += 1
                        let record = try batch.parseLine(i)
                        let full = analyzer.analyze(record, location, wants)
                        #expect(summary(fast) == summary(full), "\(name), line \(location.line), wants \(wants.rawValue)")
                        #expect(full.failure == nil, "\(name), line \(location.line): the byte path took a line the parser fails")
                    }
                }
            }
        }
        #expect(taken > 600)
        // Exactly the lines that are invalid (9), ambiguous (escaped or non-ASCII key, many
        // keys, deep nesting: 5) or miss the key (7: their error comes from the parsed record).
        #expect(left.count == 21, "\(left.sorted())")
    }

    /// Whole runs (kept lines, rejects with their reasons and duplicate_of, counts) are the
    /// same byte for byte whether lines go the byte path or are all parsed.
    @Test(arguments: [1, 2])
    func runsEqualTheParsingPath(jobs: Int) throws {
        let scratch = Scratch()
        for (name, settings) in variants() {
            let fast = try run(settings, in: scratch, parseEveryLine: false, jobs: jobs, name: "fast")
            let full = try run(settings, in: scratch, parseEveryLine: true, jobs: jobs, name: "full")
            #expect(fast == full, "\(name)")
            #expect(fast.rejects.count > 0 && fast.output.count > 0, "\(name)")
            // Output to /dev/null counts the same records.
            let discarded = try run(settings, in: scratch, parseEveryLine: false, discard: true, jobs: jobs, name: "discard")
            #expect(discarded.dropped == full.dropped && discarded.recordsOut == full.recordsOut, "\(name)")
            #expect(discarded.rejects == full.rejects, "\(name)")
        }
    }

    @Test func duplicatesFoundThroughEscapesAndUnicodeName() throws {
        let result = try run(DedupeSettings(), in: Scratch(), parseEveryLine: false, jobs: 2, name: "out")
        let rejects = String(decoding: result.rejects, as: UTF8.self).split(separator: "\n").map { try! JSONParser.parse(String($0)) }
        func original(_ id: String) -> String? {
            rejects.first { $0["id"]?.string == id }?["reason_detail"]?["duplicate_of"]?.string
        }
        #expect(original("b") == "a")
        #expect(original("d") == "c")
        #expect(original("e") == "c")
        #expect(original("g") == "f")
        #expect(original("i") == "h")
        #expect(original("last") == "a")
        #expect(original("e2") == "e1")
        #expect(original("e4") == "e3")
        #expect(rejects.first { $0["id"]?.string == "l" }?["reason"]?.string == "missing_field")
        #expect(rejects.first { $0["id"]?.string == "q" } == nil)
        #expect(result.dropped["invalid_json"] == 9)
    }
}
