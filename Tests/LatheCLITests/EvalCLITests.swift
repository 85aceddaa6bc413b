import Foundation
import Testing

@Suite("lathe-eval end to end")
struct EvalCLITests {
    /// Trains a tiny SFT run with lathe-train (checkpoints at steps 2 and 4), then evaluates it
    /// with a broken checkpoint beside it, as a user would.
    @Test func evaluatesARunDirectoryWritesValidResultsAReportAndRecordsFailures() throws {
        let dir = NSTemporaryDirectory() + "lathe-eval-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Tool.script(Tool.tinySFTRun + #"""
            echo '{"id":"q1","question":"Where is the cat?","choices":["on the mat","in the sea"],"answer":0}' > mc.jsonl
            echo '{"id":"q2","question":"Where is the dog?","choices":["in the barn","on the moon"],"answer":0}' >> mc.jsonl
            echo '{"id":"d1","text":"The cat is on the mat. The dog is in the barn."}' > docs.jsonl
            echo '{"id":"g1","prompt":"Where is the cat?"}' > prompts.jsonl
            cp -r run/checkpoint-2 broken && rm broken/tokenizer.json
            lathe-eval run broken --data chats.jsonl --data mc.jsonl --data docs.jsonl --data prompts.jsonl \
              --generations gens.jsonl --report report.html -o results.jsonl --on-error skip --temperature 0 --max-new-tokens 4
            lathe validate --kind eval-result --quiet results.jsonl
            """#, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = (try String(contentsOfFile: dir + "/results.jsonl", encoding: .utf8)).split(separator: "\n")
        // 2 checkpoints x (loss 1 + acc, acc_norm 2 + perplexity, bits_per_byte 2
        // + response_tokens, stopped, asks_question 3) + 1 failure
        #expect(lines.count == 2 * 8 + 1)
        #expect(lines.first!.hasPrefix(#"{"checkpoint":"run/checkpoint-2","step":2,"task":"loss:chats","metric":"loss""#))
        #expect(lines.last!.contains(#""metric":"failed""#) && lines.last!.contains("broken: tokenizer.json is missing"))
        #expect(result.stderr.contains("FAILED: broken: tokenizer.json is missing"))
        let generations = (try String(contentsOfFile: dir + "/gens.jsonl", encoding: .utf8)).split(separator: "\n")
        #expect(generations.count == 2)
        let report = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(report.components(separatedBy: "<svg").count - 1 == 8)
    }

    @Test func withoutSkipAMissingCheckpointStopsTheRunNamingIt() throws {
        let dir = NSTemporaryDirectory() + "lathe-eval-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/docs.jsonl", contents: Data(#"{"text":"a"}"#.utf8 + [10]))
        let result = try Tool.run("lathe-eval", [dir + "/nowhere", "--data", dir + "/docs.jsonl"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(dir + "/nowhere: no such checkpoint directory"))
    }

    @Test func helpStatesEveryOption() throws {
        let result = try Tool.run("lathe-eval", ["--help"])
        #expect(result.status == 0)
        for option in ["--data", "--tasks", "--report", "--generations", "--ref", "--num-fewshot", "--fewshot-from", "--chat-template", "--seq-len",
                       "--batch-size", "--temperature", "--top-k", "--top-p", "--max-new-tokens", "--on-error", "--seed"] {
            #expect(result.stdout.contains(option))
        }
    }
}
