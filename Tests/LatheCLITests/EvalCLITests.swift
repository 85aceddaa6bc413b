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

    /// Three checkpoints of a tiny run evaluated one at a time and three at once give the same
    /// bytes; bf16 weights are recorded in the settings and move the loss by less than 1e-2.
    @Test func jobsGiveTheSameResultsInTheSameOrderAndBF16StaysClose() throws {
        let dir = NSTemporaryDirectory() + "lathe-eval-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Tool.script(Tool.tinySFTRun.replacingOccurrences(of: "--steps 4", with: "--steps 6") + #"""
            echo '{"id":"q1","question":"Where is the cat?","choices":["on the mat","in the sea"],"answer":0}' > mc.jsonl
            echo '{"id":"q2","question":"Where is the dog?","choices":["in the barn","on the moon"],"answer":0}' >> mc.jsonl
            echo '{"id":"d1","text":"The cat is on the mat. The dog is in the barn."}' > docs.jsonl
            echo '{"id":"g1","prompt":"Where is the cat?"}' > prompts.jsonl
            common="run --data chats.jsonl --data mc.jsonl --data docs.jsonl --data prompts.jsonl --max-new-tokens 4 --seed 3 --batch-size 3"
            lathe-eval $common --jobs 1 --generations g1.jsonl -o one.jsonl 2> one.err
            lathe-eval $common --jobs 3 --generations g3.jsonl -o three.jsonl 2> three.err
            lathe-eval $common --jobs 2 --dtype bf16 --generations gb.jsonl -o bf16.jsonl 2> bf16.err
            """#, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        func read(_ name: String) throws -> String { try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }
        let one = try read("one.jsonl"), three = try read("three.jsonl")
        #expect(one.split(separator: "\n").count == 3 * 8)
        #expect(one == three)
        #expect(try read("g1.jsonl") == read("g3.jsonl"))
        #expect(try read("three.err").contains("--jobs 3: 3 checkpoints at once"))
        #expect(try read("one.err").contains("--jobs 1: 1 checkpoint at once"))
        #expect(one.contains("dtype=fp32") && !one.contains("dtype=bf16"))
        func values(_ text: String) throws -> [(String, Double)] {
            try text.split(separator: "\n").map {
                let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
                return ("\(object["checkpoint"]!) \(object["task"]!) \(object["metric"]!)", object["value"] as! Double)
            }
        }
        let bf16 = try read("bf16.jsonl")
        #expect(bf16.contains("dtype=bf16") && !bf16.contains("dtype=fp32"))
        for ((name, a), (other, b)) in zip(try values(one), try values(bf16)) where name.contains("loss") || name.contains("perplexity") {
            #expect(name == other)
            #expect(abs(a - b) < 1e-2 * max(1, abs(a)), "\(name): fp32 \(a), bf16 \(b)")
        }
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
                       "--batch-size", "--dtype", "--jobs", "--temperature", "--top-k", "--top-p", "--max-new-tokens", "--on-error", "--seed"] {
            #expect(result.stdout.contains(option))
        }
    }
}
