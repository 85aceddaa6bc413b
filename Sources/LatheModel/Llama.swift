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
    /// Inputs of the matrix products (the linear layers' and attention's): fp32, or rounded to
    /// bf16 by the product as it reads them, with fp32 master weights and fp32 sums, as a bf16
    /// autocast computes them. Every other kernel (norms, softmax, SwiGLU, RoPE) stays fp32.
    public var precision: MatmulPrecision = .fp32

    /// Bytes the bf16 products hold beside the model (their packing buffers), at most.
    public var precisionScratchBytes: Int {
        guard precision == .bf16 else { return 0 }
        let n = acts.maxBatch * acts.maxSeq, c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim
        // (out, in) of q, k and v, o, gate and up, down, and the head, each run as forward's product
        // and backward's two
        let layers = [(qd, c), (config.kvDim, c), (c, qd), (config.intermediateSize, c), (c, config.intermediateSize),
                      (params.outputs, c)]
        let products = layers.flatMap { out, inp in
            [BF16Matmul.scratchBytes(m: n, n: out, k: inp), BF16Matmul.scratchBytes(m: n, n: inp, k: out),
             BF16Matmul.scratchBytes(m: out, n: inp, k: n)]
        }
        return products.map(\.caller).max()! + Parallel.workers * products.map(\.perWorker).max()!
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
        Linear.forward(out: a.q, inp: a.ln1, weight: w.q, rows: n, inDim: c, outDim: qd, precision: precision)
        Linear.forward(out: a.k, inp: a.ln1, weight: w.k, rows: n, inDim: c, outDim: kv, precision: precision)
        Linear.forward(out: a.v, inp: a.ln1, weight: w.v, rows: n, inDim: c, outDim: kv, precision: precision)
        rope.forward(a.q, positions: acts.positions, rows: n, heads: config.numAttentionHeads)
        rope.forward(a.k, positions: acts.positions, rows: n, heads: config.numKeyValueHeads)
        Attention.forward(out: a.attn, probs: a.probs, q: a.q, k: a.k, v: a.v, segments: acts.segments,
                          batch: batch, seq: seq, heads: config.numAttentionHeads, kvHeads: config.numKeyValueHeads,
                          headDim: config.headDim, precision: precision)
        a.mid.update(from: a.input, count: n * c)
        Linear.forward(out: a.mid, inp: a.attn, weight: w.o,
                       rows: n, inDim: qd, outDim: c, accumulate: true, precision: precision)
    }

    // d.residual holds ∂L/∂mid on entry and ∂L/∂x on exit (the skip path carries it through).
    private func attentionBackward(_ w: LayerWeights, _ g: LayerWeights, _ a: LayerActivations) {
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kv = config.kvDim
        let d = acts.scratch
        zero(d.attn, n * qd)
        Linear.backward(dinp: d.attn, dweight: g.o, dout: d.residual, inp: a.attn, weight: w.o,
                        rows: n, inDim: qd, outDim: c, precision: precision)
        zero(d.q, n * qd)
        zero(d.k, n * kv)
        zero(d.v, n * kv)
        Attention.backward(dq: d.q, dk: d.k, dv: d.v, scratch: d.scores, dout: d.attn, q: a.q, k: a.k, v: a.v,
                           probs: a.probs, batch: batch, seq: seq, heads: config.numAttentionHeads,
                           kvHeads: config.numKeyValueHeads, headDim: config.headDim, precision: precision)
        rope.backward(d.q, positions: acts.positions, rows: n, heads: config.numAttentionHeads)
        rope.backward(d.k, positions: acts.positions, rows: n, heads: config.numKeyValueHeads)
        zero(d.normed, n * c)
        Linear.backward(dinp: d.normed, dweight: g.q, dout: d.q, inp: a.ln1, weight: w.q,
                        rows: n, inDim: c, outDim: qd, precision: precision)
        Linear.backward(dinp: d.normed, dweight: g.k, dout: d.k, inp: a.ln1, weight: w.k,
                        rows: n, inDim: c, outDim: kv, precision: precision)
        Linear.backward(dinp: d.normed, dweight: g.v, dout: d.v, inp: a.ln1, weight: w.v,
                        rows: n, inDim: c, outDim: kv, precision: precision)
        RMSNorm.backward(dinp: d.residual, dweight: g.inputNorm, dout: d.normed, inp: a.input, weight: w.inputNorm,
                         rstd: a.rstd1, rows: n, channels: c)
    }

    // MARK: MLP sub-block:  out = mid + down_proj(silu(gate_proj(h)) · up_proj(h))  with h = rmsnorm2(mid)

    private func mlpForward(_ w: LayerWeights, _ a: LayerActivations, out: UnsafeMutablePointer<Float>) {
        let c = config.hiddenSize, i = config.intermediateSize
        RMSNorm.forward(out: a.ln2, rstd: a.rstd2, inp: a.mid, weight: w.postNorm, rows: n, channels: c,
                        eps: Float(config.rmsNormEps))
        Linear.forward(out: a.gate, inp: a.ln2, weight: w.gate, rows: n, inDim: c, outDim: i, precision: precision)
        Linear.forward(out: a.up, inp: a.ln2, weight: w.up, rows: n, inDim: c, outDim: i, precision: precision)
        SwiGLU.forward(out: a.hidden, gate: a.gate, up: a.up, count: n * i)
        out.update(from: a.mid, count: n * c)
        Linear.forward(out: out, inp: a.hidden, weight: w.down,
                       rows: n, inDim: i, outDim: c, accumulate: true, precision: precision)
    }

    // d.residual holds ∂L/∂out on entry and ∂L/∂mid on exit.
    private func mlpBackward(_ w: LayerWeights, _ g: LayerWeights, _ a: LayerActivations) {
        let c = config.hiddenSize, i = config.intermediateSize
        let d = acts.scratch
        zero(d.hidden, n * i)
        Linear.backward(dinp: d.hidden, dweight: g.down, dout: d.residual, inp: a.hidden, weight: w.down,
                        rows: n, inDim: i, outDim: c, precision: precision)
        zero(d.gate, n * i)
        zero(d.up, n * i)
        SwiGLU.backward(dgate: d.gate, dup: d.up, dout: d.hidden, gate: a.gate, up: a.up, count: n * i)
        zero(d.normed, n * c)
        Linear.backward(dinp: d.normed, dweight: g.gate, dout: d.gate, inp: a.ln2, weight: w.gate,
                        rows: n, inDim: c, outDim: i, precision: precision)
        Linear.backward(dinp: d.normed, dweight: g.up, dout: d.up, inp: a.ln2, weight: w.up,
                        rows: n, inDim: c, outDim: i, precision: precision)
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

        Embedding.forward(out: acts.layers[0].input, tokens: acts.tokens, table: params.embed, rows: n, channels: c)
        for l in 0..<config.numHiddenLayers {
            let a = acts.layers[l]
            attentionForward(params.layers[l], a)
            mlpForward(params.layers[l], a, out: l + 1 < config.numHiddenLayers ? acts.layers[l + 1].input : acts.output)
        }
        RMSNorm.forward(out: acts.lnf, rstd: acts.rstdf, inp: acts.output, weight: params.norm, rows: n, channels: c,
                        eps: Float(config.rmsNormEps))
        Linear.forward(out: acts.logits, inp: acts.lnf, weight: params.output,
                       rows: n, inDim: c, outDim: o, precision: precision)
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
    /// forward.
    public func backward() {
        let c = config.hiddenSize, v = params.outputs
        let d = acts.scratch
        zero(d.normed, n * c)
        Linear.backward(dinp: d.normed, dweight: grads.output, dout: acts.logitsGrad, inp: acts.lnf, weight: params.output,
                        rows: n, inDim: c, outDim: v, precision: precision)
        zero(d.residual, n * c)
        RMSNorm.backward(dinp: d.residual, dweight: grads.norm, dout: d.normed, inp: acts.output, weight: params.norm,
                         rstd: acts.rstdf, rows: n, channels: c)
        for l in (0..<config.numHiddenLayers).reversed() {
            mlpBackward(params.layers[l], grads.layers[l], acts.layers[l])
            attentionBackward(params.layers[l], grads.layers[l], acts.layers[l])
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
