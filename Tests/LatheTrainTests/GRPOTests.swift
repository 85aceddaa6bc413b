import Foundation
import Testing
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
@testable import LatheTrain

/// A toy task's rule: the share of a response's tokens that are lowercase ASCII letters (ids 4 + byte
/// under the byte tokenizer), the end of turn left out. A fresh 260-token model scores about 26/260.
struct LowercaseShare: RewardFunction {
    func rewards(_ rollouts: [Rollout]) throws -> [Double] {
        rollouts.map { r in
            let body = r.response.filter { $0 != 2 }
            return body.isEmpty ? 0 : Double(body.filter { $0 >= 4 + 97 && $0 <= 4 + 122 }.count) / Double(body.count)
        }
    }
}

@Suite("GRPO") struct GRPOTests {
    static func prompts(_ count: Int, seqLen: Int = 48, maxNew: Int = 8) throws -> PromptData {
        let path = writeLines((0..<count).map { #"{"id":"q\#($0)","prompt":"Q\#($0)?"}"# })
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try PromptData(paths: [path], tokenizer: try byteTokenizer(), template: .chatml, maxPromptTokens: seqLen - maxNew)
    }

    static func settings(steps: Int, lr: Double = 1e-2) -> TrainSettings {
        var s = TrainSettings()
        s.batchSize = 4
        s.lr = lr
        s.schedule = .constant
        s.weightDecay = 0
        s.steps = steps
        s.seed = 7
        return s
    }

    @Test func promptsRenderUpToTheAssistantsTurn() throws {
        let data = try Self.prompts(2)
        // <|im_start|>user\nQ0?<|im_end|>\n<|im_start|>assistant\n: 1 + 5 + 3 + 1 + 1 + 1 + 10 tokens.
        #expect(data.prompts[0].tokens.count == 22 && data.prompts[0].tokens.first == 1 && data.prompts[0].name == "q0")
        #expect(data.prompts[0].tokens.suffix(10) == ArraySlice("assistant\n".utf8.map { Int32($0) + 4 }))
    }

    // On a fresh tiny model the letters' share starts near 0.1 (measured: 0.10 over the first 5 steps, 0.63
    // over the last 5). With β = 0.04 and k3 the per-token KL to the near-uniform reference stays under
    // log(260/26) = 2.3 nats, what spreading all the mass evenly over the 26 letters would cost (measured
    // max 1.23); collapsing onto one token would cost log 260 = 5.6.
    @Test func meanRewardRisesWhileKLStaysBounded() throws {
        let data = try Self.prompts(4)
        let model = DPOTests.tinyModel(seed: 5, rows: 8, seq: 48)
        let reference = DPOTests.tinyModel(seed: 5, rows: 8, seq: 48)
        var grpo = GRPOSettings()
        grpo.maxNewTokens = 8
        grpo.beta = 0.04
        let steps = 30
        let trainer = GRPOTrainer(model: model, reference: reference, tokenizer: try byteTokenizer(), data: data, reward: LowercaseShare(),
                                  endOfTurn: 2, settings: Self.settings(steps: steps), grpo: grpo, seqLen: 48)
        var rewards: [Double] = [], kls: [Double] = []
        for _ in 0..<steps {
            let m = Dictionary(uniqueKeysWithValues: try trainer.trainStep().metrics.map { ($0.name, $0.value) })
            rewards.append(m["reward"]!)
            kls.append(m["kl"]!)
            #expect(m["clip_ratio"] == 0)  // one update per batch: the ratio is 1 at every token
        }
        let first = rewards.prefix(5).reduce(0, +) / 5, last = rewards.suffix(5).reduce(0, +) / 5
        print("GRPO reward first 5 steps \(first), last 5 \(last); KL max \(kls.max()!)")
        #expect(first < 0.25)
        #expect(last > first + 0.3)
        #expect(kls.allSatisfy { $0 >= 0 && $0 < log(10) })
    }
}
