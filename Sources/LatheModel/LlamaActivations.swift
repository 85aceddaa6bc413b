import LatheTensor

/// What one decoder layer keeps from forward for backward, as views of the activation arena.
/// Sized for the largest batch; a smaller (B,T) uses the front of each buffer.
public struct LayerActivations: @unchecked Sendable {
    public let input: UnsafeMutablePointer<Float>   // (B,T,C) residual stream entering the layer
    public let ln1: UnsafeMutablePointer<Float>     // (B,T,C)
    public let rstd1: UnsafeMutablePointer<Float>   // (B,T)
    public let q: UnsafeMutablePointer<Float>       // (B,T,NH,hs) after RoPE
    public let k: UnsafeMutablePointer<Float>       // (B,T,NKV,hs) after RoPE
    public let v: UnsafeMutablePointer<Float>       // (B,T,NKV,hs)
    public let probs: UnsafeMutablePointer<Float>   // (B,NH,T,T) attention weights
    public let attn: UnsafeMutablePointer<Float>    // (B,T,NH·hs) heads before o_proj
    public let mid: UnsafeMutablePointer<Float>     // (B,T,C) residual after attention
    public let ln2: UnsafeMutablePointer<Float>     // (B,T,C)
    public let rstd2: UnsafeMutablePointer<Float>   // (B,T)
    public let gate: UnsafeMutablePointer<Float>    // (B,T,I)
    public let up: UnsafeMutablePointer<Float>      // (B,T,I)
    public let hidden: UnsafeMutablePointer<Float>  // (B,T,I) silu(gate)·up
}

/// Gradient buffers reused by every layer during backward.
public struct BackwardScratch: @unchecked Sendable {
    public let residual: UnsafeMutablePointer<Float>  // (B,T,C) gradient of the residual stream
    public let normed: UnsafeMutablePointer<Float>    // (B,T,C) gradient of a norm's output
    public let q: UnsafeMutablePointer<Float>         // (B,T,NH·hs)
    public let k: UnsafeMutablePointer<Float>         // (B,T,NKV·hs)
    public let v: UnsafeMutablePointer<Float>         // (B,T,NKV·hs)
    public let attn: UnsafeMutablePointer<Float>      // (B,T,NH·hs)
    public let scores: UnsafeMutablePointer<Float>    // (B,NH,T,T)
    public let gate: UnsafeMutablePointer<Float>      // (B,T,I)
    public let up: UnsafeMutablePointer<Float>        // (B,T,I)
    public let hidden: UnsafeMutablePointer<Float>    // (B,T,I)
}

/// Every activation of a forward and backward at batch ≤ maxBatch, seq ≤ maxSeq, carved from one
/// allocation made once per run.
public final class LlamaActivations: @unchecked Sendable {
    public let maxBatch: Int
    public let maxSeq: Int
    public let arena: Arena
    public let layers: [LayerActivations]
    public let output: UnsafeMutablePointer<Float>    // (B,T,C) residual stream after the last layer
    public let lnf: UnsafeMutablePointer<Float>       // (B,T,C)
    public let rstdf: UnsafeMutablePointer<Float>     // (B,T)
    public let logits: UnsafeMutablePointer<Float>    // (B,T,O) logits (O = V), or a score head's values
    /// (B,T,O) ∂loss/∂logits, written by an objective before backward.
    public let logitsGrad: UnsafeMutablePointer<Float>
    public let losses: UnsafeMutablePointer<Float>    // (B,T) per-position cross-entropy, 0 where not counted
    public let scratch: BackwardScratch
    // (B,T) inputs of the last forward, kept for backward
    public let tokens: UnsafeMutablePointer<Int32>
    public let segments: UnsafeMutablePointer<Int32>
    public let positions: UnsafeMutablePointer<Int32>

    /// `outputs` is O, the head's values per position: V (nil) or a score head's labels.
    public init(config: LlamaConfig, maxBatch: Int, maxSeq: Int, outputs: Int? = nil) {
        self.maxBatch = maxBatch
        self.maxSeq = maxSeq
        let n = maxBatch * maxSeq, c = config.hiddenSize, i = config.intermediateSize
        let qDim = config.numAttentionHeads * config.headDim, kv = config.kvDim
        let square = maxBatch * config.numAttentionHeads * maxSeq * maxSeq, o = outputs ?? config.vocabSize
        var layout = ArenaLayout()
        for l in 0..<config.numHiddenLayers {
            for (name, count) in [("input", n * c), ("ln1", n * c), ("rstd1", n), ("q", n * qDim), ("k", n * kv),
                                  ("v", n * kv), ("probs", square), ("attn", n * qDim), ("mid", n * c), ("ln2", n * c),
                                  ("rstd2", n), ("gate", n * i), ("up", n * i), ("hidden", n * i)] {
                layout.add("layers.\(l).\(name)", [count])
            }
        }
        for (name, count) in [("output", n * c), ("lnf", n * c), ("rstdf", n), ("logits", n * o),
                              ("logitsGrad", n * o), ("losses", n),
                              ("d.residual", n * c), ("d.normed", n * c), ("d.q", n * qDim), ("d.k", n * kv), ("d.v", n * kv),
                              ("d.attn", n * qDim), ("d.scores", square), ("d.gate", n * i), ("d.up", n * i),
                              ("d.hidden", n * i)] {
            layout.add(name, [count])
        }
        arena = Arena(layout)
        let arena = arena
        func named(_ name: String) -> UnsafeMutablePointer<Float> { arena[name].baseAddress! }
        layers = (0..<config.numHiddenLayers).map { l in
            func at(_ name: String) -> UnsafeMutablePointer<Float> { named("layers.\(l).\(name)") }
            return LayerActivations(input: at("input"), ln1: at("ln1"), rstd1: at("rstd1"), q: at("q"), k: at("k"),
                                    v: at("v"), probs: at("probs"), attn: at("attn"), mid: at("mid"), ln2: at("ln2"),
                                    rstd2: at("rstd2"), gate: at("gate"), up: at("up"), hidden: at("hidden"))
        }
        output = named("output")
        lnf = named("lnf")
        rstdf = named("rstdf")
        logits = named("logits")
        logitsGrad = named("logitsGrad")
        losses = named("losses")
        scratch = BackwardScratch(residual: named("d.residual"), normed: named("d.normed"), q: named("d.q"),
                                  k: named("d.k"), v: named("d.v"), attn: named("d.attn"), scores: named("d.scores"),
                                  gate: named("d.gate"), up: named("d.up"), hidden: named("d.hidden"))
        tokens = .allocate(capacity: n)
        segments = .allocate(capacity: n)
        positions = .allocate(capacity: n)
        for buffer in [tokens, segments, positions] { buffer.initialize(repeating: 0, count: n) }
    }

    deinit {
        tokens.deallocate()
        segments.deallocate()
        positions.deallocate()
    }

    /// Bytes of fp32 activations: what a (maxBatch, maxSeq) costs in memory.
    public var bytes: Int { arena.count * MemoryLayout<Float>.size }
}
