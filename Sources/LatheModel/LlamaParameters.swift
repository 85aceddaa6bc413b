import LatheTensor

/// One decoder layer's tensors, as pointers into a parameter (or gradient) arena.
/// Matrices are (out, in), the layout Hugging Face stores.
public struct LayerWeights: @unchecked Sendable {
    public let q: UnsafeMutablePointer<Float>          // (NH·hs, C)
    public let k: UnsafeMutablePointer<Float>          // (NKV·hs, C)
    public let v: UnsafeMutablePointer<Float>          // (NKV·hs, C)
    public let o: UnsafeMutablePointer<Float>          // (C, NH·hs)
    public let gate: UnsafeMutablePointer<Float>       // (I, C)
    public let up: UnsafeMutablePointer<Float>         // (I, C)
    public let down: UnsafeMutablePointer<Float>       // (C, I)
    public let inputNorm: UnsafeMutablePointer<Float>  // (C)
    public let postNorm: UnsafeMutablePointer<Float>   // (C)
}

/// What the final norm's output feeds: the language-model head (`LlamaForCausalLM`, V logits
/// per position) or a score head (`LlamaForSequenceClassification`, `labels` values per
/// position, no bias; a reward or value model has one label).
public enum OutputHead: Equatable, Sendable {
    case languageModel
    case score(labels: Int)

    /// The reward/value head: one scalar per position.
    public static let scalar = OutputHead.score(labels: 1)

    /// The HF `architectures` entry of a checkpoint with this head.
    public var architecture: String {
        self == .languageModel ? "LlamaForCausalLM" : "LlamaForSequenceClassification"
    }
}

/// Every parameter of a Llama model carved from one allocation, each view named as in a
/// Hugging Face checkpoint (`model.layers.3.mlp.up_proj.weight`). The gradients are a second
/// instance with the same layout, so parameter i and its gradient share an offset.
public final class LlamaParameters: @unchecked Sendable {
    public let config: LlamaConfig
    public let head: OutputHead
    public let arena: Arena
    public let embed: UnsafeMutablePointer<Float>      // (V, C)
    public let layers: [LayerWeights]
    public let norm: UnsafeMutablePointer<Float>       // (C)
    /// (outputs, C), what the final norm's output is multiplied by: lm_head (V, C), the
    /// embedding table itself when word embeddings are tied, or score (labels, C).
    public let output: UnsafeMutablePointer<Float>
    /// (V, C) the language-model head; only a causal LM has one.
    public var lmHead: UnsafeMutablePointer<Float> {
        precondition(head == .languageModel, "a \(head.architecture) has no lm_head")
        return output
    }
    /// Values per position: V for a causal LM, the labels of a score head.
    public var outputs: Int { Self.outputs(config, head) }

    static func outputs(_ config: LlamaConfig, _ head: OutputHead) -> Int {
        switch head {
        case .languageModel: return config.vocabSize
        case .score(let labels): return labels
        }
    }

    /// HF tensor names and shapes in checkpoint order; `lm_head.weight` only when untied,
    /// `score.weight` (and no lm_head, tied or not) for a score head.
    public static func layout(_ config: LlamaConfig, head: OutputHead = .languageModel) -> ArenaLayout {
        let c = config.hiddenSize, i = config.intermediateSize, q = config.numAttentionHeads * config.headDim
        var layout = ArenaLayout()
        layout.add("model.embed_tokens.weight", [config.vocabSize, c])
        for l in 0..<config.numHiddenLayers {
            let p = "model.layers.\(l)."
            layout.add(p + "self_attn.q_proj.weight", [q, c])
            layout.add(p + "self_attn.k_proj.weight", [config.kvDim, c])
            layout.add(p + "self_attn.v_proj.weight", [config.kvDim, c])
            layout.add(p + "self_attn.o_proj.weight", [c, q])
            layout.add(p + "mlp.gate_proj.weight", [i, c])
            layout.add(p + "mlp.up_proj.weight", [i, c])
            layout.add(p + "mlp.down_proj.weight", [c, i])
            layout.add(p + "input_layernorm.weight", [c])
            layout.add(p + "post_attention_layernorm.weight", [c])
        }
        layout.add("model.norm.weight", [c])
        switch head {
        case .languageModel: if !config.tieWordEmbeddings { layout.add("lm_head.weight", [config.vocabSize, c]) }
        case .score(let labels): layout.add("score.weight", [labels, c])
        }
        return layout
    }

    /// All zeros: the form gradients take, and parameters about to be loaded from a checkpoint.
    public init(zerosFor config: LlamaConfig, head: OutputHead = .languageModel) {
        precondition(config.problems.isEmpty, "invalid Llama config: \(config.problems.joined(separator: "; "))")
        if case .score(let labels) = head { precondition(labels >= 1, "a score head needs at least one label") }
        self.config = config
        self.head = head
        arena = Arena(Self.layout(config, head: head))
        let arena = arena
        func named(_ name: String) -> UnsafeMutablePointer<Float> { arena[name].baseAddress! }
        embed = named("model.embed_tokens.weight")
        layers = (0..<config.numHiddenLayers).map { l in
            let p = "model.layers.\(l)."
            return LayerWeights(q: named(p + "self_attn.q_proj.weight"), k: named(p + "self_attn.k_proj.weight"),
                                v: named(p + "self_attn.v_proj.weight"), o: named(p + "self_attn.o_proj.weight"),
                                gate: named(p + "mlp.gate_proj.weight"), up: named(p + "mlp.up_proj.weight"),
                                down: named(p + "mlp.down_proj.weight"), inputNorm: named(p + "input_layernorm.weight"),
                                postNorm: named(p + "post_attention_layernorm.weight"))
        }
        norm = named("model.norm.weight")
        switch head {
        case .languageModel: output = config.tieWordEmbeddings ? embed : named("lm_head.weight")
        case .score: output = named("score.weight")
        }
    }

    /// Hugging Face's initialisation: every matrix normal(0, initializer_range), norms 1,
    /// drawn tensor by tensor in checkpoint order from one SplitMix64 stream.
    public convenience init(config: LlamaConfig, seed: UInt64, head: OutputHead = .languageModel) {
        self.init(zerosFor: config, head: head)
        var rng = SplitMix64(seed: seed)
        for view in arena.views {
            let values = arena.pointer(view)
            if view.shape.count == 1 {
                values.update(repeating: 1, count: view.count)
            } else {
                for j in 0..<view.count { values[j] = Float(rng.nextGaussian() * config.initializerRange) }
            }
        }
    }

    public var count: Int { arena.views.reduce(0) { $0 + $1.count } }
    public var views: [ArenaView] { arena.views }

    /// The tensor called `name` (an HF name), e.g. for a checkpoint reader or writer.
    public subscript(name: String) -> UnsafeMutableBufferPointer<Float> { arena[name] }

    /// Every parameter as one flat span (padding between views included, always zero in
    /// gradients), for optimisers and gradient norms.
    public var flat: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: arena.base, count: arena.count) }

    public func zero() { arena.zero() }
}
