import Foundation
import LatheData
import LatheEval
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain
import Testing

/// A random tiny reward model (one-label score head) on `tokenizer`.
func tinyRewardModel(_ tokenizer: Tokenizer, seed: UInt64, path: String = "rm") -> LoadedCheckpoint {
    var config = tinyConfig(vocab: tokenizer.vocabSize)
    config.initializerRange = 0.3
    return LoadedCheckpoint(ref: CheckpointRef(path: path), params: LlamaParameters(config: config, seed: seed, head: .scalar),
                            tokenizer: tokenizer, tokenizerKey: tokenizer.jsonBytes())
}

/// The plain path: one sequence alone through the trunk, its score at the last token.
func plainReward(_ params: LlamaParameters, _ tokens: [Int32]) -> Double {
    Double(RewardModel(params: params, maxBatch: 1, maxSeq: tokens.count).forward([tokens])[0])
}

/// prompt + response as a chatml conversation through the response's <|im_end|>, the tokens a
/// reward model reads (the template's newline after it left out).
func chatTokens(_ tokenizer: Tokenizer, _ prompt: String, _ response: String) -> [Int32] {
    let tokens = ConversationTokens.encode([ChatMessage(role: "user", content: prompt), ChatMessage(role: "assistant", content: response)],
                                           template: .chatml, tokenizer: tokenizer).tokens
    let end = tokens.lastIndex(of: tokenizer.tokenToId("<|im_end|>")!)!
    return Array(tokens[...end])
}

private func metric(_ results: [EvalResult], _ task: String, _ name: String) -> EvalResult {
    results.first { $0.task.hasPrefix(task + ":") && $0.metric == name }!
}

@Suite("LatheEval reward, winrate and reward-model prefs against a plain path")
struct EvalRewardTests {
    let dir = temporaryDirectory()
    let prompts = ["the cat", "and the dog ate", "where sat the cat?", "answers are", "the bone", "mat", "dog and cat"]

    func promptSet() throws -> EvalSet {
        try EvalSet.load(path: writeLines(prompts.enumerated().map { #"{"id":"p\#($0.offset)","prompt":"\#($0.element)"}"# },
                                          "prompts.jsonl", in: dir))
    }

    @Test func responsesScoredWithoutTheGenerateTaskAreStillKept() throws {
        let tokenizer = try tinyTokenizer()
        let evaluator = Evaluator(sets: [try promptSet()], settings: EvalSettings())
        evaluator.sampling = SamplingOptions(temperature: 0, maxNewTokens: 4, seed: 3)
        evaluator.promptTasks = [.reward]
        evaluator.judge = try RewardJudge(tinyRewardModel(tokenizer, seed: 22), template: .chatml, batchSize: 3)
        let (results, generations) = try evaluator.evaluate(loaded(tinyParams(tokenizer, seed: 21), tokenizer, path: "policy"))
        #expect(generations.count == prompts.count)
        #expect(generations.allSatisfy { $0.reward != nil })
        #expect(!results.contains { $0.task.hasPrefix("generate") })
    }

    @Test func rewardMeanAndQuantilesOfTheGeneratedResponses() throws {
        let tokenizer = try tinyTokenizer()
        let policy = loaded(tinyParams(tokenizer, seed: 21), tokenizer, path: "policy")
        let rm = tinyRewardModel(tokenizer, seed: 22)
        let evaluator = Evaluator(sets: [try promptSet()], settings: EvalSettings())
        evaluator.sampling = SamplingOptions(temperature: 1, maxNewTokens: 6, seed: 3)
        evaluator.promptTasks = [.generate, .reward]
        evaluator.batchSize = 3
        evaluator.judge = try RewardJudge(rm, template: .chatml, batchSize: 3)
        let (results, generations) = try evaluator.evaluate(policy)

        let rewards = zip(prompts, generations).map { plainReward(rm.params, chatTokens(tokenizer, $0, $1.response)) }
        for (g, r) in zip(generations, rewards) { #expect(abs(g.reward! - r) < 1e-4) }
        let mean = rewards.reduce(0, +) / 7
        #expect(abs(metric(results, "reward", "mean").value - mean) < 1e-4)
        let sd = (rewards.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
        #expect(abs(metric(results, "reward", "mean").stderr! - sd / 7.0.squareRoot()) < 1e-4)
        // 7 values: p10 is at position 0.6, p50 at 3, p90 at 5.4 of the sorted rewards.
        let s = rewards.sorted()
        #expect(abs(metric(results, "reward", "p10").value - (s[0] + 0.6 * (s[1] - s[0]))) < 1e-4)
        #expect(abs(metric(results, "reward", "p50").value - s[3]) < 1e-4)
        #expect(abs(metric(results, "reward", "p90").value - (s[5] + 0.4 * (s[6] - s[5]))) < 1e-4)
        #expect(metric(results, "reward", "p90").stderr != nil)
        #expect(metric(results, "reward", "mean").settings!.hasSuffix("reward_model=rm dtype=fp32"))
        #expect(metric(results, "reward", "mean").task == "reward:prompts")
        #expect(results.contains { $0.task == "generate:prompts" && $0.metric == "response_tokens" })
    }

    @Test func winRateWithTiesAndItsLengthControlledVariant() throws {
        let tokenizer = try tinyTokenizer()
        let policy = loaded(tinyParams(tokenizer, seed: 31), tokenizer, path: "policy")
        let base = loaded(tinyParams(tokenizer, seed: 32), tokenizer, path: "base")
        let rm = tinyRewardModel(tokenizer, seed: 33)
        let set = try promptSet()
        let sampling = SamplingOptions(temperature: 1, maxNewTokens: 8, seed: 5)

        // The baseline's own responses, as the generate task makes them with the same options.
        let generator = Evaluator(sets: [set], settings: EvalSettings())
        generator.sampling = sampling
        let theirs = try generator.evaluate(base).generations.map(\.response)

        let evaluator = Evaluator(sets: [set], settings: EvalSettings())
        evaluator.sampling = sampling
        evaluator.promptTasks = [.generate, .winrate]
        evaluator.judge = try RewardJudge(rm, template: .chatml, batchSize: 4)
        evaluator.tieTolerance = 0.02
        try evaluator.setBaseline(base)
        #expect(evaluator.baseline!.responses[set.path] == theirs)
        let (results, generations) = try evaluator.evaluate(policy)
        let ours = generations.map(\.response)

        var judgements: [Double] = []
        for (p, (a, b)) in zip(prompts, zip(ours, theirs)) {
            let (ra, rb) = (plainReward(rm.params, chatTokens(tokenizer, p, a)), plainReward(rm.params, chatTokens(tokenizer, p, b)))
            judgements.append(abs(ra - rb) <= 0.02 ? 0.5 : ra > rb ? 1 : 0)
        }
        let rate = judgements.reduce(0, +) / 7
        #expect(abs(metric(results, "winrate", "win_rate").value - rate) < 1e-9)
        #expect(metric(results, "winrate", "tie_rate").value == Double(judgements.filter { $0 == 0.5 }.count) / 7)
        // Length control on the raw character differences: the scaling inside does not move σ(a).
        let diffs = zip(ours, theirs).map { Double($0.count - $1.count) }
        let fit = LogisticFit.fit(x: diffs, y: judgements)
        #expect(abs(metric(results, "winrate", "lc_win_rate").value - fit.probabilityAtZero) < 1e-6)
        #expect(metric(results, "winrate", "win_rate").settings!.contains("baseline=base tie_tolerance=0.02"))

        // The same baseline read back from its generation records gives the same rates.
        let file = dir + "/base-gens.jsonl"
        let records = try generator.evaluate(base).generations.map { JSONWriter.string($0.json) }
        try (records.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try evaluator.setBaseline(generationsFile: file)
        let again = try evaluator.evaluate(policy).results
        #expect(metric(again, "winrate", "win_rate").value == metric(results, "winrate", "win_rate").value)
        #expect(metric(again, "winrate", "win_rate").settings!.contains("baseline=base "))
    }

    @Test func aBaselineFileWithoutAResponseForEveryPromptIsAnErrorNamingIt() throws {
        let evaluator = Evaluator(sets: [try promptSet()], settings: EvalSettings())
        let file = writeLines([#"{"checkpoint":"base","set":"prompts","id":"p0","response":"x"}"#], "partial.jsonl", in: dir)
        #expect {
            try evaluator.setBaseline(generationsFile: file)
        } throws: { error in
            "\(error)".contains(file + ": no baseline response for prompt p1 of ")
        }
        let two = writeLines([#"{"checkpoint":"a","id":"p0","response":"x"}"#, #"{"checkpoint":"b","id":"p0","response":"y"}"#],
                             "two.jsonl", in: dir)
        #expect { try evaluator.setBaseline(generationsFile: two) } throws: { "\($0)".contains(two + ": holds the generations of 2 checkpoints") }
        let wrong = writeLines([#"{"id":"p0","text":"x"}"#], "wrong.jsonl", in: dir)
        #expect { try evaluator.setBaseline(generationsFile: wrong) } throws: {
            "\($0)".contains(wrong + ":1:") && "\($0)".contains("expected a generation record")
        }
    }

    @Test func aRewardModelCheckpointIsScoredOnPreferencePairs() throws {
        let tokenizer = try tinyTokenizer()
        let rm = tinyRewardModel(tokenizer, seed: 41)
        let pairs = [("the cat", "sat on the mat", "ate the bone"), ("the dog", "ate the bone", "sat"),
                     ("answers", "are short", "are long and the dog sat on the cat"), ("mat", "cat", "dog")]
        let path = writeLines(pairs.map { #"{"prompt":"\#($0.0)","chosen":"\#($0.1)","rejected":"\#($0.2)"}"# }, "pairs.jsonl", in: dir)
        let evaluator = Evaluator(sets: [try EvalSet.load(path: path), try promptSet()], settings: EvalSettings())
        let results = try evaluator.evaluate(rm).results
        let margins = pairs.map { p, c, r in plainReward(rm.params, chatTokens(tokenizer, p, c)) - plainReward(rm.params, chatTokens(tokenizer, p, r)) }
        #expect(metric(results, "prefs", "accuracy").value == Double(margins.filter { $0 > 0 }.count) / 4)
        #expect(abs(metric(results, "prefs", "margin").value - margins.reduce(0, +) / 4) < 1e-4)
        #expect(results.count == 2)   // the prompt set is not for a reward model
        #expect(evaluator.notes.contains { $0.contains("rm is a reward model") })
    }

    @Test func aPolicyIsNotAJudgeNorARewardModelAPolicy() throws {
        let tokenizer = try tinyTokenizer()
        #expect { try RewardJudge(loaded(tinyParams(tokenizer, seed: 1), tokenizer, path: "lm"), template: .chatml, batchSize: 1) }
            throws: { "\($0)".contains("lm: not a reward model (LlamaForCausalLM)") }
        let rm = tinyRewardModel(tokenizer, seed: 2)
        #expect { try Responses.generate(rm, prompts: [[1]], options: .greedy, slots: 1, source: "x") }
            throws: { "\($0)".contains("rm: a reward model (LlamaForSequenceClassification) cannot generate") }
    }

    @Test func onPolicyCandidatesAreSeededPerPromptAndScored() throws {
        let tokenizer = try tinyTokenizer()
        let policy = loaded(tinyParams(tokenizer, seed: 51), tokenizer, path: "policy")
        let rm = tinyRewardModel(tokenizer, seed: 52)
        let sampler = try OnPolicySampler(policy: policy, judge: try RewardJudge(rm, template: .chatml, batchSize: 4), template: .chatml,
                                          samples: 4, sampling: SamplingOptions(temperature: 1, maxNewTokens: 6, seed: 9))
        let a = try sampler.candidates(id: "x", prompt: "the cat", index: 2)
        #expect(a == (try sampler.candidates(id: "x", prompt: "the cat", index: 2)))
        #expect(a != (try sampler.candidates(id: "x", prompt: "the cat", index: 3)))
        let responses = a["responses"]!.array!
        #expect(responses.count == 4)
        for r in responses {
            let expected = plainReward(rm.params, chatTokens(tokenizer, "the cat", r["content"]!.string!))
            #expect(abs(r["score"]!.double! - expected) < 1e-4)
        }
    }
}
