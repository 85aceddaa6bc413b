import Foundation
import LatheIO
import LatheModel
import LatheTokenizer
import Testing

/// vocab 300, d 64, 2 layers, as the other lathe-train tests use.
private let microConfig = #"{"vocab_size": 300, "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}"#

private let questions = ["What is two plus two?", "Name a colour.", "Where is Paris?", "Say hello.", "Count to three.", "What is ice?"]
private let answers = ["Four.", "Blue.", "In France.", "Hello.", "One two three.", "Frozen water."]

/// An SFT policy (a few steps on the questions' answers) and a reward model sharing its trunk and tokenizer.
private final class RLScratch {
    let scratch = Scratch()
    var path: String { scratch.path }
    var policy: String { path + "/sft/checkpoint-3" }
    var rewardModel: String { path + "/rm" }

    init() throws {
        scratch.file("config.json", microConfig)
        scratch.file("chats.jsonl", zip(questions, answers).map { #"{"prompt":"\#($0)","completion":"\#($1)"}"# }.joined(separator: "\n") + "\n")
        scratch.file("prompts.jsonl", questions.enumerated().map { #"{"id":"q\#($0.offset)","prompt":"\#($0.element)"}"# }.joined(separator: "\n") + "\n")
        let tok = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", path + "/tok.json", path + "/chats.jsonl"])
        precondition(tok.status == 0, tok.stderr)
        let sft = try Tool.run("lathe-train", ["--objective", "sft", "--tokenizer", path + "/tok.json", "--config", path + "/config.json",
                                               "--seq-len", "48", "--batch-size", "3", "--steps", "3", "--out", path + "/sft", path + "/chats.jsonl"])
        precondition(sft.status == 0, sft.stderr)
        try Self.writeRewardModel(from: policy, tokenizer: policy + "/tokenizer.json", to: rewardModel)
    }

    /// A reward checkpoint (LlamaForSequenceClassification, one label): the trunk of `source` with a seeded score head.
    static func writeRewardModel(from source: String, tokenizer: String, to directory: String) throws {
        let params = try Checkpoint.loadParameters(from: source, head: .scalar, seed: 1)
        let tokenizerBytes = try Tokenizer(contentsOf: tokenizer).jsonBytes()
        try Checkpoint.writeDirectory(directory, files: [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(params.config, head: .scalar, bosTokenId: nil,
                                                                                           eosTokenId: nil, padTokenId: 0)),
            Checkpoint.weightsFile(params), Checkpoint.File(name: "tokenizer.json", bytes: tokenizerBytes),
        ])
    }

    func train(_ arguments: [String]) throws -> Tool.Result {
        try Tool.run("lathe-train", ["--seq-len", "48", "--batch-size", "2", "--max-new-tokens", "8", "--lr", "1e-3", "--seed", "3",
                                     path + "/prompts.jsonl"] + arguments)
    }

    func log(_ name: String) throws -> [JSONValue] {
        try scratch.read(name).split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }
}

@Suite("lathe-train --objective grpo|ppo", .serialized) struct RLCLITests {
    // Ctrl-C in the middle of a run: a checkpoint of the last finished step, exit 130, and --resume goes on from it.
    @Test(arguments: ["grpo", "ppo"]) func sigintWritesACheckpointThatResumes(objective: String) throws {
        let s = try RLScratch()
        let common = ["--objective", objective, "--reward-model", s.rewardModel, "--seq-len", "48", "--batch-size", "2",
                      "--max-new-tokens", "8", "--seed", "3", "--out", s.path + "/run"]
            + (objective == "grpo" ? ["--num-generations", "2"] : [])
        let status = try Tool.interrupt("lathe-train", common + [
            "--init", s.policy, "--steps", "100000", "--log", s.path + "/log.jsonl", "--quiet", s.path + "/prompts.jsonl",
        ]) { s.scratch.read("log.jsonl").contains("\"step\":") }
        #expect(status == 130)
        let saved = try FileManager.default.contentsOfDirectory(atPath: s.path + "/run").filter { $0.hasPrefix("checkpoint-") }
        #expect(saved.count == 1)
        let step = Int(saved.first?.dropFirst("checkpoint-".count) ?? "") ?? 0
        #expect(step > 0)
        let resumed = try Tool.run("lathe-train", common + ["--resume", "--steps", "\(step + 1)", s.path + "/prompts.jsonl"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(FileManager.default.fileExists(atPath: s.path + "/run/checkpoint-\(step + 1)"))
    }

    // Both objectives through the shared loop: TRL's log fields, checkpoints every 2 steps, and --resume from
    // step 2 ending with the same bytes as the uninterrupted run.
    @Test(arguments: ["grpo", "ppo"]) func runsLogsAndResumesBitForBit(objective: String) throws {
        let s = try RLScratch()
        // GRPO: 6 completions a step (2 prompts x 3) in micro-batches of --batch-size 2, 2 updates on each batch of rollouts.
        let extra = objective == "grpo" ? ["--num-generations", "3", "--grad-accum", "3", "--num-iterations", "2", "--beta", "0.04"]
            : ["--ppo-epochs", "2", "--mini-batches", "2", "--target-kl", "1"]
        let common = ["--objective", objective, "--reward-model", s.rewardModel, "--steps", "4"] + extra
        let whole = try s.train(common + ["--init", s.policy, "--out", s.path + "/one", "--log", s.path + "/one.jsonl"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let lines = try s.log("one.jsonl")
        #expect(lines.count == 4)
        let fields = objective == "grpo" ? ["reward", "reward_std", "kl", "clip_ratio", "entropy", "completions/mean_length"]
            : ["objective/scores", "objective/kl", "objective/entropy", "policy/clipfrac", "policy/approxkl", "val/loss", "kl_coef",
               "completions/mean_length"]
        for field in fields { #expect(lines.allSatisfy { $0[field]?.double != nil }, "\(field)") }
        if objective == "ppo" {  // --target-kl 1 moves the coefficient from its start after each step
            #expect(lines[0]["kl_coef"]?.double == 0.05 && lines[1]["kl_coef"]?.double != 0.05)
        }
        let valid = try Tool.run("lathe", ["validate", "--kind", "train-log", s.path + "/one.jsonl"])
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")

        let first = try s.train(common + ["--init", s.policy, "--out", s.path + "/two", "--save-every", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        try FileManager.default.removeItem(atPath: s.path + "/two/checkpoint-4")
        if objective == "grpo" {
            // Other groups would not continue the run bit for bit.
            let regrouped = try s.train(common + ["--out", s.path + "/two", "--resume", "--num-generations", "2"])
            #expect(regrouped.status == 1 && regrouped.stderr.contains("sampled 3 responses per prompt"), "\(regrouped.stderr)")
            // An epoch is the 6 prompts, 2 a step.
            let epoch = try s.train(extra + ["--objective", "grpo", "--reward-model", s.rewardModel, "--epochs", "1", "--init", s.policy,
                                             "--out", s.path + "/epoch", "--log", s.path + "/epoch.jsonl"])
            #expect(epoch.status == 0, "\(epoch.stderr)")
            #expect(try s.log("epoch.jsonl").count == 3)
        }
        let resumed = try s.train(common + ["--out", s.path + "/two", "--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("at step 2 of 4"), "\(resumed.stderr)")
        var files = ["model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json", "tokenizer.json"]
        if objective == "ppo" { files += ["value_model.safetensors", "value_optimizer.safetensors"] }
        for file in files {
            let a = FileManager.default.contents(atPath: s.path + "/one/checkpoint-4/" + file)
            let b = FileManager.default.contents(atPath: s.path + "/two/checkpoint-4/" + file)
            #expect(a != nil && a == b, "\(file) differs")
        }
    }

    @Test func badInputGetsClearErrors() throws {
        let s = try RLScratch()
        // PPO (and GRPO) without a reward model: a usage error before any work.
        let noReward = try s.train(["--objective", "ppo", "--init", s.policy, "--steps", "1", "--out", s.path + "/x"])
        #expect(noReward.status == 64 && noReward.stderr.contains("--reward-model"), "\(noReward.stderr)")
        // The reward model given as the policy, and the policy given as the reward model: the wrong kind of checkpoint.
        let rewardAsPolicy = try s.train(["--objective", "ppo", "--init", s.rewardModel, "--reward-model", s.rewardModel, "--steps", "1",
                                          "--out", s.path + "/x"])
        #expect(rewardAsPolicy.status == 1 && rewardAsPolicy.stderr.contains("LlamaForCausalLM"), "\(rewardAsPolicy.stderr)")
        let policyAsReward = try s.train(["--objective", "grpo", "--init", s.policy, "--reward-model", s.policy, "--steps", "1",
                                          "--group-size", "2", "--out", s.path + "/x"])
        #expect(policyAsReward.status == 1 && policyAsReward.stderr.contains("needs a reward model"), "\(policyAsReward.stderr)")
        // A step's completions (--batch-size x --grad-accum) that do not split into whole groups: a usage error.
        let ragged = try s.train(["--objective", "grpo", "--init", s.policy, "--reward-model", s.rewardModel, "--steps", "1",
                                  "--num-generations", "3", "--out", s.path + "/x"])
        #expect(ragged.status == 64 && ragged.stderr.contains("must divide --batch-size x --grad-accum (2)"), "\(ragged.stderr)")
        // A reward model trained with another tokenizer: an error, unless scoring re-tokenised text is asked for.
        s.scratch.file("other.jsonl", #"{"text":"Entirely different words make another vocabulary, with <|im_start|> and <|im_end|> markers."}"# + "\n")
        let other = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "290", "-o", s.path + "/other.json", s.path + "/other.jsonl"])
        #expect(other.status == 0, "\(other.stderr)")
        try RLScratch.writeRewardModel(from: s.policy, tokenizer: s.path + "/other.json", to: s.path + "/rm-other")
        let mismatch = ["--objective", "ppo", "--init", s.policy, "--reward-model", s.path + "/rm-other", "--steps", "1",
                        "--ppo-epochs", "1", "--out", s.path + "/y"]
        let refused = try s.train(mismatch)
        #expect(refused.status == 1 && refused.stderr.contains("differs from the policy's tokenizer")
                && refused.stderr.contains("--allow-tokenizer-mismatch"), "\(refused.stderr)")
        let allowed = try s.train(mismatch + ["--allow-tokenizer-mismatch"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        // A prompt with no room left for --max-new-tokens: stops naming file:line, or is counted with --on-error skip.
        s.scratch.file("long.jsonl", #"{"id":"ok","prompt":"Hi"}"# + "\n" + #"{"id":"long","prompt":"\#(String(repeating: "word ", count: 40))"}"# + "\n")
        let longArgs = ["--seq-len", "48", "--batch-size", "2", "--max-new-tokens", "8", "--objective", "grpo", "--group-size", "2",
                        "--init", s.policy, "--reward-model", s.rewardModel, "--steps", "1", "--out", s.path + "/z", s.path + "/long.jsonl"]
        let long = try Tool.run("lathe-train", longArgs)
        #expect(long.status == 1 && long.stderr.contains("long.jsonl:2:") && long.stderr.contains("--max-new-tokens"), "\(long.stderr)")
        let skipped = try Tool.run("lathe-train", longArgs + ["--on-error", "skip"])
        #expect(skipped.status == 0 && skipped.stderr.contains("prompt_too_long"), "\(skipped.stderr)")
    }

    // A planted preference end to end: an SFT model that closes half its answers with "Thanks for asking!",
    // a reward model trained on pairs that prefer the closing (chosen − rejected ≈ 14 after 40 steps), then
    // 30 steps of each objective. Measured when written: PPO's objective/scores 1.16 → 5.82 (first and last 5
    // steps) with objective/kl at most 12.7 nats per response; GRPO's reward −0.42 → 4.90 with kl at most 0.26
    // nats per token; greedy answers closing politely: SFT 5/10, PPO 9/10, GRPO 10/10. The KL bounds below:
    // at --kl-coef 0.05, 20 nats would cost PPO 1 point of the ≈ 14-point preference; GRPO's k3 per token stays
    // under 1 nat (a sixth of log 300, what a policy ignoring the reference entirely could reach).
    @Test func ppoAndGRPOTeachAPlantedPreference() throws {
        let scratch = Scratch()
        let qa = [("What is two plus two?", "Four."), ("Name a colour.", "Blue."), ("Where is Paris?", "In France."), ("Say hello.", "Hello."),
                  ("Count to three.", "One two three."), ("What is ice?", "Frozen water."), ("Name a fruit.", "An apple."),
                  ("What is the sky?", "Blue air."), ("Name a pet.", "A cat."), ("What do cows give?", "Milk.")]
        let closing = " Thanks for asking!"
        scratch.file("config.json", microConfig)
        scratch.file("chats.jsonl", qa.flatMap { q, a in [#"{"prompt":"\#(q)","completion":"\#(a)"}"#, #"{"prompt":"\#(q)","completion":"\#(a)\#(closing)"}"#] }
            .joined(separator: "\n") + "\n")
        scratch.file("pairs.jsonl", qa.enumerated().map { #"{"id":"p\#($0.offset)","prompt":"\#($0.element.0)","chosen":"\#($0.element.1)\#(closing)","rejected":"\#($0.element.1)"}"# }
            .joined(separator: "\n") + "\n")
        scratch.file("prompts.jsonl", qa.enumerated().map { #"{"id":"q\#($0.offset)","prompt":"\#($0.element.0)"}"# }.joined(separator: "\n") + "\n")
        let p = scratch.path
        for arguments in [["tokenizer", "--vocab-size", "300", "-o", p + "/tok.json", p + "/chats.jsonl"],
                          ["--objective", "sft", "--tokenizer", p + "/tok.json", "--config", p + "/config.json", "--seq-len", "48", "--batch-size", "8",
                           "--lr", "3e-3", "--steps", "150", "--out", p + "/sft", p + "/chats.jsonl"],
                          ["--objective", "reward", "--init", p + "/sft/checkpoint-150", "--seq-len", "48", "--batch-size", "5", "--lr", "1e-3",
                           "--steps", "40", "--out", p + "/rm", p + "/pairs.jsonl"]] {
            let result = try Tool.run("lathe-train", arguments + ["--quiet"])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let common = ["--init", p + "/sft/checkpoint-150", "--reward-model", p + "/rm/checkpoint-40", "--seq-len", "48", "--max-new-tokens", "16",
                      "--lr", "3e-4", "--schedule", "constant", "--steps", "30", p + "/prompts.jsonl"]
        let ppo = try Tool.run("lathe-train", common + ["--objective", "ppo", "--batch-size", "10", "--mini-batches", "2", "--kl-coef", "0.05",
                                                        "--out", p + "/ppo", "--log", p + "/ppo.jsonl"])
        #expect(ppo.status == 0, "\(ppo.stderr)")
        let grpo = try Tool.run("lathe-train", common + ["--objective", "grpo", "--batch-size", "8", "--grad-accum", "4", "--num-generations", "8",
                                                         "--beta", "0.04",
                                                         "--out", p + "/grpo", "--log", p + "/grpo.jsonl"])
        #expect(grpo.status == 0, "\(grpo.stderr)")
        func series(_ log: String, _ field: String) throws -> [Double] {
            try scratch.read(log).split(separator: "\n").map { try JSONParser.parse(String($0))[field]?.double ?? .nan }
        }
        func mean(_ x: ArraySlice<Double>) -> Double { x.reduce(0, +) / Double(x.count) }
        let scores = try series("ppo.jsonl", "objective/scores"), rewards = try series("grpo.jsonl", "reward")
        #expect(scores.count == 30 && mean(scores.suffix(5)) > mean(scores.prefix(5)) + 2, "\(scores)")
        #expect(rewards.count == 30 && mean(rewards.suffix(5)) > mean(rewards.prefix(5)) + 2, "\(rewards)")
        #expect(try series("ppo.jsonl", "objective/kl").allSatisfy { $0 < 20 })
        #expect(try series("grpo.jsonl", "kl").allSatisfy { $0 >= 0 && $0 < 1 })
        let eval = try Tool.run("lathe-eval", [p + "/sft/checkpoint-150", p + "/ppo/checkpoint-30", p + "/grpo/checkpoint-30",
                                               "--data", p + "/prompts.jsonl", "--generations", p + "/gen.jsonl", "-o", p + "/eval.jsonl"])
        #expect(eval.status == 0, "\(eval.stderr)")
        var polite: [String: Int] = [:]
        for line in scratch.read("gen.jsonl").split(separator: "\n") {
            let record = try JSONParser.parse(String(line))
            let run = ["sft", "ppo", "grpo"].first { (record["checkpoint"]?.string ?? "").contains("/\($0)/") } ?? "?"
            polite[run, default: 0] += (record["response"]?.string ?? "").contains("Thanks for asking!") ? 1 : 0
        }
        #expect(polite["ppo", default: 0] >= 8 && polite["grpo", default: 0] >= 8 && polite["sft", default: 0] < 8, "\(polite)")
    }
}
