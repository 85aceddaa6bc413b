import Foundation
import LatheIO
import Testing

/// A model small enough to train in seconds: vocab 300, d 64, 2 layers.
private let microConfig = #"{"vocab_size": 300, "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}"#

private let corpus = [
    "The quick brown fox jumps over the lazy dog.",
    "A stitch in time saves nine, said the tailor to the fox.",
    "Lathe turns scraped text into small language models.",
    "Every morning the baker sells warm bread by the river.",
].enumerated().map { #"{"id":"d\#($0.offset)","text":"\#($0.element)","source":"test"}"# }.joined(separator: "\n") + "\n"

/// A scratch directory with the corpus, a config and a tokenizer trained on the corpus.
private func setUp() throws -> Scratch {
    let scratch = Scratch()
    scratch.file("docs.jsonl", corpus)
    scratch.file("config.json", microConfig)
    let result = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json", scratch.path + "/docs.jsonl"])
    precondition(result.status == 0, result.stderr)
    return scratch
}

private func logLosses(_ text: String) throws -> [Double] {
    try text.split(separator: "\n").map { try JSONParser.parse(String($0))["loss"]!.double! }
}

@Suite("lathe-train", .serialized) struct TrainCLITests {
    func train(_ scratch: Scratch, _ extra: [String]) throws -> Tool.Result {
        try Tool.run("lathe-train", ["--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                     "--seq-len", "16", "--batch-size", "4", scratch.path + "/docs.jsonl"] + extra)
    }

    @Test func aTinyModelMemorisesASmallCorpus() throws {
        let scratch = try setUp()
        let result = try train(scratch, ["--steps", "200", "--lr", "3e-3", "--weight-decay", "0", "--save-every", "50", "--keep-last", "2",
                                         "--out", scratch.path + "/out", "--log", scratch.path + "/log.jsonl", "--eval-data", scratch.path + "/docs.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("memory estimate"))
        #expect(checkpointSteps(scratch.path + "/out") == [150, 200])
        let valid = try Tool.run("lathe", ["validate", "--kind", "train-log", scratch.path + "/log.jsonl"])
        #expect(valid.status == 0 && valid.stdout.contains("200 valid, 0 invalid"), "\(valid.stdout)\(valid.stderr)")
        let losses = try logLosses(scratch.read("log.jsonl"))
        #expect(losses.count == 200)
        #expect(losses[0] > 4)
        #expect(losses.suffix(5).allSatisfy { $0 < 0.02 }, "last losses \(losses.suffix(5))")
        let last = try JSONParser.parse(String(scratch.read("log.jsonl").split(separator: "\n").last!))
        #expect((last["eval_loss"]?.double ?? 9) < 0.02)
        for key in ["step", "tokens", "lr", "grad_norm", "tokens_per_s"] { #expect(last[key]?.double != nil, "\(key)") }
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json",
                     "trainer_state.json", "optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/checkpoint-200/" + file), "\(file)")
        }
        // The checkpoint starts a new run through --init: its first loss is the memorised one.
        let again = try Tool.run("lathe-train", ["--init", scratch.path + "/out/checkpoint-200", "--seq-len", "16", "--batch-size", "4",
                                                 "--steps", "1", "--out", scratch.path + "/again", "--log", scratch.path + "/again.jsonl",
                                                 scratch.path + "/docs.jsonl"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try logLosses(scratch.read("again.jsonl"))[0] < 0.02)
    }

    // 2N steps in one run against N steps, a checkpoint, and --resume for N more.
    @Test func resumeIsBitwiseExact() throws {
        let scratch = try setUp()
        let common = ["--steps", "12", "--lr", "3e-3", "--warmup", "3", "--grad-accum", "2", "--seed", "7"]
        #expect(try train(scratch, common + ["--out", scratch.path + "/one"]).status == 0)
        #expect(try train(scratch, common + ["--out", scratch.path + "/two", "--save-every", "6"]).status == 0)
        try FileManager.default.removeItem(atPath: scratch.path + "/two/checkpoint-12")
        let resumed = try train(scratch, common + ["--out", scratch.path + "/two", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming \(scratch.path)/two/checkpoint-6 at step 6"))
        for file in ["model.safetensors", "optimizer.safetensors", "trainer_state.json"] {
            let a = FileManager.default.contents(atPath: scratch.path + "/one/checkpoint-12/" + file)
            let b = FileManager.default.contents(atPath: scratch.path + "/two/checkpoint-12/" + file)
            #expect(a != nil && a == b, "\(file) differs")
        }
        let other = try train(scratch, common.dropLast(2) + ["--seed", "8", "--out", scratch.path + "/two", "--resume"])
        #expect(other.status == 1 && other.stderr.contains("--seed was 7, now 8"))
    }

    // Two micro-batches of 2 rows make the same optimizer step as one batch of 4: the loss is
    // the mean over all labelled tokens of the step either way.
    @Test func gradientAccumulationEqualsALargerBatch() throws {
        let scratch = try setUp()
        let common = ["--steps", "3", "--lr", "3e-3", "--warmup", "0", "--seed", "3"]
        let whole = try Tool.run("lathe-train", ["--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                                 "--seq-len", "16", "--batch-size", "4", "--out", scratch.path + "/a", "--log",
                                                 scratch.path + "/a.jsonl", scratch.path + "/docs.jsonl"] + common)
        let split = try Tool.run("lathe-train", ["--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                                 "--seq-len", "16", "--batch-size", "2", "--grad-accum", "2", "--out", scratch.path + "/b",
                                                 "--log", scratch.path + "/b.jsonl", scratch.path + "/docs.jsonl"] + common)
        #expect(whole.status == 0 && split.status == 0)
        let a = try logLosses(scratch.read("a.jsonl")), b = try logLosses(scratch.read("b.jsonl"))
        #expect(a.count == 3 && b.count == 3)
        for (x, y) in zip(a, b) { #expect(abs(x - y) < 1e-4 * max(1, abs(x)), "\(a) against \(b)") }
    }

    // bf16 matmul inputs follow fp32's loss curve on the same data and seed, --verbose names the
    // kernel that runs them, and their packing buffers show in the memory estimate.
    @Test func bf16FollowsTheFp32LossCurve() throws {
        let scratch = try setUp()
        let common = ["--steps", "20", "--lr", "3e-3", "--seed", "5", "--verbose"]
        let fp32 = try train(scratch, common + ["--out", scratch.path + "/a", "--log", scratch.path + "/a.jsonl"])
        let bf16 = try train(scratch, common + ["--dtype", "bf16", "--out", scratch.path + "/b", "--log", scratch.path + "/b.jsonl"])
        #expect(fp32.status == 0 && bf16.status == 0, "\(fp32.stderr)\(bf16.stderr)")
        #expect(fp32.stderr.contains("matmul precision fp32") && !fp32.stderr.contains("bf16 packing buffers"))
        #expect(bf16.stderr.contains("matmul precision bf16 on ")
                && bf16.stderr.contains("bf16 packing buffers"), "\(bf16.stderr)")
        let a = try logLosses(scratch.read("a.jsonl")), b = try logLosses(scratch.read("b.jsonl"))
        #expect(a.count == 20 && b.count == 20)
        #expect(a != b, "bf16 changed nothing")
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 0.02 * abs(x), "\(a) against \(b)") }
        let bad = try train(scratch, ["--dtype", "fp16", "--steps", "1", "--out", scratch.path + "/c"])
        #expect(bad.status != 0 && bad.stderr.contains("fp16"))
    }

    @Test func sigintWritesACheckpointAndExits() throws {
        let scratch = try setUp()
        let status = try Tool.interrupt("lathe-train", [
            "--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json", "--seq-len", "16",
            "--batch-size", "4", "--steps", "1000000", "--out", scratch.path + "/out", "--log", scratch.path + "/log.jsonl",
            "--quiet", scratch.path + "/docs.jsonl",
        ]) { scratch.read("log.jsonl").contains("\"step\":") }  // the handler is installed once steps run
        #expect(status == 130)
        let steps = checkpointSteps(scratch.path + "/out")
        #expect(steps.count == 1)
        let state = try JSONParser.parse(scratch.read("out/checkpoint-\(steps[0])/trainer_state.json"))
        #expect(state["global_step"]?.int == steps[0])
        #expect(steps[0] > 0 && steps[0] < 1_000_000)
    }

    @Test func aNonFiniteLossStopsBeforeTheUpdate() throws {
        let scratch = try setUp()
        let result = try train(scratch, ["--steps", "50", "--lr", "1e30", "--clip", "0", "--save-every", "1", "--out", scratch.path + "/out"])
        #expect(result.status == 1)
        let steps = checkpointSteps(scratch.path + "/out")
        #expect(result.stderr.contains("step \(steps.last! + 1): the loss is"), "\(result.stderr)")
        #expect(result.stderr.contains("batch records: d"))
    }

    @Test func sftNamesConversationsWithoutLabels() throws {
        let scratch = try setUp()
        scratch.file("chat.jsonl", """
            {"id":"ok","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello there."}]}
            {"id":"silent","messages":[{"role":"user","content":"Anyone?"}]}

            """)
        let result = try Tool.run("lathe-train", ["--objective", "sft", "--tokenizer", scratch.path + "/tok.json", "--config",
                                                  scratch.path + "/config.json", "--seq-len", "32", "--steps", "2",
                                                  "--out", scratch.path + "/out", scratch.path + "/chat.jsonl"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("chat.jsonl:2: the conversation has no assistant turn"), "\(result.stderr)")
        let skipped = try Tool.run("lathe-train", ["--objective", "sft", "--tokenizer", scratch.path + "/tok.json", "--config",
                                                   scratch.path + "/config.json", "--seq-len", "32", "--batch-size", "2", "--steps", "2",
                                                   "--on-error", "skip", "--out", scratch.path + "/out", scratch.path + "/chat.jsonl"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("2 in, 1 out, 1 dropped (no_assistant_turn 1)"))
    }
}

/// Steps of the checkpoint-STEP directories in `directory`, ascending.
private func checkpointSteps(_ directory: String) -> [Int] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst("checkpoint-".count)) : nil }.sorted()
}

/// Planted preference: every chosen answer ends with a polite closing, its rejected twin does not.
private let pairs = [("What is two plus two?", "Four."), ("Name a colour.", "Blue."), ("Where is Paris?", "In France."),
                     ("Say hello.", "Hello."), ("Count to three.", "One two three."), ("What is ice?", "Frozen water.")]
    .enumerated().map { #"{"id":"p\#($0.offset)","prompt":"\#($0.element.0)","chosen":"\#($0.element.1) Thanks for asking!","rejected":"\#($0.element.1)"}"# }
    .joined(separator: "\n") + "\n"

@Suite("lathe-train --objective dpo", .serialized) struct DPOCLITests {
    @Test func dpoRaisesAccuraciesAndMarginsAndCachesTheReference() throws {
        let scratch = Scratch()
        scratch.file("pairs.jsonl", pairs)
        scratch.file("config.json", microConfig)
        let tok = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json", scratch.path + "/pairs.jsonl"])
        #expect(tok.status == 0, "\(tok.stderr)")
        let common = ["--objective", "dpo", "--seq-len", "64", "--batch-size", "3", "--lr", "3e-3", "--weight-decay", "0", "--beta", "0.1",
                      "--loss", "sigmoid", "--label-smoothing", "0", scratch.path + "/pairs.jsonl"]
        let run = try Tool.run("lathe-train", ["--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                               "--steps", "20", "--out", scratch.path + "/out", "--log", scratch.path + "/log.jsonl"] + common)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("reference log-probabilities computed into"))
        let lines = try scratch.read("log.jsonl").split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.count == 20)
        let first = lines[0], last = lines[19]
        // The policy starts as its own reference: every reward 0, the loss ln 2.
        #expect(first["rewards/accuracies"]?.double == 0 && first["rewards/margins"]?.double == 0)
        #expect(abs((first["loss"]?.double ?? 0) - log(2)) < 1e-6)
        #expect(last["rewards/accuracies"]?.double == 1)
        #expect((last["rewards/margins"]?.double ?? 0) > 2, "\(last)")
        for key in ["rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"] { #expect(last[key]?.double != nil, "\(key)") }
        let valid = try Tool.run("lathe", ["validate", "--kind", "train-log", scratch.path + "/log.jsonl"])
        #expect(valid.status == 0 && valid.stdout.contains("20 valid, 0 invalid"), "\(valid.stdout)\(valid.stderr)")
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/checkpoint-20/" + file), "\(file)")
        }
        // The same data and reference again: the cached pass is read, not recomputed.
        let again = try Tool.run("lathe-train", ["--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                                 "--steps", "1", "--out", scratch.path + "/out"] + common)
        #expect(again.status == 0 && again.stderr.contains("reference log-probabilities read from"), "\(again.stderr)")
        // The trained policy against itself as --ref starts again at margin 0.
        let checkpoint = scratch.path + "/out/checkpoint-20"
        let fromRef = try Tool.run("lathe-train", ["--init", checkpoint, "--ref", checkpoint, "--steps", "1", "--out", scratch.path + "/second",
                                                   "--log", scratch.path + "/second.jsonl"] + common)
        #expect(fromRef.status == 0, "\(fromRef.stderr)")
        let second = try JSONParser.parse(String(scratch.read("second.jsonl").split(separator: "\n")[0]))
        #expect(abs(second["rewards/margins"]?.double ?? 1) < 1e-4)
    }

    // DPO goes through the same loop as pretraining: 2N steps against N, a checkpoint, --resume
    // for N more (the reference log-probabilities read back from the cache the state names),
    // and --keep-last pruning the older checkpoints.
    @Test func dpoResumesBitForBit() throws {
        let scratch = Scratch()
        scratch.file("pairs.jsonl", pairs)
        scratch.file("config.json", microConfig)
        _ = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json", scratch.path + "/pairs.jsonl"])
        let common = ["--objective", "dpo", "--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                      "--seq-len", "64", "--batch-size", "2", "--grad-accum", "2", "--lr", "3e-3", "--steps", "8", "--seed", "3",
                      scratch.path + "/pairs.jsonl"]
        #expect(try Tool.run("lathe-train", common + ["--out", scratch.path + "/one"]).status == 0)
        let first = try Tool.run("lathe-train", common + ["--out", scratch.path + "/two", "--save-every", "2", "--keep-last", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(checkpointSteps(scratch.path + "/two") == [6, 8])
        try FileManager.default.removeItem(atPath: scratch.path + "/two/checkpoint-8")
        let resumed = try Tool.run("lathe-train", common + ["--out", scratch.path + "/two", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("at step 6 of 8") && resumed.stderr.contains("read from"), "\(resumed.stderr)")
        for file in ["model.safetensors", "optimizer.safetensors", "trainer_state.json"] {
            let a = FileManager.default.contents(atPath: scratch.path + "/one/checkpoint-8/" + file)
            let b = FileManager.default.contents(atPath: scratch.path + "/two/checkpoint-8/" + file)
            #expect(a != nil && a == b, "\(file) differs")
        }
        // Without the cache the starting weights are gone: a clear error, not a wrong reference.
        try FileManager.default.removeItem(atPath: scratch.path + "/two/ref_logps.bin")
        let lost = try Tool.run("lathe-train", common + ["--out", scratch.path + "/two", "--resume"])
        #expect(lost.status == 1 && lost.stderr.contains("ref_logps.bin") && lost.stderr.contains("missing"), "\(lost.stderr)")
    }

    @Test func identicalResponsesStopTheRunWithTheirLine() throws {
        let scratch = Scratch()
        scratch.file("pairs.jsonl", pairs + #"{"id":"same","prompt":"Hi","chosen":"Yes.","rejected":"Yes."}"# + "\n")
        scratch.file("config.json", microConfig)
        _ = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json", scratch.path + "/pairs.jsonl"])
        let run = try Tool.run("lathe-train", ["--objective", "dpo", "--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                               "--seq-len", "64", "--steps", "1", "--out", scratch.path + "/out", scratch.path + "/pairs.jsonl"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("pairs.jsonl:7") && run.stderr.contains("chosen equals rejected"), "\(run.stderr)")
    }
}
