import Foundation
import Testing
import LatheModel
import LatheTensor

/// vocab 11, d 8, 2 layers, 2 query heads sharing 1 kv head of 4 dims, MLP width 12.
func microConfig(tied: Bool) -> LlamaConfig {
    LlamaConfig(vocabSize: 11, hiddenSize: 8, intermediateSize: 12, numHiddenLayers: 2, numAttentionHeads: 2,
                numKeyValueHeads: 1, ropeTheta: 10_000, maxPositionEmbeddings: 16, tieWordEmbeddings: tied)
}

/// Parameters large enough (matrices std 0.5, norm weights 1 ± 0.3) that every layer bends the loss.
func roughParameters(_ config: LlamaConfig, seed: UInt64) -> LlamaParameters {
    let params = LlamaParameters(zerosFor: config)
    var rng = SplitMix64(seed: seed)
    for view in params.views {
        let values = params[view.name]
        for j in values.indices {
            values[j] = Float(view.shape.count == 1 ? 1 + 0.3 * rng.nextGaussian() : 0.5 * rng.nextGaussian())
        }
    }
    return params
}

extension UnsafeMutablePointer<Float> {
    func doubles(_ count: Int) -> [Double] { (0..<count).map { Double(self[$0]) } }
}

@Suite("Llama") struct LlamaTests {
    // Two rows of five: row 0 packs documents [0,0] and [1,1,1]; row 1 is one document and a pad.
    static let tokens: [Int32] = [3, 7, 1, 10, 4, 2, 2, 9, 5, 0]
    static let segments: [Int32] = [0, 0, 1, 1, 1, 0, 0, 0, 0, -1]
    static let positions: [Int32] = [0, 1, 0, 1, 2, 0, 1, 2, 3, 0]
    // Next-token targets within each document; the end of document 0 and the pad have none
    // (−100), and position 6 is masked out by weight 0.
    static let targets: [Int32] = [7, -100, 10, 4, 6, 2, 9, 5, -100, -100]
    static let mask: [Float] = [1, 1, 1, 1, 1, 1, 0, 1, 1, 1]

    @Test func positionsRestartAtEverySegmentBoundary() {
        var positions = [Int32](repeating: -1, count: 10)
        Llama.positions(segments: Self.segments, batch: 2, seq: 5, into: &positions)
        #expect(positions == Self.positions)
    }

    // The fast model's logits against the Double reference, and its gradient for every
    // parameter against central differences of the reference loss.
    @Test(arguments: [false, true]) func gradientMatchesFiniteDifferences(tied: Bool) {
        let config = microConfig(tied: tied)
        let params = roughParameters(config, seed: tied ? 2 : 1)
        let model = Llama(params: params, maxBatch: 2, maxSeq: 5)
        model.forward(tokens: Self.tokens, segments: Self.segments, batch: 2, seq: 5)
        var reference = ReferenceLlama(params)
        let expectedLogits = reference.logits(tokens: Self.tokens, segments: Self.segments, positions: Self.positions,
                                              batch: 2, seq: 5)
        #expect(GradientCheck.relativeError(model.acts.logits.doubles(10 * 11), expectedLogits) < 1e-5)

        let mask = Self.mask.map(Double.init)
        let (loss, weight) = model.crossEntropy(targets: Self.targets, mask: Self.mask)
        #expect(weight == 6)
        let expectedLoss = reference.loss(tokens: Self.tokens, segments: Self.segments, positions: Self.positions,
                                          targets: Self.targets, mask: mask, batch: 2, seq: 5)
        #expect(abs(Double(loss) - expectedLoss) < 1e-5 * expectedLoss)

        model.zeroGradients()
        model.backward()
        for view in params.views {
            let numeric = GradientCheck.numericGradient(reference.weights[view.name]!) { values in
                reference.weights[view.name] = values
                return reference.loss(tokens: Self.tokens, segments: Self.segments, positions: Self.positions,
                                      targets: Self.targets, mask: mask, batch: 2, seq: 5)
            }
            let analytic = model.grads[view.name].map { Double($0) }
            let error = GradientCheck.relativeError(analytic, numeric)
            #expect(error < 1e-4, "\(view.name): relative error \(error)")
        }
    }

    @Test func packedSegmentsMatchEachDocumentAlone() {
        let config = LlamaConfig(vocabSize: 50, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 64)
        let model = Llama(config: config, maxBatch: 1, maxSeq: 8, seed: 5)
        let params = roughParameters(config, seed: 6)
        _ = model.params.flat.update(from: params.flat)
        let tokens: [Int32] = [4, 49, 17, 3, 3, 28, 11, 0]
        let segments: [Int32] = [0, 0, 0, 1, 1, 1, 1, -1]
        let v = config.vocabSize
        model.forward(tokens: tokens, segments: segments, batch: 1, seq: 8)
        let packed = model.acts.logits.doubles(8 * v)
        for (start, length) in [(0, 3), (3, 4)] {
            model.forward(tokens: Array(tokens[start..<(start + length)]), batch: 1, seq: length)
            let alone = model.acts.logits.doubles(length * v)
            let slice = Array(packed[(start * v)..<((start + length) * v)])
            #expect(GradientCheck.relativeError(slice, alone) < 1e-5, "document at \(start)")
        }
        // Without the segment ids the second document would see the first one.
        model.forward(tokens: tokens, batch: 1, seq: 8)
        let unpacked = model.acts.logits.doubles(8 * v)
        #expect(GradientCheck.relativeError(Array(unpacked[(3 * v)..<(7 * v)]), Array(packed[(3 * v)..<(7 * v)])) > 1e-3)
    }

    @Test func backwardAccumulatesAcrossCalls() {
        let config = microConfig(tied: false)
        let model = Llama(params: roughParameters(config, seed: 3), maxBatch: 2, maxSeq: 5)
        model.forward(tokens: Self.tokens, segments: Self.segments, batch: 2, seq: 5)
        model.crossEntropy(targets: Self.targets, mask: Self.mask)
        model.zeroGradients()
        model.backward()
        let once = Array(model.grads.flat)
        model.backward()
        let twice = Array(model.grads.flat)
        #expect(GradientCheck.relativeError(twice.map(Double.init), once.map { 2 * Double($0) }) < 1e-6)
        #expect(once.contains { $0 != 0 })
    }
}

@Suite("LlamaConfig and parameters") struct LlamaConfigTests {
    @Test func presetsHaveTheirPublishedSizes() throws {
        #expect(LlamaParameters.layout(.smolLM2_135M).views.reduce(0) { $0 + $1.count } == 134_515_008)
        let tiny = try #require(LlamaConfig.preset(named: "tiny"))
        #expect(tiny.hiddenSize == 256 && tiny.numHiddenLayers == 4 && tiny.intermediateSize == 688 && tiny.vocabSize == 4096)
        let small = try #require(LlamaConfig.preset(named: "small"))
        #expect(small.hiddenSize == 512 && small.numHiddenLayers == 8 && small.intermediateSize == 1376 && small.vocabSize == 8192)
        #expect(LlamaConfig.preset(named: "huge") == nil)
        for (name, config) in LlamaConfig.presets { #expect(config.problems.isEmpty, "\(name)") }
    }

    @Test func tensorNamesAndShapesFollowHuggingFace() {
        let config = LlamaConfig.smolLM2_135M
        let views = LlamaParameters.layout(config).views
        let shapes = Dictionary(uniqueKeysWithValues: views.map { ($0.name, $0.shape) })
        #expect(views.first?.name == "model.embed_tokens.weight")
        #expect(shapes["model.layers.0.self_attn.q_proj.weight"] == [576, 576])
        #expect(shapes["model.layers.0.self_attn.k_proj.weight"] == [192, 576])
        #expect(shapes["model.layers.29.self_attn.v_proj.weight"] == [192, 576])
        #expect(shapes["model.layers.29.self_attn.o_proj.weight"] == [576, 576])
        #expect(shapes["model.layers.7.mlp.gate_proj.weight"] == [1536, 576])
        #expect(shapes["model.layers.7.mlp.up_proj.weight"] == [1536, 576])
        #expect(shapes["model.layers.7.mlp.down_proj.weight"] == [576, 1536])
        #expect(shapes["model.layers.3.input_layernorm.weight"] == [576])
        #expect(shapes["model.layers.3.post_attention_layernorm.weight"] == [576])
        #expect(shapes["model.norm.weight"] == [576])
        #expect(shapes["lm_head.weight"] == nil)
        #expect(views.count == 1 + 30 * 9 + 1)
        var untied = config
        untied.tieWordEmbeddings = false
        #expect(LlamaParameters.layout(untied).views.last?.name == "lm_head.weight")
    }

    @Test func configReadsAndWritesHuggingFaceKeys() throws {
        let json = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "vocab_size": 49152,
         "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
         "num_key_value_heads": 3, "rope_theta": 100000, "rms_norm_eps": 1e-05, "max_position_embeddings": 8192,
         "tie_word_embeddings": true, "initializer_range": 0.02, "torch_dtype": "bfloat16", "bos_token_id": 0}
        """
        let config = try JSONDecoder().decode(LlamaConfig.self, from: Data(json.utf8))
        #expect(config == .smolLM2_135M)
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any]
        #expect(encoded?["num_key_value_heads"] as? Int == 3)
        #expect(encoded?["tie_word_embeddings"] as? Bool == true)
        #expect(try JSONDecoder().decode(LlamaConfig.self, from: JSONEncoder().encode(LlamaConfig.tiny)) == .tiny)
        let gelu = json.replacingOccurrences(of: "\"silu\"", with: "\"gelu\"")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LlamaConfig.self, from: Data(gelu.utf8)) }
        var odd = LlamaConfig.tiny
        odd.numKeyValueHeads = 3
        #expect(!odd.problems.isEmpty)
    }

    @Test func initialisationIsSeededAndFollowsHuggingFace() {
        let config = LlamaConfig.tiny
        let a = LlamaParameters(config: config, seed: 9), b = LlamaParameters(config: config, seed: 9)
        let c = LlamaParameters(config: config, seed: 10)
        #expect(Array(a.flat) == Array(b.flat))
        #expect(Array(a.flat) != Array(c.flat))
        #expect(a["model.layers.2.input_layernorm.weight"].allSatisfy { $0 == 1 })
        #expect(a["model.norm.weight"].allSatisfy { $0 == 1 })
        let q = a["model.layers.1.self_attn.q_proj.weight"].map(Double.init)
        let std = (q.map { $0 * $0 }.reduce(0, +) / Double(q.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.001)
        #expect(a.count == LlamaParameters.layout(config).views.reduce(0) { $0 + $1.count })
    }
}
