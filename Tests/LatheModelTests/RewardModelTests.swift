import Testing
import LatheModel
import LatheTensor

@Suite("RewardModel") struct RewardModelTests {
    // Three sequences of different lengths in one right-padded batch.
    static let sequences: [[Int32]] = [[3, 7, 1, 10, 4], [2, 9, 5], [8, 0, 6, 6]]
    static let weights: [Double] = [0.7, -1.3, 0.4]

    static func roughRewardParameters(tied: Bool, seed: UInt64) -> LlamaParameters {
        let config = microConfig(tied: tied)
        let params = LlamaParameters(zerosFor: config, head: .scalar)
        _ = params.flat.update(from: LlamaParameters(config: config, seed: 0, head: .scalar).flat)
        let rough = roughParameters(config, seed: seed)
        for view in params.views where view.name != "score.weight" { _ = params[view.name].update(from: rough[view.name]) }
        let score = GradientCheck.randomNormal(config.hiddenSize, seed: seed + 100, scale: 0.5)
        for j in score.indices { params["score.weight"][j] = Float(score[j]) }
        return params
    }

    /// Σ_b w_b · r_b with each sequence run alone through the Double reference.
    static func referenceLoss(_ reference: ReferenceLlama) -> Double {
        zip(sequences, weights).map { sequence, w in
            let t = sequence.count
            let scores = reference.logits(tokens: sequence, segments: .init(repeating: 0, count: t),
                                          positions: (0..<Int32(t)).map { $0 }, batch: 1, seq: t)
            return w * scores[t - 1]
        }.reduce(0, +)
    }

    @Test func scoreHeadReplacesLanguageModelHead() {
        let layout = LlamaParameters.layout(microConfig(tied: false), head: .scalar)
        let names = layout.views.map(\.name)
        #expect(names.last == "score.weight" && !names.contains("lm_head.weight"))
        #expect(layout.views.last?.shape == [1, 8])
        #expect(LlamaParameters.layout(microConfig(tied: true), head: .scalar).views.last?.name == "score.weight")
        #expect(OutputHead.scalar.architecture == "LlamaForSequenceClassification")
    }

    // Rewards at the last real token against the reference run on each sequence alone, and
    // the gradient of Σ w_b r_b for every parameter against central differences.
    @Test(arguments: [false, true]) func rewardGradientMatchesFiniteDifferences(tied: Bool) {
        let params = Self.roughRewardParameters(tied: tied, seed: tied ? 12 : 11)
        let model = RewardModel(params: params, maxBatch: 3, maxSeq: 6)
        let rewards = model.forward(Self.sequences)
        var reference = ReferenceLlama(params)
        for (b, sequence) in Self.sequences.enumerated() {
            let t = sequence.count
            let alone = reference.logits(tokens: sequence, segments: .init(repeating: 0, count: t),
                                         positions: (0..<Int32(t)).map { $0 }, batch: 1, seq: t)
            #expect(abs(Double(rewards[b]) - alone[t - 1]) < 1e-5 * max(1, abs(alone[t - 1])), "sequence \(b)")
        }
        model.model.zeroGradients()
        model.backward(rewardGradients: Self.weights.map(Float.init))
        for view in params.views {
            let numeric = GradientCheck.numericGradient(reference.weights[view.name]!) { values in
                reference.weights[view.name] = values
                return Self.referenceLoss(reference)
            }
            let analytic = model.grads[view.name].map { Double($0) }
            let error = GradientCheck.relativeError(analytic, numeric)
            #expect(error < 1e-4, "\(view.name): relative error \(error)")
        }
    }

    // The value-model reading: a loss on every position's value, backward through the trunk.
    @Test func valueGradientMatchesFiniteDifferences() {
        let params = Self.roughRewardParameters(tied: false, seed: 13)
        let model = RewardModel(params: params, maxBatch: 1, maxSeq: 5)
        let tokens: [Int32] = [3, 7, 1, 10, 4], positions: [Int32] = [0, 1, 2, 3, 4]
        let segments = [Int32](repeating: 0, count: 5)
        let w = GradientCheck.randomNormal(5, seed: 14)
        let values = Array(model.values(tokens: tokens, batch: 1, seq: 5))
        var reference = ReferenceLlama(params)
        let expected = reference.logits(tokens: tokens, segments: segments, positions: positions, batch: 1, seq: 5)
        #expect(GradientCheck.relativeError(values.map(Double.init), expected) < 1e-5)
        model.model.zeroGradients()
        model.backward(valueGradients: w.map(Float.init))
        for name in ["score.weight", "model.layers.0.self_attn.q_proj.weight", "model.embed_tokens.weight"] {
            let numeric = GradientCheck.numericGradient(reference.weights[name]!) { x in
                reference.weights[name] = x
                let v = reference.logits(tokens: tokens, segments: segments, positions: positions, batch: 1, seq: 5)
                return zip(v, w).map(*).reduce(0, +)
            }
            let error = GradientCheck.relativeError(model.grads[name].map(Double.init), numeric)
            #expect(error < 1e-4, "\(name): relative error \(error)")
        }
    }

    // Batching by length must not change a score beyond float rounding.
    @Test func rewardsDoNotDependOnBatching() {
        let params = Self.roughRewardParameters(tied: false, seed: 15)
        let sequences: [[Int32]] = [[1], [4, 5, 6, 7, 8, 9], [2, 3], [10, 10, 10], [7, 7, 1, 2], [5]]
        let alone = RewardModel(params: params, maxBatch: 1, maxSeq: 6)
        let expected = sequences.map { alone.forward([$0])[0] }
        for maxBatch in [2, 4, 6] {
            let got = RewardModel(params: params, maxBatch: maxBatch, maxSeq: 6).rewards(sequences)
            let error = GradientCheck.relativeError(got.map(Double.init), expected.map(Double.init))
            #expect(error < 1e-5, "batch \(maxBatch): \(got) vs \(expected)")
        }
    }
}
