import Foundation
import Testing
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
@testable import LatheTrain

@Suite("PPO") struct PPOTests {
    static func value(seed: UInt64, rows: Int) -> RewardModel {
        let config = DPOTests.tinyModel(seed: 0, rows: 1, seq: 8).config
        return RewardModel(config: config, maxBatch: rows, maxSeq: 48, seed: seed)
    }

    // The toy task of GRPOTests (the share of lowercase letters, about 0.1 from a fresh model), one
    // response per prompt, the value model a fresh scalar-head trunk, KL coefficient 0.04. KL is summed over
    // a response's ≤ 8 tokens; spreading all mass evenly over the 26 letters would cost 8·log 10 = 18.4 nats.
    // Measured: score 0.10 over the first 5 steps, 0.54 over the last 5, KL at most 9.7 (with coefficient
    // 0.02 the score reached 0.83 at KL 16; with 0.1 it stayed at 0.16, KL 2.3).
    @Test func meanScoreRisesWhileKLStaysBounded() throws {
        let data = try GRPOTests.prompts(8)
        var settings = GRPOTests.settings(steps: 40, lr: 1e-2)
        settings.batchSize = 16
        var ppo = PPOSettings()
        ppo.maxNewTokens = 8
        ppo.klCoef = 0.04
        ppo.epochs = 4
        ppo.miniBatches = 2
        let trainer = PPOTrainer(policy: DPOTests.tinyModel(seed: 5, rows: 8, seq: 48), reference: DPOTests.tinyModel(seed: 5, rows: 8, seq: 48),
                                 value: Self.value(seed: 6, rows: 8), tokenizer: try byteTokenizer(), data: data, reward: LowercaseShare(),
                                 endOfTurn: 2, settings: settings, ppo: ppo, seqLen: 48)
        var scores: [Double] = [], kls: [Double] = []
        for step in 0..<40 {
            let m = Dictionary(uniqueKeysWithValues: try trainer.trainStep().metrics.map { ($0.name, $0.value) })
            scores.append(m["objective/scores"]!)
            kls.append(m["objective/kl"]!)
            if step == 0 {
                // Rollout-time log-probabilities are the policy's own: the first update starts at ratio 1.
                for key in ["objective/entropy", "policy/approxkl", "policy/clipfrac", "val/loss", "completions/mean_length"] {
                    #expect(m[key] != nil, "\(key)")
                }
                #expect(abs(m["objective/kl"]!) < 1e-9)  // the reference is the starting policy
            }
        }
        let first = scores.prefix(5).reduce(0, +) / 5, last = scores.suffix(5).reduce(0, +) / 5
        print("PPO score first 5 steps \(first), last 5 \(last); KL max \(kls.max()!)")
        #expect(first < 0.25)
        #expect(last > first + 0.3)
        #expect(kls.allSatisfy { $0 < 8 * log(10) })
    }

    /// A reward of 0 for every response.
    struct Zero: RewardFunction {
        func rewards(_ rollouts: [Rollout]) throws -> [Double] { rollouts.map { _ in 0 } }
    }

    // With at most 2 new tokens a fresh model (end of turn 1 in 260) almost never closes its turn, so every
    // response that ran out of tokens scores −penalty; with --target-kl the coefficient moves after the step.
    @Test func missingEndOfTurnIsPenalisedAndTheKLCoefficientAdapts() throws {
        let data = try GRPOTests.prompts(4)
        var settings = GRPOTests.settings(steps: 2, lr: 1e-2)
        settings.batchSize = 4
        var ppo = PPOSettings()
        ppo.maxNewTokens = 2
        ppo.missingEOSPenalty = 1.5
        ppo.targetKL = 0.5
        ppo.klCoef = 0.1
        let trainer = PPOTrainer(policy: DPOTests.tinyModel(seed: 5, rows: 4, seq: 48), reference: DPOTests.tinyModel(seed: 5, rows: 4, seq: 48),
                                 value: Self.value(seed: 6, rows: 4), tokenizer: try byteTokenizer(), data: data, reward: Zero(),
                                 endOfTurn: 2, settings: settings, ppo: ppo, seqLen: 48)
        let m = Dictionary(uniqueKeysWithValues: try trainer.trainStep().metrics.map { ($0.name, $0.value) })
        let missing = m["completions/missing_eos"]!
        #expect(missing > 0 && abs(m["objective/scores"]! + 1.5 * missing) < 1e-12)
        // KL 0 at the first step, below the target: e = −1 clipped to −0.2, β ← 0.1·(1 − 0.2·4/10000).
        #expect(m["kl_coef"] == 0.1 && abs(trainer.kl.value - 0.1 * (1 - 0.2 * 4 / 10_000)) < 1e-15)
    }

    // Same tokenizer: the policy's own tokens. Re-tokenised: the prompt turns and the decoded text rendered
    // again, through the end of turn when the response closed its turn, without it when it was cut.
    @Test func rewardModelScorerReadsWhatRewardTrainingRead() throws {
        let tokenizer = try byteTokenizer()
        let prompt = Prompt(messages: [ChatMessage(role: "user", content: "Hi")], tokens: PromptData.encode([ChatMessage(role: "user", content: "Hi")],
                            template: .chatml, tokenizer: tokenizer), name: "p")
        let response = tokenizer.encode("Yes", addSpecialTokens: false) + [2]
        let rollout = Rollout(prompt: prompt, response: response, text: "Yes", finished: true)
        let model = Self.value(seed: 1, rows: 2)
        let same = try RewardModelScorer(model: model, tokenizer: tokenizer, template: .chatml, retokenize: false)
        let again = try RewardModelScorer(model: model, tokenizer: tokenizer, template: .chatml, retokenize: true)
        #expect(same.sequence(rollout) == prompt.tokens + response)
        #expect(again.sequence(rollout) == prompt.tokens + response)
        var cut = rollout
        cut.response.removeLast()
        cut.finished = false
        #expect(again.sequence(cut) == prompt.tokens + cut.response)
        let scores = try same.rewards([rollout, cut])
        #expect(scores.count == 2 && scores[0] != scores[1])
    }
}
