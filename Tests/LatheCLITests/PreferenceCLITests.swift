import Foundation
import LatheIO
import Testing

/// A model small enough to train in seconds: vocab 300, d 64, 2 layers.
private let microConfig = #"{"vocab_size": 300, "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}"#

/// A planted preference: every chosen answer closes with "Thanks for asking!", its rejected twin
/// is the same answer without it. 20 things x 3 questions; the last 5 things are held out.
private enum Planted {
    static let closing = "Thanks for asking!"
    static let things = ["apple", "river", "stone", "cloud", "lamp", "horse", "bread", "chair", "garden", "window",
                         "candle", "forest", "bottle", "mirror", "pencil", "island", "bridge", "flower", "ladder", "basket"]
    static let colours = ["red", "blue", "green", "grey", "white", "brown", "black"]
    static let places = ["the hall", "the yard", "the shed", "the barn", "the attic"]

    static func questions(_ i: Int) -> [(id: String, prompt: String, answer: String)] {
        let thing = things[i]
        return [("\(thing)-colour", "What colour is the \(thing)?", "The \(thing) is \(colours[i % colours.count])."),
                ("\(thing)-where", "Where is the \(thing)?", "The \(thing) is in \(places[i % places.count])."),
                ("\(thing)-size", "Is the \(thing) big?", i % 2 == 0 ? "Yes, the \(thing) is big." : "No, the \(thing) is small.")]
    }

    static func pairs(_ range: Range<Int>) -> String {
        range.flatMap(questions).map { q in
            #"{"id":"\#(q.id)","prompt":"\#(q.prompt)","chosen":"\#(q.answer) \#(closing)","rejected":"\#(q.answer)"}"# + "\n"
        }.joined()
    }

    /// SFT conversations answering without the closing, or with it on every other one (so the SFT
    /// model closes some answers and not others, and the preference picks between behaviours it has).
    static func conversations(_ range: Range<Int>, closingOnHalf: Bool) -> String {
        range.flatMap(questions).enumerated().map { k, q in
            let answer = closingOnHalf && k % 2 == 0 ? q.answer + " " + closing : q.answer
            return #"{"id":"\#(q.id)","prompt":"\#(q.prompt)","completion":"\#(answer)"}"# + "\n"
        }.joined()
    }

    static func prompts(_ range: Range<Int>) -> String {
        range.flatMap(questions).map { #"{"id":"\#($0.id)","prompt":"\#($0.prompt)"}"# + "\n" }.joined()
    }

    static let train = 0..<15, heldOut = 15..<20

    /// A scratch directory with the data, a tokenizer and an SFT model (checkpoint sft/checkpoint-150).
    static func setUp(closingOnHalf: Bool) throws -> Scratch {
        let scratch = Scratch()
        scratch.file("pairs.jsonl", pairs(train))
        scratch.file("heldout.jsonl", pairs(heldOut))
        scratch.file("sft.jsonl", conversations(train, closingOnHalf: closingOnHalf))
        scratch.file("prompts.jsonl", prompts(heldOut))
        scratch.file("config.json", microConfig)
        let tok = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json",
                                               scratch.path + "/pairs.jsonl", scratch.path + "/heldout.jsonl"])
        try #require(tok.status == 0, "\(tok.stderr)")
        let sft = try Tool.run("lathe-train", ["--objective", "sft", "--tokenizer", scratch.path + "/tok.json", "--config",
                                               scratch.path + "/config.json", "--seq-len", "64", "--batch-size", "8", "--steps", "150",
                                               "--lr", "3e-3", "--weight-decay", "0", "--seed", "1", "--out", scratch.path + "/sft",
                                               "--quiet", scratch.path + "/sft.jsonl"])
        try #require(sft.status == 0, "\(sft.stderr)")
        return scratch
    }

    /// The share of greedy responses to the held-out prompts that end with the closing sentence.
    static func closingShare(_ scratch: Scratch, checkpoint: String, name: String) throws -> Double {
        let out = scratch.path + "/\(name)-generations.jsonl"
        let eval = try Tool.run("lathe-eval", [checkpoint, "--data", scratch.path + "/prompts.jsonl", "--temperature", "0",
                                               "--max-new-tokens", "48", "--generations", out, "-o", "/dev/null", "--quiet"])
        try #require(eval.status == 0, "\(eval.stderr)")
        let responses = try scratch.read("\(name)-generations.jsonl").split(separator: "\n").map { try JSONParser.parse(String($0))["response"]!.string! }
        try #require(responses.count == 15)
        return Double(responses.filter { $0.trimmingCharacters(in: .whitespaces).hasSuffix(closing) }.count) / Double(responses.count)
    }
}

@Suite("lathe-train preference objectives", .serialized) struct PreferenceCLITests {
    func logLines(_ scratch: Scratch, _ name: String) throws -> [JSONValue] {
        try scratch.read(name).split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    // Issue 7's evidence, through the real tools: from an SFT model that closes about half its answers
    // with the polite sentence, DPO on the planted pairs raises the held-out implicit-reward accuracy
    // above 90% and makes (nearly) every greedy answer to a held-out question end with it.
    @Test func dpoLearnsThePlantedPreferenceOnHeldOutPairsAndInGeneration() throws {
        let scratch = try Planted.setUp(closingOnHalf: true)
        let sft = scratch.path + "/sft/checkpoint-150"
        let run = try Tool.run("lathe-train", ["--objective", "dpo", "--init", sft, "--seq-len", "64", "--batch-size", "8", "--steps", "40",
                                               "--lr", "1e-4", "--weight-decay", "0", "--beta", "0.1", "--eval-data", scratch.path + "/heldout.jsonl",
                                               "--eval-every", "10", "--out", scratch.path + "/dpo", "--log", scratch.path + "/dpo.jsonl",
                                               scratch.path + "/pairs.jsonl"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/dpo/ref_logps_eval.bin"))
        let evals = try logLines(scratch, "dpo.jsonl").filter { $0["eval_rewards/accuracies"] != nil }
        #expect(evals.map { $0["step"]?.int ?? 0 } == [10, 20, 30, 40])
        let last = evals.last!
        #expect((last["eval_rewards/accuracies"]?.double ?? 0) > 0.9, "\(last)")
        #expect((last["eval_rewards/margins"]?.double ?? 0) > 0, "\(last)")
        for key in ["eval_loss", "eval_rewards/chosen", "eval_rewards/rejected", "eval_logps/chosen", "eval_logps/rejected"] {
            #expect(last[key]?.double != nil, "\(key)")
        }
        let before = try Planted.closingShare(scratch, checkpoint: sft, name: "sft")
        let after = try Planted.closingShare(scratch, checkpoint: scratch.path + "/dpo/checkpoint-40", name: "dpo")
        #expect(before < 0.7 && after >= 0.9 && after >= before + 0.3, "greedy answers ending with the closing: SFT \(before), DPO \(after)")
    }

    // SimPO and ORPO need no reference: no reference pass, no cache. From an SFT model that never
    // closes, the held-out preference accuracy (mean token log-probability of chosen above rejected)
    // rises from 0 to above 90%, and ORPO's greedy answers take up the closing sentence. (SimPO's do
    // not: when rejected is a prefix of chosen, length normalisation also pays for making the shared
    // answer less likely, and with no NLL term a tiny model's answers fall apart; it is printed.)
    @Test(arguments: [["--objective", "simpo", "--lr", "5e-4"], ["--objective", "orpo", "--lr", "3e-3"]])
    func referenceFreeObjectivesLearnThePlantedPreference(_ objective: [String]) throws {
        let scratch = try Planted.setUp(closingOnHalf: false)
        let name = objective[1]
        let run = try Tool.run("lathe-train", objective + ["--init", scratch.path + "/sft/checkpoint-150", "--seq-len", "64", "--batch-size", "8",
                                                           "--steps", "40", "--weight-decay", "0", "--eval-every", "1",
                                                           "--eval-data", scratch.path + "/heldout.jsonl", "--out", scratch.path + "/\(name)",
                                                           "--log", scratch.path + "/\(name).jsonl", scratch.path + "/pairs.jsonl"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("\(name) needs no reference model"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/\(name)/ref_logps.bin"))
        let lines = try logLines(scratch, "\(name).jsonl")
        #expect(lines.count == 40)
        let first = lines.first!["eval_rewards/accuracies"]?.double ?? 1, last = lines.last!["eval_rewards/accuracies"]?.double ?? 0
        #expect(first < 0.5 && last > 0.9, "\(name): held-out accuracy \(first) after step 1, \(last) after step 40")
        let fields = ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected", "nll_loss"]
            + (name == "orpo" ? ["log_odds_ratio", "log_odds_chosen"] : [])
        for key in fields { #expect(lines.last![key]?.double != nil && lines.last!["eval_" + key]?.double != nil, "\(key)") }
        let valid = try Tool.run("lathe", ["validate", "--kind", "train-log", scratch.path + "/\(name).jsonl"])
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
        let state = try JSONParser.parse(scratch.read("\(name)/checkpoint-40/trainer_state.json"))
        #expect(state["objective"]?.string == name)
        let before = try Planted.closingShare(scratch, checkpoint: scratch.path + "/sft/checkpoint-150", name: "sft")
        let share = try Planted.closingShare(scratch, checkpoint: scratch.path + "/\(name)/checkpoint-40", name: name)
        print("\(name): greedy held-out answers ending with the closing: SFT \(before), \(name) \(share)")
        #expect(before == 0)
        if name == "orpo" { #expect(share >= 0.8) }
    }

    @Test func optionsOfOneObjectiveAreRefusedForAnother() throws {
        for (arguments, message) in [(["--objective", "simpo", "--ref", "x"], "--ref applies to --objective dpo, grpo and ppo; simpo uses no reference model"),
                                     (["--objective", "orpo", "--loss", "ipo"], "--loss applies to --objective dpo"),
                                     (["--objective", "dpo", "--gamma", "1"], "--gamma applies to --objective simpo"),
                                     (["--objective", "orpo", "--label-smoothing", "0.1"], "--label-smoothing applies to --objective dpo and simpo")] {
            let result = try Tool.run("lathe-train", arguments + ["--tokenizer", "t.json", "p.jsonl"])
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}

@Suite("lathe-train preference bad input", .serialized) struct PreferenceBadInputTests {
    func dpo(_ scratch: Scratch, _ extra: [String]) throws -> Tool.Result {
        try Tool.run("lathe-train", ["--objective", "dpo", "--tokenizer", scratch.path + "/tok.json", "--config", scratch.path + "/config.json",
                                     "--seq-len", "64", "--batch-size", "2", "--steps", "1", "--out", scratch.path + "/out"] + extra)
    }

    func setUp(_ extraLines: String) throws -> Scratch {
        let scratch = Scratch()
        scratch.file("pairs.jsonl", Planted.pairs(0..<2) + extraLines)
        scratch.file("config.json", microConfig)
        let tok = try Tool.run("lathe-train", ["tokenizer", "--vocab-size", "300", "-o", scratch.path + "/tok.json", scratch.path + "/pairs.jsonl"])
        try #require(tok.status == 0, "\(tok.stderr)")
        return scratch
    }

    // Line 7: chosen equals rejected. Without --on-error skip the run stops naming it; with skip it is
    // counted, written to --rejects with its reason, and training goes on with the other six pairs.
    @Test func anIdenticalPairStopsTheRunOrIsCountedAndRejected() throws {
        let scratch = try setUp(#"{"id":"same","prompt":"Hi","chosen":"Yes.","rejected":"Yes."}"# + "\n")
        let stop = try dpo(scratch, [scratch.path + "/pairs.jsonl"])
        #expect(stop.status == 1 && stop.stderr.contains("pairs.jsonl:7: chosen equals rejected"), "\(stop.stderr)")
        let skip = try dpo(scratch, ["--on-error", "skip", "--rejects", scratch.path + "/rejects.jsonl", scratch.path + "/pairs.jsonl"])
        #expect(skip.status == 0, "\(skip.stderr)")
        #expect(skip.stderr.contains("7 in, 6 out, 1 dropped (identical_responses 1)"), "\(skip.stderr)")
        let rejected = try JSONParser.parse(String(scratch.read("rejects.jsonl").split(separator: "\n")[0]))
        #expect(rejected["id"]?.string == "same" && rejected["reason"]?.string == "identical_responses", "\(rejected)")
    }

    // A prompt that leaves no room in --seq-len for its responses: the record is named by file:line
    // and the sizes, or with skip counted as too_long.
    @Test func aPromptLongerThanTheContextIsNamedOrCounted() throws {
        let long = String(repeating: "Tell me about the apple and the river. ", count: 20)
        let scratch = try setUp(#"{"id":"long","prompt":"\#(long)","chosen":"Yes. Thanks for asking!","rejected":"Yes."}"# + "\n")
        let stop = try dpo(scratch, [scratch.path + "/pairs.jsonl"])
        #expect(stop.status == 1 && stop.stderr.contains("pairs.jsonl:7: prompt + chosen is") && stop.stderr.contains("--seq-len"), "\(stop.stderr)")
        let skip = try dpo(scratch, ["--on-error", "skip", scratch.path + "/pairs.jsonl"])
        #expect(skip.status == 0 && skip.stderr.contains("1 dropped (too_long 1)"), "\(skip.stderr)")
    }

    // Held-out pairs survive a resume: their reference log-probabilities come back from the cache the
    // trainer state names (the starting weights are gone), the resumed run's checkpoint equals an
    // uninterrupted one's, and without the cache resuming stops naming it.
    @Test func dpoWithEvalDataResumesBitForBit() throws {
        let scratch = try setUp("")
        scratch.file("heldout.jsonl", Planted.pairs(2..<4))
        let common = ["--eval-data", scratch.path + "/heldout.jsonl", "--eval-every", "2", "--steps", "4", "--seed", "3",
                      scratch.path + "/pairs.jsonl"]
        #expect(try dpo(scratch, common + ["--out", scratch.path + "/one"]).status == 0)
        #expect(try dpo(scratch, common + ["--out", scratch.path + "/two", "--save-every", "2"]).status == 0)
        try FileManager.default.removeItem(atPath: scratch.path + "/two/checkpoint-4")
        let resumed = try dpo(scratch, common + ["--out", scratch.path + "/two", "--resume", "--log", scratch.path + "/log.jsonl"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let lines = try scratch.read("log.jsonl").split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.count == 2 && lines[1]["eval_rewards/accuracies"]?.double != nil, "\(lines)")
        for file in ["model.safetensors", "optimizer.safetensors", "trainer_state.json"] {
            let a = FileManager.default.contents(atPath: scratch.path + "/one/checkpoint-4/" + file)
            let b = FileManager.default.contents(atPath: scratch.path + "/two/checkpoint-4/" + file)
            #expect(a != nil && a == b, "\(file) differs")
        }
        try FileManager.default.removeItem(atPath: scratch.path + "/two/checkpoint-4")
        try FileManager.default.removeItem(atPath: scratch.path + "/two/ref_logps_eval.bin")
        let lost = try dpo(scratch, common + ["--out", scratch.path + "/two", "--resume"])
        #expect(lost.status == 1 && lost.stderr.contains("ref_logps_eval.bin"), "\(lost.stderr)")
    }

    // A reward model (LlamaForSequenceClassification) where a causal LM is needed, as --init or --ref:
    // an error naming its config.json, before any training.
    @Test func aRewardModelGivenForTheLanguageModelIsRefused() throws {
        let scratch = try setUp("")
        let trained = try dpo(scratch, [scratch.path + "/pairs.jsonl"])
        try #require(trained.status == 0, "\(trained.stderr)")
        let rm = scratch.path + "/rm"
        try FileManager.default.copyItem(atPath: scratch.path + "/out/checkpoint-1", toPath: rm)
        let config = scratch.read("rm/config.json").replacingOccurrences(of: "LlamaForCausalLM", with: "LlamaForSequenceClassification")
        #expect(config.contains("LlamaForSequenceClassification"))
        scratch.file("rm/config.json", config)
        let expected = "rm/config.json: architectures is LlamaForSequenceClassification, a reward model"
        let asInit = try Tool.run("lathe-train", ["--objective", "sft", "--init", rm, "--steps", "1", "--out", scratch.path + "/a",
                                                  scratch.path + "/pairs.jsonl"])
        #expect(asInit.status == 1 && asInit.stderr.contains(expected) && asInit.stderr.contains("--init needs a causal language model"),
                "\(asInit.stderr)")
        let asRef = try dpo(scratch, ["--ref", rm, "--out", scratch.path + "/b", scratch.path + "/pairs.jsonl"])
        #expect(asRef.status == 1 && asRef.stderr.contains(expected) && asRef.stderr.contains("--ref needs a causal language model"),
                "\(asRef.stderr)")
    }
}
