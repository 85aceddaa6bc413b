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

    /// How the rows of a batch hold their sequences (the forward attends without a mask to rows of
    /// one sequence and padding, and with one otherwise).
    enum Rows: CaseIterable { case padded, full, packed }

    /// Tokens (B,T), segments with -1 after each row's length, and targets: the next token, -100
    /// at each row's last position, on padding, and at every seventh position. `.full`: no
    /// padding; `.packed`: the second row holds a second document from position 40.
    static func inputs(vocab: Int, rows: Rows = .padded) -> (tokens: [Int32], segments: [Int32], targets: [Int32]) {
        var rng = SplitMix64(seed: 3)
        var tokens = [Int32](), segments = [Int32](), targets = [Int32]()
        for (r, length) in (rows == .full ? lengths.map { _ in seq } : lengths).enumerated() {
            let row = (0..<seq).map { _ in Int32(rng.next() % UInt64(vocab)) }
            tokens += row
            segments += (0..<seq).map { $0 >= length ? -1 : rows == .packed && r == 1 && $0 >= 40 ? 1 : 0 }
            targets += (0..<seq).map { j in j + 1 < length && j % 7 != 6 ? row[j + 1] : -100 }
        }
        return (tokens, segments, targets)
    }

    @Test(arguments: [true, false], Rows.allCases) func logProbsEqualTheTrainingForward(tied: Bool, rows: Rows) {
        let config = Self.config(tied: tied)
        let params = LlamaParameters(config: config, seed: 11)
        let (tokens, segments, targets) = Self.inputs(vocab: config.vocabSize, rows: rows)
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

    /// The bf16 forms this machine runs: widened everywhere, tiles where the CPU has AMX.
    static let bf16Forms: [InferenceWeights.Form] = [.bf16Widened] + (BF16Matmul.usesAMX ? [.bf16Tiles] : [])

    /// log p of every position of `inputs` (0 where no target) through weights in `form`.
    static func logProbs(_ weights: InferenceWeights) -> [Float] {
        let (tokens, segments, targets) = inputs(vocab: weights.config.vocabSize)
        let model = LlamaInference(weights: weights, maxBatch: batch, maxSeq: seq)
        var logp = [Float](repeating: .nan, count: batch * seq)
        model.logProbs(tokens: tokens, segments: segments, targets: targets, batch: batch, seq: seq, into: &logp)
        return logp
    }

    /// Mean signed and mean absolute difference of a from b over the wanted positions.
    static func shift(_ a: [Float], from b: [Float], vocab: Int) -> (mean: Double, meanAbs: Double, max: Double) {
        let targets = inputs(vocab: vocab).targets
        let d = targets.indices.filter { targets[$0] >= 0 }.map { Double(a[$0] - b[$0]) }
        return (d.reduce(0, +) / Double(d.count), d.map(abs).reduce(0, +) / Double(d.count), d.map(abs).max()!)
    }

    @Test(arguments: bf16Forms) func bf16WeightsScoreWithinOneHundredthOfFP32(form: InferenceWeights.Form) {
        let config = Self.config(tied: true)
        let params = LlamaParameters(config: config, seed: 12)
        // Matrices of std 0.2 make log-probs of about −10 to −30: bf16's relative 2⁻⁹ moves single
        // tokens by up to a few hundredths (measured: 0.007 on average with the weights rounded,
        // 0.010 with the activations too), and a score (a mean or sum over tokens) by far less,
        // as the movements have both signs: the 1e-2 is for scores.
        let fp32 = Self.logProbs(InferenceWeights(params, form: .fp32))
        let bf16 = Self.logProbs(InferenceWeights(params, form: form))
        let d = Self.shift(bf16, from: fp32, vocab: config.vocabSize)
        #expect(abs(d.mean) <= 1e-2, "mean log p moved by \(d.mean)")
        #expect(d.meanAbs <= 2e-2, "mean |Δ log p| per token \(d.meanAbs)")
        #expect(d.meanAbs > 0, "bf16 weights must actually be rounded")
    }

    // The same rounded weights on both paths; tiles also round each activation entering a product
    // (relative 2⁻⁹, as the weights are), so they move log p about as far again as rounding the
    // weights did, and no further: a product on the wrong rows or columns would move it by units.
    @Test(.enabled(if: BF16Matmul.usesAMX), arguments: [true, false])
    func tilesAgreeWithTheWidenedPath(tied: Bool) {
        let config = Self.config(tied: tied)
        let params = LlamaParameters(config: config, seed: 13)
        let fp32 = Self.logProbs(InferenceWeights(params, form: .fp32))
        let widened = Self.logProbs(InferenceWeights(params, form: .bf16Widened))
        let tiles = Self.logProbs(InferenceWeights(params, form: .bf16Tiles))
        let weightsOnly = Self.shift(widened, from: fp32, vocab: config.vocabSize)
        let activations = Self.shift(tiles, from: widened, vocab: config.vocabSize)
        #expect(activations.meanAbs > 0, "tiles round the activations too")
        #expect(activations.meanAbs <= 2 * weightsOnly.meanAbs && activations.meanAbs <= 1e-2,
                "tiles vs widened \(activations), widened vs fp32 \(weightsOnly)")
        #expect(abs(activations.mean) <= 1e-2 && activations.max <= 0.1, "\(activations)")
    }

    @Test(arguments: [InferenceWeights.Form.fp32] + bf16Forms) func heldBytesAreWhatTheEstimateSays(form: InferenceWeights.Form) {
        for tied in [true, false] {
            let config = Self.config(tied: tied)
            let weights = InferenceWeights(LlamaParameters(config: config, seed: 14), form: form)
            #expect(weights.bytes == InferenceWeights.bytes(config: config, form: form))
        }
        // By hand for tied weights (C 32, NH·hs 32, NKV·hs 16, I 48, V 5000, 2 layers); a packed
        // (in, out) matrix holds in and out each rounded up to 32, two bytes an element.
        let perLayer = 4 * 32 * 32 + 3 * 32 * 64           // q, k, v, o; gate, up, down
        let head = 32 * 5024, embedding = 5000 * 32, norms = (2 * 2 + 1) * 32
        let expected: [InferenceWeights.Form: Int] = [
            .fp32: 0,
            .bf16Widened: 2 * LlamaParameters.layout(Self.config(tied: true)).count + 4 * norms,
            .bf16Tiles: 2 * (2 * perLayer + head + embedding) + 4 * norms,
        ]
        #expect(InferenceWeights.bytes(config: Self.config(tied: true), form: form) == expected[form])
    }

    // Greedy generation on bf16 weights: each generated token's log p equals the scoring forward's
    // over the whole sequence on the same weights, to float rounding. The first comes from the
    // prefill (the same products and attention kernel); later ones pass through cached attention,
    // whose sums run in another order (measured: at most 2.3e-6 apart).
    @Test(arguments: bf16Forms) func generationOnBF16WeightsScoresAsTheForwardDoes(form: InferenceWeights.Form) throws {
        let config = Self.config(tied: false)
        let weights = InferenceWeights(LlamaParameters(config: config, seed: 15), form: form)
        let long: [Int32] = (0..<12).map { Int32(($0 * 397 + 11) % config.vocabSize) }
        let prompts = [long, Array(long.prefix(5))]
        let made = try Generator(weights: weights, slots: 2, capacity: 40)
            .generate(prompts: prompts, options: .init(temperature: 0, maxNewTokens: 20))
        let scorer = LlamaInference(weights: weights, maxBatch: 1, maxSeq: 40)
        for (prompt, g) in zip(prompts, made) {
            #expect(g.tokens.count == 20)
            let all = prompt + g.tokens, inputs = Array(all.dropLast())
            let targets = inputs.indices.map { $0 + 1 >= prompt.count ? all[$0 + 1] : -1 }
            var logp = [Float](repeating: .nan, count: inputs.count)
            scorer.logProbs(tokens: inputs, targets: targets, batch: 1, seq: inputs.count, into: &logp)
            let d = g.logProbabilities.enumerated().map { abs($0.element - Double(logp[prompt.count - 1 + $0.offset])) }
            #expect(d.max()! <= 1e-4, "\(d)")
        }
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
