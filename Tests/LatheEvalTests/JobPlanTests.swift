import Foundation
import Testing
import LatheEval
import LatheModel

@Suite("lathe-eval --jobs plan") struct JobPlanTests {
    @Test func checkpointsRunAtOnceOnlyAsMemoryAllows() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 1)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let refs = try (0..<4).map { CheckpointRef(path: try writeCheckpoint(params, tokenizer, to: dir + "/checkpoint-\($0)")) }
        let evaluator = Evaluator(sets: [], settings: EvalSettings(seqLen: 64))
        evaluator.batchSize = 4
        // By hand: weights + the forward's buffers for 4 x 64 (no bf16 copy, no caches).
        let each = 4 * LlamaParameters.layout(params.config).count
            + LlamaInference.bufferBytes(config: params.config, form: .fp32, maxBatch: 4, maxSeq: 64)
        func plan(_ requested: Int, available: Int?) -> JobPlan {
            JobPlan(requested: requested, refs: refs, evaluator: evaluator, caches: false, maxNewTokens: 0, available: available)
        }
        #expect(plan(3, available: 100 * each).perCheckpoint == each)
        #expect(plan(3, available: 100 * each).jobs == 3)
        #expect(plan(8, available: 100 * each).jobs == 4)
        #expect(plan(4, available: 3 * each).jobs == 2)      // 4/5 of 3 checkpoints' worth holds 2
        #expect(plan(4, available: 3 * each).description.hasPrefix("2 checkpoints at once (memory allows 2:"))
        #expect(plan(4, available: each / 2).jobs == 1)
        #expect(plan(4, available: nil).jobs == 1)
        evaluator.precision = .bf16
        #expect(plan(1, available: nil).perCheckpoint > each)
    }
}
