import Foundation
import LatheIO
@testable import LatheDedupe

/// A scratch directory per test, removed at the end.
final class Scratch {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "lathe-dedupe-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ text: String) -> String {
        let full = path + "/" + name
        FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        return full
    }

    func records(_ name: String, _ records: [JSONValue]) -> String {
        file(name, records.map { JSONWriter.string($0) + "\n" }.joined())
    }

    func read(_ name: String) -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path + "/" + name) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { try! JSONParser.parse(String($0)) }
    }
}

/// What a run wrote: kept records, rejects, and the report.
struct RunResult {
    var kept: [JSONValue]
    var rejects: [JSONValue]
    var report: DedupeReport

    var keptIds: [String] { kept.map { $0["id"]?.string ?? "?" } }
    var rejectedIds: [String] { rejects.map { $0["id"]?.string ?? "?" } }
    func reject(_ id: String) -> JSONValue? { rejects.first { $0["id"]?.string == id } }
}

func dedupe(_ records: [JSONValue], _ settings: DedupeSettings, onError: OnError = .fail, jobs: Int = 2) throws -> RunResult {
    let scratch = Scratch()
    let input = scratch.records("in.jsonl", records)
    var config = PipelineConfig(tool: "test", inputs: [input])
    config.output = scratch.path + "/out.jsonl"
    config.rejectsPath = scratch.path + "/rejects.jsonl"
    config.quiet = true
    config.onError = onError
    config.jobs = jobs
    let report = try Deduplicator.run(config, settings: settings)
    return RunResult(kept: scratch.read("out.jsonl"), rejects: scratch.read("rejects.jsonl"), report: report)
}

func doc(_ id: String, _ text: String, _ extra: [(String, JSONValue)] = []) -> JSONValue {
    .object(JSONObject([("id", .string(id)), ("text", .string(text))] + extra))
}

/// `n` words drawn from a vocabulary of `vocabulary` made-up words.
func randomWords(_ n: Int, _ rng: inout SplitMix64, vocabulary: Int = 5000) -> [String] {
    (0..<n).map { _ in "w\(rng.next() % UInt64(vocabulary))" }
}

func nearSettings(verify: Bool, keep: KeepPolicy = .first, bands: Int = 14, rows: Int = 8) -> DedupeSettings {
    var settings = DedupeSettings()
    var near = NearSettings()
    near.verify = verify
    near.lsh = LSHParameters(bands: bands, rows: rows)
    settings.near = near
    settings.keep = keep
    return settings
}
