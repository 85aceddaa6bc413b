import Foundation
import LatheIO
import LatheModel
import Testing

@Suite("lathe-eval reward and winrate, lathe-pair-prefs --policy, end to end")
struct RewardEvalCLITests {
    /// A tiny SFT run trained with lathe-train (checkpoints at steps 2 and 4) and two random
    /// reward models on its tokenizer, one with a zero score head (every response scores 0).
    static func setUp() throws -> String {
        let dir = NSTemporaryDirectory() + "lathe-reward-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let result = try Tool.script(Tool.tinySFTRun + #"""
            for p in "Where is the cat?" "Where is the dog?" "Is the cat on the mat?" "What is on the mat?"; do
              echo '{"id":"'"${p// /_}"'","prompt":"'"$p"'"}'
            done > prompts.jsonl
            """#, in: dir, name: "setup")
        guard result.status == 0 else { throw IOFailure("setup failed: \(result.stderr)") }
        let config = LlamaConfig(vocabSize: 300, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2,
                                 numKeyValueHeads: 2, maxPositionEmbeddings: 128)
        let tokenizer = Array(FileManager.default.contents(atPath: dir + "/tok.json")!)
        for (name, zero) in [("rm", false), ("flat-rm", true)] {
            let params = LlamaParameters(config: config, seed: 7, head: .scalar)
            if zero { params["score.weight"].update(repeating: 0) }
            try Checkpoint.writeDirectory(dir + "/" + name, files: [
                Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(config, head: .scalar, bosTokenId: nil, eosTokenId: nil)),
                Checkpoint.weightsFile(params),
                Checkpoint.File(name: "tokenizer.json", bytes: tokenizer),
            ])
        }
        return dir
    }

    @Test func rewardAndWinRateAgainstABaselineCheckpointOrItsGenerations() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Tool.script(#"""
            set -e
            cd "$1"
            lathe-eval run/checkpoint-4 --data prompts.jsonl --reward-model rm --baseline run/checkpoint-2 --generations gens.jsonl \
              --report report.html -o results.jsonl --temperature 0.8 --max-new-tokens 6 --seed 1 --quiet
            lathe validate --kind eval-result --quiet results.jsonl
            lathe-eval run/checkpoint-2 --data prompts.jsonl --generations base.jsonl --temperature 0.8 --max-new-tokens 6 --seed 1 --quiet -o /dev/null
            lathe-eval run/checkpoint-4 --data prompts.jsonl --tasks winrate --reward-model rm --baseline base.jsonl \
              -o from-file.jsonl --temperature 0.8 --max-new-tokens 6 --seed 1 --quiet
            head -n 2 base.jsonl > partial.jsonl
            if lathe-eval run/checkpoint-4 --data prompts.jsonl --tasks winrate --reward-model rm --baseline partial.jsonl --quiet 2> err.txt; then
              echo "a partial baseline should fail"; exit 1
            fi
            """#, in: dir)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let lines = try String(contentsOfFile: dir + "/results.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        let metrics = lines.map { line -> String in
            let r = try! JSONParser.parse(Array(line.utf8))
            return r["task"]!.string! + " " + r["metric"]!.string!
        }
        #expect(metrics == ["generate:prompts response_tokens", "generate:prompts stopped", "generate:prompts asks_question",
                            "reward:prompts mean", "reward:prompts p10", "reward:prompts p50", "reward:prompts p90",
                            "winrate:prompts win_rate", "winrate:prompts lc_win_rate", "winrate:prompts tie_rate"])
        let gens = try String(contentsOfFile: dir + "/gens.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(gens.count == 4 && gens.allSatisfy { $0.contains(#""reward":"#) })
        let report = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(report.components(separatedBy: "<svg").count - 1 == 10)
        // The baseline's generations file gives the same win rate as the baseline checkpoint.
        let fromFile = try String(contentsOfFile: dir + "/from-file.jsonl", encoding: .utf8)
        let winRate = lines.first { $0.contains(#""metric":"win_rate""#) }!
        let value = { (line: String) in try! JSONParser.parse(Array(line.utf8))["value"]!.double! }
        #expect(value(winRate) == value(fromFile.split(separator: "\n").map(String.init).first { $0.contains(#""metric":"win_rate""#) }!))
        let err = try String(contentsOfFile: dir + "/err.txt", encoding: .utf8)
        #expect(err.contains("partial.jsonl: no baseline response for prompt Is_the_cat_on_the_mat?"), "\(err)")
    }

    @Test func onPolicyPairsAreBestAgainstWorstWithTheirRewards() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Tool.script(#"""
            set -e
            cd "$1"
            lathe-pair-prefs --policy run/checkpoint-4 --reward-model rm --samples 4 --temperature 1.2 --max-new-tokens 6 \
              --seed 3 --style standard prompts.jsonl -o pairs.jsonl --stats stats.json --quiet
            lathe-pair-prefs --policy run/checkpoint-4 --reward-model rm --samples 4 --temperature 1.2 --max-new-tokens 6 \
              --seed 3 --style standard prompts.jsonl -o again.jsonl --quiet
            cmp pairs.jsonl again.jsonl
            lathe validate --kind preference --quiet pairs.jsonl
            lathe-pair-prefs --policy run/checkpoint-4 --reward-model flat-rm --samples 4 --temperature 1.2 --max-new-tokens 6 \
              --seed 3 prompts.jsonl -o flat.jsonl --stats flat-stats.json --quiet
            """#, in: dir)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let pairs = try String(contentsOfFile: dir + "/pairs.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try! JSONParser.parse(Array($0.utf8)) }
        let stats = try JSONParser.parse(Array(FileManager.default.contents(atPath: dir + "/stats.json")!))
        #expect(pairs.count + stats["dropped"]!.int! == 4)
        #expect(!pairs.isEmpty)
        for pair in pairs {
            #expect(pair["score_chosen"]!.double! > pair["score_rejected"]!.double!)
            #expect(pair["chosen"]!.string! != pair["rejected"]!.string!)
            #expect(pair["source"]!.string! == "on-policy")
        }
        // A reward model that scores everything 0 pairs nothing: each prompt is a counted drop.
        #expect(try String(contentsOfFile: dir + "/flat.jsonl", encoding: .utf8).isEmpty)
        let flat = try JSONParser.parse(Array(FileManager.default.contents(atPath: dir + "/flat-stats.json")!))
        #expect(flat["dropped_by_reason"]?["equal_scores"]?.int == 4, "\(flat)")
    }

    @Test func policyAndRewardModelGoTogether() throws {
        let result = try Tool.run("lathe-pair-prefs", ["--policy", "somewhere"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--policy and --reward-model go together"))
        let eval = try Tool.run("lathe-eval", ["x", "--data", "y", "--tasks", "winrate", "--reward-model", "rm"])
        #expect(eval.status == 64)
        #expect(eval.stderr.contains("winrate compares with a baseline"))
    }
}
