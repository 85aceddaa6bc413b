import Foundation
import LatheIO
import Testing

/// vocab 300, d 64, 2 layers: trains in seconds.
private let rewardConfig = #"{"vocab_size": 300, "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}"#

/// Planted preference: every chosen answer ends with a fixed polite closing sentence, its rejected
/// twin is the same answer without it. `range` picks disjoint questions for training and held-out sets.
private func plantedPairs(_ range: Range<Int>) -> String {
    let things = ["cat", "river", "lamp", "bread", "storm", "violin", "garden", "rocket", "pencil", "winter"]
    return range.map { i -> String in
        let a = i % 10, b = (i / 10) % 10, thing = things[(i * 7) % things.count]
        let (prompt, answer) = i % 2 == 0 ? ("What is \(a) plus \(b)?", "It is \(a + b).")
                                          : ("Tell me about the \(thing) \(b).", "The \(thing) is number \(a).")
        return #"{"id":"p\#(i)","prompt":"\#(prompt)","chosen":"\#(answer) Thank you for asking!","rejected":"\#(answer)"}"#
    }.joined(separator: "\n") + "\n"
}

private func rewardScratch() throws -> Scratch {
    let scratch = Scratch()
    scratch.file("train.jsonl", plantedPairs(0..<64))
    scratch.file("heldout.jsonl", plantedPairs(100..<140))
    scratch.file("config.json", rewardConfig)
    let tok = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json", scratch.path + "/train.jsonl"])
    precondition(tok.status == 0, tok.stderr)
    return scratch
}

/// The tensor names of a safetensors file, from its JSON header.
private func tensorNames(_ path: String) throws -> Set<String> {
    let data = try #require(FileManager.default.contents(atPath: path))
    let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try JSONParser.parse(Array(data[8..<(8 + length)]))
    return Set((header.object?.keys).map(Array.init) ?? []).subtracting(["__metadata__"])
}

@Suite("lathe-train --objective reward", .serialized) struct RewardCLITests {
    func common(_ scratch: Scratch) -> [String] {
        ["--objective", "reward", "--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
         "--seq-len", "100", "--batch-size", "8", "--lr", "3e-3", "--weight-decay", "0", "--seed", "1", scratch.path + "/train.jsonl"]
    }

    @Test func plantedPreferenceIsLearnedToHeldOutAccuracy() throws {
        let scratch = try rewardScratch()
        let run = try Tool.run("lathe-train", common(scratch) + ["--steps", "40", "--eval-data", scratch.path + "/heldout.jsonl",
                                                                  "--out", scratch.path + "/out", "--log", scratch.path + "/log.jsonl"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try scratch.read("log.jsonl").split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.count == 40)
        let last = try #require(lines.last)
        #expect((last["eval_accuracy"]?.double ?? 0) >= 0.95, "\(last)")
        #expect((last["eval_margin"]?.double ?? 0) > 0, "\(last)")
        for key in ["accuracy", "margin", "rewards/chosen", "rewards/rejected", "pairs_per_s", "eval_loss"] {
            #expect(last[key]?.double != nil, "\(key)")
        }
        let valid = try Tool.run("lathe", ["validate", "--kind", "train-log", scratch.path + "/log.jsonl"])
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
        // The checkpoint is a LlamaForSequenceClassification transformers can load.
        let checkpoint = scratch.path + "/out/checkpoint-40"
        let config = try JSONParser.parse(scratch.read("out/checkpoint-40/config.json"))
        #expect(config["architectures"]?.array?.first?.string == "LlamaForSequenceClassification")
        #expect(config["num_labels"]?.int == 1 && config["id2label"]?["0"]?.string == "LABEL_0")
        #expect(config["label2id"]?["LABEL_0"]?.int == 0 && config["pad_token_id"]?.int != nil)
        let names = try tensorNames(checkpoint + "/model.safetensors")
        #expect(names.contains("score.weight") && !names.contains("lm_head.weight") && names.contains("model.norm.weight"))
        // `lathe-train score` reads it back: a closing-sentence answer outscores its bare twin.
        scratch.file("score.jsonl", #"{"id":"c","messages":[{"role":"user","content":"What is 3 plus 4?"},{"role":"assistant","content":"It is 7. Thank you for asking!"}]}"#
            + "\n" + #"{"id":"r","messages":[{"role":"user","content":"What is 3 plus 4?"},{"role":"assistant","content":"It is 7."}]}"# + "\n")
        let scored = try Tool.run("lathe-train", ["score", "--reward-model", checkpoint, scratch.path + "/score.jsonl"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let rewards = try scored.stdout.split(separator: "\n").map { try JSONParser.parse(String($0))["reward"]?.double ?? .nan }
        #expect(rewards.count == 2 && rewards[0] > rewards[1], "\(rewards)")
    }

    // The shared loop: N steps in one go equal N/2, a checkpoint, and --resume for the rest.
    @Test func rewardResumesBitForBit() throws {
        let scratch = try rewardScratch()
        let args = common(scratch) + ["--steps", "6", "--batch-size", "4"]
        #expect(try Tool.run("lathe-train", args + ["--out", scratch.path + "/one"]).status == 0)
        #expect(try Tool.run("lathe-train", args + ["--out", scratch.path + "/two", "--save-every", "3"]).status == 0)
        try FileManager.default.removeItem(atPath: scratch.path + "/two/checkpoint-6")
        let resumed = try Tool.run("lathe-train", args + ["--out", scratch.path + "/two", "--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("at step 3 of 6"), "\(resumed.stderr)")
        for file in ["model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json"] {
            let a = FileManager.default.contents(atPath: scratch.path + "/one/checkpoint-6/" + file)
            let b = FileManager.default.contents(atPath: scratch.path + "/two/checkpoint-6/" + file)
            #expect(a != nil && a == b, "\(file) differs")
        }
    }

    // A causal LM initialises a reward model (fresh score head); a reward model where a policy
    // is needed is an error naming the file.
    // Ctrl-C: the last finished step's checkpoint, exit 130, and --resume goes on from it.
    @Test func sigintWritesACheckpointThatResumes() throws {
        let scratch = try rewardScratch()
        let out = ["--out", scratch.path + "/out"]
        let status = try Tool.interrupt("lathe-train", common(scratch) + out + [
            "--steps", "1000000", "--log", scratch.path + "/log.jsonl", "--quiet",
        ]) { scratch.read("log.jsonl").contains("\"step\":") }
        #expect(status == 130)
        let saved = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/out").filter { $0.hasPrefix("checkpoint-") }
        #expect(saved.count == 1)
        let step = Int(saved.first?.dropFirst("checkpoint-".count) ?? "") ?? 0
        #expect(step > 0)
        let resumed = try Tool.run("lathe-train", common(scratch) + out + ["--resume", "--steps", "\(step + 1)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/checkpoint-\(step + 1)"))
    }

    @Test func checkpointKindsAreChecked() throws {
        let scratch = try rewardScratch()
        let policy = try Tool.run("lathe-train", ["--objective", "dpo", "--tokenizer", scratch.path + "/tok.json", "--config",
                                                  scratch.path + "/config.json", "--seq-len", "100", "--steps", "1", "--out",
                                                  scratch.path + "/policy", scratch.path + "/train.jsonl"])
        #expect(policy.status == 0, "\(policy.stderr)")
        let reward = try Tool.run("lathe-train", ["--objective", "reward", "--init", scratch.path + "/policy/checkpoint-1", "--seq-len", "100",
                                                  "--steps", "1", "--out", scratch.path + "/rm", scratch.path + "/train.jsonl"])
        #expect(reward.status == 0, "\(reward.stderr)")
        let names = try tensorNames(scratch.path + "/rm/checkpoint-1/model.safetensors")
        #expect(names.contains("score.weight") && !names.contains("lm_head.weight"))
        let wrong = try Tool.run("lathe-train", ["--objective", "dpo", "--init", scratch.path + "/rm/checkpoint-1", "--seq-len", "100",
                                                 "--steps", "1", "--out", scratch.path + "/bad", scratch.path + "/train.jsonl"])
        #expect(wrong.status == 1, "\(wrong.stderr)")
        // Checked before any data is read, from config.json's architectures.
        #expect(wrong.stderr.contains("rm/checkpoint-1/config.json") && wrong.stderr.contains("LlamaForSequenceClassification")
                    && wrong.stderr.contains("needs a causal language model (LlamaForCausalLM)"), "\(wrong.stderr)")
    }

    @Test func identicalPairsStopOrAreCounted() throws {
        let scratch = try rewardScratch()
        scratch.file("same.jsonl", plantedPairs(0..<8) + #"{"id":"same","prompt":"Hi","chosen":"Yes.","rejected":"Yes."}"# + "\n")
        let args = ["--objective", "reward", "--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                    "--seq-len", "100", "--steps", "1", "--out", scratch.path + "/out", scratch.path + "/same.jsonl"]
        let stopped = try Tool.run("lathe-train", args)
        #expect(stopped.status == 1)
        #expect(stopped.stderr.contains("same.jsonl:9") && stopped.stderr.contains("chosen equals rejected"), "\(stopped.stderr)")
        let skipped = try Tool.run("lathe-train", args + ["--on-error", "skip", "--stats", scratch.path + "/stats.json"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(scratch.read("stats.json").contains("identical_responses"), "\(scratch.read("stats.json"))")
    }
}
