import LatheTensor

// The Llama decoder, read top to bottom like nanoGPT's model.py:
//   x = embed(tokens)
//   for each layer:  x = x + attention(rmsnorm1(x));  x = x + mlp(rmsnorm2(x))
//   logits = lm_head(rmsnorm(x))      or, with a score head,   scores = score(rmsnorm(x))
// with every step's backward beside it, walking the same layers in reverse.
// Shapes: B batch rows, T positions, C hidden size, NH query heads and NKV kv heads of hs
// dimensions, I the MLP width, V the vocabulary, O the head's outputs (V, or a score head's
// labels); N = B·T.
// Loading, saving and optimising live elsewhere (LatheTrain); this file is only the model.

/// A Llama-family decoder ready to train: parameters, their gradients, and activations
/// for batches up to (maxBatch, maxSeq), all allocated here and never during a step.
public final class Llama: @unchecked Sendable {
    public let config: LlamaConfig
    public let params: LlamaParameters
    /// Same layout as `params`; backward adds into it, `zeroGradients` clears it. Allocated at the
    /// first of those, so a model that is only run forward (a frozen reference or reward model) holds none.
    public private(set) lazy var grads = LlamaParameters(zerosFor: config, head: params.head)
    public let acts: LlamaActivations
    public let rope: RoPE
    /// (B, T) of the last forward.
    public private(set) var batch = 0
    public private(set) var seq = 0
    /// Inputs of the linear layers' products: fp32, or rounded to bf16 with fp32 master weights
    /// and fp32 accumulation. With bf16 the saved inputs of those products (the norms' outputs,
    /// the heads, the MLP's hidden) are themselves rounded, as a bf16 autocast would keep them;
    /// attention's own products and every other kernel stay fp32.
    public var precision: MatmulPrecision = .fp32 {
        didSet { if precision == .bf16 && bf16Scratch == nil { bf16Scratch = BF16Scratch(model: self) } }
    }
    /// Extra bytes the bf16 path holds: a rounded copy of the weights and one (B,T,C) gradient.
    public var precisionScratchBytes: Int { bf16Scratch?.bytes ?? 0 }
    private var bf16Scratch: BF16Scratch?

    /// The matrices the products read: `params` itself, or its bf16-rounded copy (norm weights
    /// copied exactly), refreshed at each forward.
    private var matrices: LlamaParameters { bf16Scratch.map { precision == .bf16 ? $0.weights : params } ?? params }

    private final class BF16Scratch {
        let weights: LlamaParameters
        let residual: UnsafeMutablePointer<Float>   // (B,T,C) rounded copy of d.residual
        let bytes: Int
        init(model: Llama) {
            weights = LlamaParameters(zerosFor: model.config, head: model.params.head)
            let n = model.acts.maxBatch * model.acts.maxSeq * model.config.hiddenSize
            residual = .allocate(capacity: n)
            residual.initialize(repeating: 0, count: n)
            bytes = weights.arena.count * 4 + n * 4
        }
        deinit { residual.deallocate() }
    }

    /// Rounds a product's input in place when the products take bf16.
    @inline(__always)
    private func roundInput(_ buffer: UnsafeMutablePointer<Float>, _ count: Int) {
        if precision == .bf16 { BFloat16.round(buffer, buffer, count: count) }
    }

    /// d.residual as a product's input: itself, or a rounded copy (the skip path keeps fp32).
    private func residualInput() -> UnsafeMutablePointer<Float> {
        guard precision == .bf16, let scratch = bf16Scratch else { return acts.scratch.residual }
        BFloat16.round(scratch.residual, acts.scratch.residual, count: n * config.hiddenSize)
        return scratch.residual
    }

    public init(params: LlamaParameters, maxBatch: Int, maxSeq: Int) {
        config = params.config
        self.params = params
        acts = LlamaActivations(config: config, maxBatch: maxBatch, maxSeq: maxSeq, outputs: params.outputs)
        rope = RoPE(headDim: config.headDim, maxPositions: max(config.maxPositionEmbeddings, maxSeq), theta: config.ropeTheta)
    }

    /// A freshly initialised model (see `LlamaParameters(config:seed:)`).
    public convenience init(config: LlamaConfig, maxBatch: Int, maxSeq: Int, seed: UInt64) {
        self.init(params: LlamaParameters(config: config, seed: seed), maxBatch: maxBatch, maxSeq: maxSeq)
    }

    private var n: Int { batch * seq }

    // MARK: attention sub-block:  mid = x + o_proj(attention(rope(q), rope(k), v))  over rmsnorm1(x)

    private func attentionForward(_ w: LayerWeights, _ a: LayerActivations) {
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kv = config.kvDim
        RMSNorm.forward(out: a.ln1, rstd: a.rstd1, inp: a.input, weight: w.inputNorm, rows: n, channels: c,
                        eps: Float(config.rmsNormEps))
        roundInput(a.ln1, n * c)
        Linear.forward(out: a.q, inp: a.ln1, weight: w.q, rows: n, inDim: c, outDim: qd)
        Linear.forward(out: a.k, inp: a.ln1, weight: w.k, rows: n, inDim: c, outDim: kv)
        Linear.forward(out: a.v, inp: a.ln1, weight: w.v, rows: n, inDim: c, outDim: kv)
        rope.forward(a.q, positions: acts.positions, rows: n, heads: config.numAttentionHeads)
        rope.forward(a.k, positions: acts.positions, rows: n, heads: config.numKeyValueHeads)
        Attention.forward(out: a.attn, probs: a.probs, q: a.q, k: a.k, v: a.v, segments: acts.segments,
                          batch: batch, seq: seq, heads: config.numAttentionHeads, kvHeads: config.numKeyValueHeads,
                          headDim: config.headDim)
        roundInput(a.attn, n * qd)
        a.mid.update(from: a.input, count: n * c)
        Linear.forward(out: a.mid, inp: a.attn, weight: w.o, rows: n, inDim: qd, outDim: c, accumulate: true)
    }

    // d.residual holds ∂L/∂mid on entry and ∂L/∂x on exit (the skip path carries it through).
    private func attentionBackward(_ w: LayerWeights, _ g: LayerWeights, _ a: LayerActivations) {
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kv = config.kvDim
        let d = acts.scratch
        zero(d.attn, n * qd)
        Linear.backward(dinp: d.attn, dweight: g.o, dout: residualInput(), inp: a.attn, weight: w.o, rows: n, inDim: qd, outDim: c)
        zero(d.q, n * qd)
        zero(d.k, n * kv)
        zero(d.v, n * kv)
        Attention.backward(dq: d.q, dk: d.k, dv: d.v, scratch: d.scores, dout: d.attn, q: a.q, k: a.k, v: a.v,
                           probs: a.probs, batch: batch, seq: seq, heads: config.numAttentionHeads,
                           kvHeads: config.numKeyValueHeads, headDim: config.headDim)
        rope.backward(d.q, positions: acts.positions, rows: n, heads: config.numAttentionHeads)
        rope.backward(d.k, positions: acts.positions, rows: n, heads: config.numKeyValueHeads)
        roundInput(d.q, n * qd)
        roundInput(d.k, n * kv)
        roundInput(d.v, n * kv)
        zero(d.normed, n * c)
        Linear.backward(dinp: d.normed, dweight: g.q, dout: d.q, inp: a.ln1, weight: w.q, rows: n, inDim: c, outDim: qd)
        Linear.backward(dinp: d.normed, dweight: g.k, dout: d.k, inp: a.ln1, weight: w.k, rows: n, inDim: c, outDim: kv)
        Linear.backward(dinp: d.normed, dweight: g.v, dout: d.v, inp: a.ln1, weight: w.v, rows: n, inDim: c, outDim: kv)
        RMSNorm.backward(dinp: d.residual, dweight: g.inputNorm, dout: d.normed, inp: a.input, weight: w.inputNorm,
                         rstd: a.rstd1, rows: n, channels: c)
    }

    // MARK: MLP sub-block:  out = mid + down_proj(silu(gate_proj(h)) · up_proj(h))  with h = rmsnorm2(mid)

    private func mlpForward(_ w: LayerWeights, _ a: LayerActivations, out: UnsafeMutablePointer<Float>) {
        let c = config.hiddenSize, i = config.intermediateSize
        RMSNorm.forward(out: a.ln2, rstd: a.rstd2, inp: a.mid, weight: w.postNorm, rows: n, channels: c,
                        eps: Float(config.rmsNormEps))
        roundInput(a.ln2, n * c)
        Linear.forward(out: a.gate, inp: a.ln2, weight: w.gate, rows: n, inDim: c, outDim: i)
        Linear.forward(out: a.up, inp: a.ln2, weight: w.up, rows: n, inDim: c, outDim: i)
        SwiGLU.forward(out: a.hidden, gate: a.gate, up: a.up, count: n * i)
        roundInput(a.hidden, n * i)
        out.update(from: a.mid, count: n * c)
        Linear.forward(out: out, inp: a.hidden, weight: w.down, rows: n, inDim: i, outDim: c, accumulate: true)
    }

    // d.residual holds ∂L/∂out on entry and ∂L/∂mid on exit.
    private func mlpBackward(_ w: LayerWeights, _ g: LayerWeights, _ a: LayerActivations) {
        let c = config.hiddenSize, i = config.intermediateSize
        let d = acts.scratch
        zero(d.hidden, n * i)
        Linear.backward(dinp: d.hidden, dweight: g.down, dout: residualInput(), inp: a.hidden, weight: w.down,
                        rows: n, inDim: i, outDim: c)
        zero(d.gate, n * i)
        zero(d.up, n * i)
        SwiGLU.backward(dgate: d.gate, dup: d.up, dout: d.hidden, gate: a.gate, up: a.up, count: n * i)
        roundInput(d.gate, n * i)
        roundInput(d.up, n * i)
        zero(d.normed, n * c)
        Linear.backward(dinp: d.normed, dweight: g.gate, dout: d.gate, inp: a.ln2, weight: w.gate, rows: n, inDim: c, outDim: i)
        Linear.backward(dinp: d.normed, dweight: g.up, dout: d.up, inp: a.ln2, weight: w.up, rows: n, inDim: c, outDim: i)
        RMSNorm.backward(dinp: d.residual, dweight: g.postNorm, dout: d.normed, inp: a.mid, weight: w.postNorm,
                         rstd: a.rstd2, rows: n, channels: c)
    }

    // MARK: the whole model

    /// Runs the model on tokens (B,T), leaving the head's outputs (B,T,O) in `acts.logits`:
    /// logits (B,T,V), or a score head's values (B,T,labels).
    ///
    /// `segments` (B,T) packs several documents into a row: positions attend only within their
    /// own segment id, and a negative id marks padding (attends to nothing). Nil: one document
    /// per row. `positions` (B,T) are the rotary positions; nil restarts them at 0 wherever
    /// the segment id changes, so a packed document sees the positions it would see alone.
    public func forward(tokens: UnsafePointer<Int32>, segments: UnsafePointer<Int32>? = nil,
                        positions: UnsafePointer<Int32>? = nil, batch: Int, seq: Int) {
        precondition(batch >= 1 && batch <= acts.maxBatch && seq >= 1 && seq <= acts.maxSeq,
                     "batch (\(batch), \(seq)) exceeds the (\(acts.maxBatch), \(acts.maxSeq)) activations were sized for")
        self.batch = batch
        self.seq = seq
        let c = config.hiddenSize, v = config.vocabSize, o = params.outputs
        for j in 0..<n {
            precondition(tokens[j] >= 0 && Int(tokens[j]) < v, "token \(tokens[j]) at \(j) is outside the vocabulary of \(v)")
        }
        acts.tokens.update(from: tokens, count: n)
        if let segments { acts.segments.update(from: segments, count: n) } else { acts.segments.update(repeating: 0, count: n) }
        if let positions {
            acts.positions.update(from: positions, count: n)
        } else {
            Self.positions(segments: acts.segments, batch: batch, seq: seq, into: acts.positions)
        }

        if precision == .bf16, let scratch = bf16Scratch { scratch.weights.copyRoundingMatricesToBF16(from: params) }
        let weights = matrices
        Embedding.forward(out: acts.layers[0].input, tokens: acts.tokens, table: params.embed, rows: n, channels: c)
        for l in 0..<config.numHiddenLayers {
            let a = acts.layers[l]
            attentionForward(weights.layers[l], a)
            mlpForward(weights.layers[l], a, out: l + 1 < config.numHiddenLayers ? acts.layers[l + 1].input : acts.output)
        }
        RMSNorm.forward(out: acts.lnf, rstd: acts.rstdf, inp: acts.output, weight: params.norm, rows: n, channels: c,
                        eps: Float(config.rmsNormEps))
        roundInput(acts.lnf, n * c)
        Linear.forward(out: acts.logits, inp: acts.lnf, weight: weights.output, rows: n, inDim: c, outDim: o)
    }

    /// Cross-entropy of the last forward's logits against targets (B,T), counting position i with
    /// weight mask[i] (nil: 1) unless its target is negative. Returns the weighted mean loss and
    /// Σ weights; fills `acts.losses` (B,T) and sets `acts.logitsGrad` to gradientScale·∂(Σ mᵢℓᵢ)/∂logits,
    /// where gradientScale defaults to 1/Σ weights, the gradient of the mean loss returned.
    @discardableResult
    public func crossEntropy(targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>? = nil,
                             gradientScale: Float? = nil) -> (loss: Float, weight: Float) {
        precondition(params.head == .languageModel, "cross-entropy needs a language-model head, not \(params.head)")
        let v = config.vocabSize
        let result = CrossEntropy.forward(losses: acts.losses, logits: acts.logits, targets: targets, mask: mask,
                                          rows: n, vocab: v)
        zero(acts.logitsGrad, n * v)
        let scale = gradientScale ?? (result.weight > 0 ? 1 / result.weight : 0)
        CrossEntropy.backward(dlogits: acts.logitsGrad, logits: acts.logits, targets: targets, mask: mask,
                              rows: n, vocab: v, scale: scale)
        return result
    }

    /// Adds ∂L/∂parameters into `grads`, given ∂L/∂outputs (B,T,O) in `acts.logitsGrad` for the last
    /// forward (with bf16 products, `acts.logitsGrad` is rounded in place first).
    public func backward() {
        let c = config.hiddenSize, v = params.outputs
        let d = acts.scratch, weights = matrices
        zero(d.normed, n * c)
        roundInput(acts.logitsGrad, n * v)
        Linear.backward(dinp: d.normed, dweight: grads.output, dout: acts.logitsGrad, inp: acts.lnf, weight: weights.output,
                        rows: n, inDim: c, outDim: v)
        zero(d.residual, n * c)
        RMSNorm.backward(dinp: d.residual, dweight: grads.norm, dout: d.normed, inp: acts.output, weight: params.norm,
                         rstd: acts.rstdf, rows: n, channels: c)
        for l in (0..<config.numHiddenLayers).reversed() {
            mlpBackward(weights.layers[l], grads.layers[l], acts.layers[l])
            attentionBackward(weights.layers[l], grads.layers[l], acts.layers[l])
        }
        Embedding.backward(dtable: grads.embed, dout: d.residual, tokens: acts.tokens, rows: n, channels: c)
    }

    public func zeroGradients() { grads.zero() }

    /// Rotary positions (B,T) that restart at 0 wherever the segment id changes along a row.
    public static func positions(segments: UnsafePointer<Int32>, batch: Int, seq: Int,
                                 into positions: UnsafeMutablePointer<Int32>) {
        for b in 0..<batch {
            var p: Int32 = 0
            for t in 0..<seq {
                let j = b * seq + t
                p = t > 0 && segments[j] == segments[j - 1] ? p + 1 : 0
                positions[j] = p
            }
        }
    }

    /// Flops of one forward and backward over `tokens` positions in rows of `seq`: 6 per weight
    /// of every matrix product (the embedding lookup is free, lm_head is not) plus attention's
    /// 12·T·NH·hs per token per layer (the kernel computes full T×T products, masked half included).
    /// The head is lm_head (V·C weights) or a score head (labels·C).
    public func trainingFlops(tokens: Int, seq: Int) -> Double {
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim
        let perLayer = 2 * c * qd + 2 * c * config.kvDim + 3 * c * config.intermediateSize
        let weights = config.numHiddenLayers * perLayer + params.outputs * c
        let attention = 12 * config.numHiddenLayers * seq * qd
        return Double(tokens) * (6 * Double(weights) + Double(attention))
    }
}

@inline(__always)
private func zero(_ buffer: UnsafeMutablePointer<Float>, _ count: Int) { buffer.update(repeating: 0, count: count) }
