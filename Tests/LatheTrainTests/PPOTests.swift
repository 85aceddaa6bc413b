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
}
