import Foundation
import Testing
import LatheModel
import LatheTensor

@Suite("LlamaInference") struct InferenceTests {
    /// vocab 5000 (three lm_head blocks of 2048), 4 rows of 100 with padding (more wanted rows
    /// than one lm_head tile of 256), grouped-query heads.
    static func config(tied: Bool) -> LlamaConfig {
        var config = LlamaConfig(vocabSize: 5000, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 128, tieWordEmbeddings: tied)
        config.initializerRange = 0.2
        return config
    }

    static let (batch, seq) = (4, 100)
    static let lengths = [100, 97, 90, 60]

    /// Tokens (B,T), segments with -1 after each row's length, and targets: the next token, -100
    /// at each row's last position, on padding, and at every seventh position.
    static func inputs(vocab: Int) -> (tokens: [Int32], segments: [Int32], targets: [Int32]) {
        var rng = SplitMix64(seed: 3)
        var tokens = [Int32](), segments = [Int32](), targets = [Int32]()
        for length in lengths {
            let row = (0..<seq).map { _ in Int32(rng.next() % UInt64(vocab)) }
            tokens += row
            segments += (0..<seq).map { $0 < length ? 0 : -1 }
            targets += (0..<seq).map { j in j + 1 < length && j % 7 != 6 ? row[j + 1] : -100 }
        }
        return (tokens, segments, targets)
    }

    @Test(arguments: [true, false]) func logProbsEqualTheTrainingForward(tied: Bool) {
        let config = Self.config(tied: tied)
        let params = LlamaParameters(config: config, seed: 11)
        let (tokens, segments, targets) = Self.inputs(vocab: config.vocabSize)
        let n = Self.batch * Self.seq

        let training = Llama(params: params, maxBatch: Self.batch, maxSeq: Self.seq)
        training.forward(tokens: tokens, segments: segments, batch: Self.batch, seq: Self.seq)
        training.crossEntropy(targets: targets)

        let inference = LlamaInference(weights: InferenceWeights(params, precision: .fp32), maxBatch: Self.batch, maxSeq: Self.seq)
        var logp = [Float](repeating: .nan, count: n)
        inference.logProbs(tokens: tokens, segments: segments, targets: targets, batch: Self.batch, seq: Self.seq, into: &logp)
        var worst: Float = 0
        for j in 0..<n {
            if targets[j] < 0 {
                #expect(logp[j] == 0)
            } else {
                worst = max(worst, abs(logp[j] + training.acts.losses[j]))
            }
        }
        #expect(worst <= 1e-5, "largest difference from the training forward \(worst)")
        #expect(targets.filter { $0 >= 0 }.count > 256)
    }

    @Test func bf16WeightsScoreWithinOneHundredthOfFP32() {
        let config = Self.config(tied: true)
        let params = LlamaParameters(config: config, seed: 12)
        let (tokens, segments, targets) = Self.inputs(vocab: config.vocabSize)
        let n = Self.batch * Self.seq
        func run(_ precision: MatmulPrecision) -> [Float] {
            let model = LlamaInference(weights: InferenceWeights(params, precision: precision), maxBatch: Self.batch, maxSeq: Self.seq)
            var logp = [Float](repeating: .nan, count: n)
            model.logProbs(tokens: tokens, segments: segments, targets: targets, batch: Self.batch, seq: Self.seq, into: &logp)
            return logp
        }
        // Matrices of std 0.2 make log-probs of about −10 to −30: bf16's relative 2⁻⁹ moves single
        // tokens by up to a few hundredths, and a score (a mean or sum over tokens) by far less.
        let fp32 = run(.fp32), bf16 = run(.bf16)
        let wanted = targets.indices.filter { targets[$0] >= 0 }
        let meanShift = wanted.map { Double(bf16[$0] - fp32[$0]) }.reduce(0, +) / Double(wanted.count)
        let meanAbs = wanted.map { Double(abs(bf16[$0] - fp32[$0])) }.reduce(0, +) / Double(wanted.count)
        #expect(abs(meanShift) <= 1e-2, "mean log p moved by \(meanShift)")
        #expect(meanAbs <= 1e-2, "mean |Δ log p| per token \(meanAbs)")
        #expect(meanAbs > 0, "bf16 weights must actually be rounded")
        #expect(InferenceWeights(params, precision: .bf16).bytes < params.arena.count * 4 / 2 + 4096)
    }

    @Test func bf16PackRoundsLikeTheReferenceAndUnpacksExactly() {
        var rng = SplitMix64(seed: 4)
        var values = (0..<3000).map { _ in Float(rng.nextGaussian()) * 1e3 }
        values += [0, -0, 1, -1, .infinity, -.infinity, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000)]
        var packed = [UInt16](repeating: 0, count: values.count), back = [Float](repeating: 0, count: values.count)
        BFloat16.pack(&packed, values, count: values.count)
        BFloat16.unpack(&back, packed, count: values.count)
        for (x, y) in zip(values, back) { #expect(y.bitPattern == BFloat16.Reference.round(x).bitPattern, "\(x)") }
        var nan = [Float.nan], one: [UInt16] = [0], again: [Float] = [0]
        BFloat16.pack(&one, &nan, count: 1)
        BFloat16.unpack(&again, one, count: 1)
        #expect(again[0].isNaN)
    }
}
