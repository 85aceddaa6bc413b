import Foundation
import Testing
import LatheIO
@testable import LatheDedupe

@Suite struct ShardedTests {
    /// Three shards with copies within and across them: signatures → clusters → filter keeps
    /// and drops exactly what one pass over the shards in order does, with the same reasons
    /// and duplicate_of, for each keep policy, with and without --verify.
    @Test(arguments: [(false, KeepPolicy.first), (true, .first), (true, .longest), (true, .field("score")), (false, .longest)])
    func shardedStepsEqualOnePass(verify: Bool, keep: KeepPolicy) throws {
        let scratch = Scratch()
        var rng = SplitMix64(seed: 21)
        var texts: [String] = []
        var shards: [[JSONValue]] = [[], [], []]
        for i in 0..<600 {
            var text: String
            if texts.count > 5 && rng.next() % 3 == 0, !texts.last!.isEmpty {
                var words = texts[texts.count - 1 - Int(rng.next() % 5)].split(separator: " ").map(String.init)
                for _ in 0..<(words.isEmpty ? 0 : Int(rng.next() % 4)) { words[Int(rng.next() % UInt64(words.count))] = "edit\(rng.next() % 100)" }
                if rng.next() % 2 == 0 { words.append("tail") }
                text = words.joined(separator: " ")
            } else {
                text = randomWords(40 + Int(rng.next() % 40), &rng).joined(separator: " ")
            }
            if i % 50 == 0 { text = "" }
            texts.append(text)
            shards[Int(rng.next() % 3)].append(doc("r\(i)", text, [("score", .number(JSONNumber(Int(rng.next() % 10))))]))
        }
        let paths = shards.enumerated().map { scratch.records("shard\($0.offset).jsonl", $0.element) }
        var settings = nearSettings(verify: verify, keep: keep)
        settings.near!.threshold = 0.7

        var config = PipelineConfig(tool: "test", inputs: paths)
        config.output = scratch.path + "/one.jsonl"
        config.rejectsPath = scratch.path + "/one-rejects.jsonl"
        config.quiet = true
        _ = try Deduplicator.run(config, settings: settings)

        var signatureFiles: [String] = []
        for (n, path) in paths.enumerated() {
            var step = PipelineConfig(tool: "test", inputs: [path])
            step.output = scratch.path + "/shard\(n).sig.jsonl"
            step.quiet = true
            try Signature.write(step, settings: settings, shard: "shard\(n)")
            signatureFiles.append(step.output)
        }
        var base = PipelineConfig(tool: "test", inputs: [])
        base.quiet = true
        _ = try Signature.clusters(signatureFiles: signatureFiles, table: scratch.path + "/table.jsonl", settings: settings, base: base)
        for (n, path) in paths.enumerated() {
            var step = PipelineConfig(tool: "test", inputs: [path])
            step.output = scratch.path + "/out\(n).jsonl"
            step.rejectsPath = scratch.path + "/rejects\(n).jsonl"
            step.quiet = true
            try Signature.filter(step, table: scratch.path + "/table.jsonl", shard: "shard\(n)")
        }
        let one = scratch.read("one.jsonl")
        let sharded = (0..<3).flatMap { scratch.read("out\($0).jsonl") }
        #expect(one == sharded)
        func summary(_ rejects: [JSONValue]) -> [String] {
            rejects.map { "\($0["id"]!.string!) \($0["reason"]!.string!) \($0["reason_detail"]?["duplicate_of"]?.string ?? "")" }
        }
        let oneRejects = summary(scratch.read("one-rejects.jsonl"))
        #expect(oneRejects.count > 50)
        #expect(oneRejects == summary((0..<3).flatMap { scratch.read("rejects\($0).jsonl") }))
    }
}
