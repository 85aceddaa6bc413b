import LatheTensor
#if canImport(Glibc)
import Glibc
#endif

// The Llama forward for scoring, with nothing kept for a backward: the same kernels and the
// same arithmetic as `Llama.forward`, layer by layer, but one set of (N, ·) buffers reused by
// every layer, one layer's attention weights at a time, and lm_head run in tiles of
// (rows × vocabulary block) with a running log-sum-exp per row, so only the rows whose target
// is wanted reach lm_head and no (N,V) logits ever exist. Shapes as in Llama.swift.

/// The matrices an inference forward multiplies by, held in one of three forms (`Form`). Norm
/// weights stay fp32 in every form, and sums are always fp32.
public final class InferenceWeights: @unchecked Sendable {
    /// How the matrices are held and multiplied.
    public enum Form: Sendable, Equatable {
        /// The fp32 parameters as they are, on sgemm.
        case fp32
        /// bf16 copies (half the memory) widened to fp32 a layer (or a block of lm_head) at a
        /// time, just before their products on sgemm: bf16 where the CPU has no AMX.
        case bf16Widened
        /// bf16 packed once into AMX tiles' order; the kernel rounds the activations to bf16 as
        /// it multiplies (`BF16Matmul`), so nothing is widened.
        case bf16Tiles

        /// The form `precision` takes on this machine: tiles wherever the CPU runs them.
        public static func of(_ precision: MatmulPrecision) -> Form {
            precision == .fp32 ? .fp32 : BF16Matmul.usesAMX ? .bf16Tiles : .bf16Widened
        }
    }

    public let config: LlamaConfig
    public let form: Form
    private let fp32: LlamaParameters?
    /// bf16Widened: every tensor at its `LlamaParameters.layout` offset, as 16-bit patterns;
    /// bf16Tiles: the embedding only (it is looked up, not multiplied).
    private let bits: UnsafeMutablePointer<UInt16>?
    private let bitsCount: Int
    /// bf16: the norm vectors in fp32, (2·layers + 1, C): layer l's input norm, its post norm, …, final norm.
    private let norms: UnsafeMutablePointer<Float>?
    /// fp32 and bf16Tiles: each layer's matrices as the forward multiplies by them.
    private let resident: [InferenceLayer]
    /// bf16Tiles: lm_head (V, C) packed.
    private let packedHead: BF16Matmul.PackedMatrix?
    private let layout: ArenaLayout
    /// Offset and length (elements) of each layer's tensors in the layout: q_proj through the post norm.
    private let layerSpans: [(offset: Int, count: Int)]
    private let headOffset: Int
    /// Rows of lm_head widened at a time (bf16Widened).
    static let headBlock = 2048

    public convenience init(_ params: LlamaParameters, precision: MatmulPrecision) {
        self.init(params, form: .of(precision))
    }

    /// `form` bf16Tiles needs `BF16Matmul.usesAMX`.
    public init(_ params: LlamaParameters, form: Form) {
        precondition(form != .bf16Tiles || BF16Matmul.usesAMX, "bf16 tiles need a CPU with AMX (BF16Matmul.usesAMX)")
        config = params.config
        self.form = form
        layout = params.arena.layout
        let arena = params.arena
        layerSpans = (0..<config.numHiddenLayers).map { l in
            let first = arena.view(named: "model.layers.\(l).self_attn.q_proj.weight")!
            let last = arena.view(named: "model.layers.\(l).post_attention_layernorm.weight")!
            return (first.offset, last.offset + last.count - first.offset)
        }
        headOffset = params.lmHead - arena.base
        let c = config.hiddenSize, layers = config.numHiddenLayers
        if form == .fp32 {
            (fp32, bits, bitsCount, norms, packedHead) = (params, nil, 0, nil, nil)
            resident = params.layers.map { w in
                InferenceLayer(q: .fp32(w.q), k: .fp32(w.k), v: .fp32(w.v), o: .fp32(w.o), gate: .fp32(w.gate), up: .fp32(w.up),
                               down: .fp32(w.down), inputNorm: w.inputNorm, postNorm: w.postNorm)
            }
            return
        }
        let copies = UnsafeMutablePointer<Float>.allocate(capacity: (2 * layers + 1) * c)
        for (l, w) in params.layers.enumerated() {
            (copies + 2 * l * c).update(from: w.inputNorm, count: c)
            (copies + (2 * l + 1) * c).update(from: w.postNorm, count: c)
        }
        (copies + 2 * layers * c).update(from: params.norm, count: c)
        fp32 = nil
        norms = copies
        bitsCount = Self.bitsCount(config, form)
        let packed = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, bitsCount))
        BFloat16.pack(packed, arena.base, count: bitsCount) // the embedding is the layout's first tensor, at offset 0
        bits = packed
        guard form == .bf16Tiles else {
            (resident, packedHead) = ([], nil)
            return
        }
        // y = x·Wᵀ with W stored (out, in): op(B) = Wᵀ, (in, out), packed from W with transB.
        func tiles(_ w: UnsafePointer<Float>, in i: Int, out o: Int) -> InferenceMatrix {
            .tiles(BF16Matmul.PackedMatrix(w, ldb: i, k: i, n: o, transB: true))
        }
        let qd = config.numAttentionHeads * config.headDim, kvd = config.kvDim, inter = config.intermediateSize
        resident = params.layers.enumerated().map { l, w in
            InferenceLayer(q: tiles(w.q, in: c, out: qd), k: tiles(w.k, in: c, out: kvd), v: tiles(w.v, in: c, out: kvd),
                           o: tiles(w.o, in: qd, out: c), gate: tiles(w.gate, in: c, out: inter),
                           up: tiles(w.up, in: c, out: inter), down: tiles(w.down, in: inter, out: c),
                           inputNorm: copies + 2 * l * c, postNorm: copies + (2 * l + 1) * c)
        }
        packedHead = BF16Matmul.PackedMatrix(params.lmHead, ldb: c, k: c, n: config.vocabSize, transB: true)
    }

    deinit {
        bits?.deallocate()
        norms?.deallocate()
    }

    /// bf16 bits held: the whole layout (bf16Widened), the embedding alone (bf16Tiles), none (fp32).
    private static func bitsCount(_ config: LlamaConfig, _ form: Form) -> Int {
        switch form {
        case .fp32: return 0
        case .bf16Widened: return LlamaParameters.layout(config).count
        case .bf16Tiles: return config.vocabSize * config.hiddenSize
        }
    }

    /// Bytes held beyond the fp32 parameters, counted from what this instance allocated.
    public var bytes: Int {
        let packed = resident.flatMap(\.matrices).reduce(packedHead?.bytes ?? 0) {
            if case .tiles(let p) = $1 { return $0 + p.bytes }
            return $0
        }
        return packed + 2 * bitsCount + (norms == nil ? 0 : (2 * config.numHiddenLayers + 1) * config.hiddenSize * 4)
    }

    /// Bytes weights of `config` in `form` hold beyond the fp32 parameters: none for fp32; for
    /// bf16 the bf16 copy (bf16Tiles: the packed matrices and the embedding's bits) and fp32 norms.
    public static func bytes(config: LlamaConfig, form: Form) -> Int {
        guard form != .fp32 else { return 0 }
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kvd = config.kvDim
        let inter = config.intermediateSize
        var total = 2 * bitsCount(config, form) + (2 * config.numHiddenLayers + 1) * c * 4
        if form == .bf16Tiles {
            // (in, out) of q, k, v, o, gate, up, down
            let layer = [(c, qd), (c, kvd), (c, kvd), (qd, c), (c, inter), (c, inter), (inter, c)]
                .reduce(0) { $0 + BF16Matmul.PackedMatrix.bytes(k: $1.0, n: $1.1) }
            total += config.numHiddenLayers * layer + BF16Matmul.PackedMatrix.bytes(k: c, n: config.vocabSize)
        }
        return total
    }

    /// Floats of fp32 scratch `layer` and `head` need to widen into (bf16Widened; 0 otherwise).
    public static func scratchCount(config: LlamaConfig, form: Form) -> Int {
        guard form == .bf16Widened else { return 0 }
        let layerSpan = LlamaParameters.layout(config).views.filter { $0.name.hasPrefix("model.layers.0.") }.reduce(0) {
            $0 + ($1.count + 15) / 16 * 16
        }
        return max(layerSpan, min(config.vocabSize, headBlock) * config.hiddenSize)
    }

    /// Layer l's matrices as the forward multiplies by them; bf16Widened widens them into `scratch`.
    func layer(_ l: Int, scratch: UnsafeMutablePointer<Float>) -> InferenceLayer {
        guard form == .bf16Widened else { return resident[l] }
        let span = layerSpans[l], c = config.hiddenSize
        BFloat16.unpack(scratch, bits! + span.offset, count: span.count)
        func at(_ name: String) -> InferenceMatrix {
            .fp32(scratch + (layout.views.first { $0.name == "model.layers.\(l).\(name)" }!.offset - span.offset))
        }
        return InferenceLayer(q: at("self_attn.q_proj.weight"), k: at("self_attn.k_proj.weight"), v: at("self_attn.v_proj.weight"),
                              o: at("self_attn.o_proj.weight"), gate: at("mlp.gate_proj.weight"), up: at("mlp.up_proj.weight"),
                              down: at("mlp.down_proj.weight"), inputNorm: norms! + 2 * l * c, postNorm: norms! + (2 * l + 1) * c)
    }

    /// The final norm's weight (C).
    var finalNorm: UnsafePointer<Float> { UnsafePointer(fp32?.norm ?? norms! + 2 * config.numHiddenLayers * config.hiddenSize) }

    // out (rows, columns.count), row stride ldc, = inp (rows, C) · lm_head[columns]ᵀ; columns start
    // at a multiple of 32. bf16Widened widens lm_head's rows into `scratch`, headBlock at a time.
    func head(_ out: UnsafeMutablePointer<Float>, ldc: Int, _ inp: UnsafePointer<Float>, rows: Int, columns: Range<Int>,
              scratch: UnsafeMutablePointer<Float>) {
        let c = config.hiddenSize
        switch form {
        case .fp32:
            matmul(out, ldc: ldc, inp, lda: c, fp32!.lmHead + columns.lowerBound * c, ldb: c, m: rows, n: columns.count, k: c,
                   transB: true)
        case .bf16Tiles:
            BF16Matmul.matmul(out, ldc: ldc, inp, lda: c, packed: packedHead!, columns: columns, m: rows)
        case .bf16Widened:
            for v0 in stride(from: columns.lowerBound, to: columns.upperBound, by: Self.headBlock) {
                let width = min(columns.upperBound, v0 + Self.headBlock) - v0
                BFloat16.unpack(scratch, bits! + headOffset + v0 * c, count: width * c)
                matmul(out + (v0 - columns.lowerBound), ldc: ldc, inp, lda: c, scratch, ldb: c, m: rows, n: width, k: c,
                       transB: true)
            }
        }
    }

    // out (N,C) = embedding rows of tokens (N)
    func embed(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, rows n: Int) {
        let c = config.hiddenSize
        if let fp32 {
            Embedding.forward(out: out, tokens: tokens, table: fp32.embed, rows: n, channels: c)
            return
        }
        for r in 0..<n { BFloat16.unpack(out + r * c, bits! + Int(tokens[r]) * c, count: c) }
    }
}

/// A weight matrix W (out, in) of an inference forward: fp32 as stored, or packed for AMX tiles.
enum InferenceMatrix {
    case fp32(UnsafePointer<Float>)
    case tiles(BF16Matmul.PackedMatrix)

    // out (N,O) = inp (N,I) · Wᵀ, or out += it with `accumulate`
    func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows n: Int, inDim i: Int, outDim o: Int,
                 accumulate: Bool = false) {
        switch self {
        case .fp32(let w): Linear.forward(out: out, inp: inp, weight: w, rows: n, inDim: i, outDim: o, accumulate: accumulate)
        case .tiles(let w): BF16Matmul.matmul(out, ldc: o, inp, lda: i, packed: w, m: n, beta: accumulate ? 1 : 0)
        }
    }
}

/// One decoder layer's weights as the inference forward multiplies by them.
struct InferenceLayer {
    let q, k, v, o, gate, up, down: InferenceMatrix
    let inputNorm, postNorm: UnsafePointer<Float>

    var matrices: [InferenceMatrix] { [q, k, v, o, gate, up, down] }
}

/// The (N, ·) buffers a decoder layer's inference forward works in, reused by every layer.
struct LayerBuffers {
    let x, ln, rstd, q, k, v, attn, gate, up: UnsafeMutablePointer<Float>

    /// Each buffer's name and floats per row: x, ln (N,C), rstd (N), q, attn (N,NH·hs), k, v (N,NKV·hs), gate, up (N,I).
    static func widths(_ config: LlamaConfig) -> [(String, Int)] {
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kv = config.kvDim, i = config.intermediateSize
        return [("x", c), ("ln", c), ("rstd", 1), ("q", qd), ("k", kv), ("v", kv), ("attn", qd), ("gate", i), ("up", i)]
    }

    init(_ arena: Arena) {
        func named(_ name: String) -> UnsafeMutablePointer<Float> { arena[name].baseAddress! }
        (x, ln, rstd, q, k, v) = (named("x"), named("ln"), named("rstd"), named("q"), named("k"), named("v"))
        (attn, gate, up) = (named("attn"), named("gate"), named("up"))
    }
}

/// One decoder layer of the inference forward, shared by scoring and the generator's cached steps.
enum DecoderLayer {
    // b.x (N,C) is the residual stream, updated in place:
    //   x = x + o_proj(attention(rope(q), rope(k), v)) over rmsnorm1(x)
    //   x = x + down_proj(silu(gate_proj(h)) · up_proj(h)) with h = rmsnorm2(x); the gated unit overwrites b.gate
    // `attention` fills b.attn (N,NH·hs) from the rotated b.q and b.k and from b.v.
    static func forward(_ w: InferenceLayer, _ b: LayerBuffers, rows n: Int, positions: UnsafePointer<Int32>, rope: RoPE,
                        config: LlamaConfig, attention: () -> Void) {
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kvd = config.kvDim
        let i = config.intermediateSize, eps = Float(config.rmsNormEps)
        RMSNorm.forward(out: b.ln, rstd: b.rstd, inp: b.x, weight: w.inputNorm, rows: n, channels: c, eps: eps)
        w.q.forward(out: b.q, inp: b.ln, rows: n, inDim: c, outDim: qd)
        w.k.forward(out: b.k, inp: b.ln, rows: n, inDim: c, outDim: kvd)
        w.v.forward(out: b.v, inp: b.ln, rows: n, inDim: c, outDim: kvd)
        rope.forward(b.q, positions: positions, rows: n, heads: config.numAttentionHeads)
        rope.forward(b.k, positions: positions, rows: n, heads: config.numKeyValueHeads)
        attention()
        w.o.forward(out: b.x, inp: b.attn, rows: n, inDim: qd, outDim: c, accumulate: true)
        RMSNorm.forward(out: b.ln, rstd: b.rstd, inp: b.x, weight: w.postNorm, rows: n, channels: c, eps: eps)
        w.gate.forward(out: b.gate, inp: b.ln, rows: n, inDim: c, outDim: i)
        w.up.forward(out: b.up, inp: b.ln, rows: n, inDim: c, outDim: i)
        SwiGLU.forward(out: b.gate, gate: b.gate, up: b.up, count: n * i)
        w.down.forward(out: b.x, inp: b.gate, rows: n, inDim: i, outDim: c, accumulate: true)
    }
}

/// Log-probabilities of wanted tokens under a Llama, for evaluation: no activations kept for
/// backward, buffers sized once for (maxBatch, maxSeq) and reused by every layer and call.
/// Not thread-safe: one per thread (several may share one `InferenceWeights`).
public final class LlamaInference: @unchecked Sendable {
    public let weights: InferenceWeights
    public let config: LlamaConfig
    public let maxBatch: Int
    public let maxSeq: Int
    let rope: RoPE
    private let arena: Arena
    private let b: LayerBuffers
    private let probs, gathered, tile, widened: UnsafeMutablePointer<Float>
    private let rowMax, rowSum, picked: UnsafeMutablePointer<Float>
    private let ints: UnsafeMutablePointer<Int32>
    /// lm_head tiles: rows of the wanted positions × a block of the vocabulary.
    static let tileRows = 256
    let vocabBlock: Int

    public init(weights: InferenceWeights, maxBatch: Int, maxSeq: Int) {
        self.weights = weights
        config = weights.config
        self.maxBatch = maxBatch
        self.maxSeq = maxSeq
        rope = RoPE(headDim: config.headDim, maxPositions: max(config.maxPositionEmbeddings, maxSeq), theta: config.ropeTheta)
        let shape = Self.bufferShape(config: config, form: weights.form, maxBatch: maxBatch, maxSeq: maxSeq)
        vocabBlock = shape.vocabBlock
        var layout = ArenaLayout()
        for (name, count) in shape.buffers { layout.add(name, [count]) }
        arena = Arena(layout)
        let arena = arena
        func named(_ name: String) -> UnsafeMutablePointer<Float> { arena[name].baseAddress! }
        b = LayerBuffers(arena)
        (probs, gathered, tile, widened) = (named("probs"), named("gathered"), named("tile"), named("widened"))
        (rowMax, rowSum, picked) = (named("rowMax"), named("rowSum"), named("picked"))
        let n = maxBatch * maxSeq
        ints = .allocate(capacity: 4 * n)
        ints.initialize(repeating: 0, count: 4 * n)
    }

    deinit { ints.deallocate() }

    /// The fp32 buffers of an inference forward at (maxBatch, maxSeq), by name and element count.
    static func bufferShape(config: LlamaConfig, form: InferenceWeights.Form, maxBatch: Int, maxSeq: Int)
        -> (buffers: [(String, Int)], vocabBlock: Int) {
        let n = maxBatch * maxSeq, c = config.hiddenSize, vocab = config.vocabSize
        let vocabBlock = min(vocab, InferenceWeights.headBlock)
        let widened = InferenceWeights.scratchCount(config: config, form: form)
        return (LayerBuffers.widths(config).map { ($0.0, n * $0.1) } + [("probs", maxBatch * config.numAttentionHeads * maxSeq * maxSeq),
                 ("gathered", n * c), ("tile", min(n, tileRows) * vocabBlock), ("widened", widened),
                 ("rowMax", n), ("rowSum", n), ("picked", n)], vocabBlock)
    }

    /// Bytes of buffers an inference forward at (maxBatch, maxSeq) holds, beside its weights.
    public static func bufferBytes(config: LlamaConfig, form: InferenceWeights.Form, maxBatch: Int, maxSeq: Int) -> Int {
        let floats = bufferShape(config: config, form: form, maxBatch: maxBatch, maxSeq: maxSeq).buffers
            .reduce(0) { $0 + ($1.1 + 15) / 16 * 16 }
        return 4 * floats + 16 * maxBatch * maxSeq
    }

    /// When every row is one sequence followed by padding (segments 0 then -1, as the scorer
    /// batches them), each row's length; nil when some row packs several documents.
    static func plainLengths(segments: UnsafePointer<Int32>, batch: Int, seq: Int) -> [Int]? {
        var lengths: [Int] = []
        for row in 0..<batch {
            let ids = segments + row * seq
            var length = 0
            while length < seq && ids[length] == 0 { length += 1 }
            for j in length..<seq where ids[j] >= 0 { return nil }
            lengths.append(length)
        }
        return lengths
    }

    // b.attn (B·T, NH·hs) from b.q, b.k, b.v. Rows of one sequence and padding attend without a
    // mask over their own length (the masked kernel tests each key's segment, which costs more
    // than the products); padding positions get zeros, as the masked kernel gives them.
    private func attention(segments: UnsafePointer<Int32>, lengths: [Int]?, batch: Int, seq: Int) {
        let (nh, nkv, hs) = (config.numAttentionHeads, config.numKeyValueHeads, config.headDim)
        guard let lengths else {
            Attention.forward(out: b.attn, probs: probs, q: b.q, k: b.k, v: b.v, segments: segments, batch: batch, seq: seq,
                              heads: nh, kvHeads: nkv, headDim: hs)
            return
        }
        if lengths.allSatisfy({ $0 == seq }) {
            Attention.forward(out: b.attn, probs: probs, q: b.q, k: b.k, v: b.v, segments: nil, batch: batch, seq: seq,
                              heads: nh, kvHeads: nkv, headDim: hs)
            return
        }
        let qd = nh * hs, kvd = config.kvDim
        for (row, length) in lengths.enumerated() {
            let first = row * seq
            if length > 0 {
                Attention.forward(out: b.attn + first * qd, probs: probs, q: b.q + first * qd, k: b.k + first * kvd,
                                  v: b.v + first * kvd, segments: nil, batch: 1, seq: length, heads: nh, kvHeads: nkv, headDim: hs)
            }
            (b.attn + (first + length) * qd).update(repeating: 0, count: (seq - length) * qd)
        }
    }

    /// Writes into out (B,T) log p(targets[j] | the row's tokens up to j) wherever targets[j] ≥ 0,
    /// and 0 elsewhere, for tokens (B,T). `segments` as in `Llama.forward` (nil: one sequence a
    /// row; a negative id marks padding, which attends to nothing and is never wanted).
    public func logProbs(tokens: UnsafePointer<Int32>, segments: UnsafePointer<Int32>? = nil, targets: UnsafePointer<Int32>,
                         batch: Int, seq: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(batch >= 1 && batch <= maxBatch && seq >= 1 && seq <= maxSeq,
                     "batch (\(batch), \(seq)) exceeds the (\(maxBatch), \(maxSeq)) buffers were sized for")
        let n = batch * seq, c = config.hiddenSize, vocab = config.vocabSize, eps = Float(config.rmsNormEps)
        for j in 0..<n {
            precondition(tokens[j] >= 0 && Int(tokens[j]) < vocab, "token \(tokens[j]) at \(j) is outside the vocabulary of \(vocab)")
            precondition(targets[j] < Int32(vocab), "target \(targets[j]) at \(j) is outside the vocabulary of \(vocab)")
        }
        let seg = ints, positions = ints + n, wanted = ints + 2 * n
        if let segments { seg.update(from: segments, count: n) } else { seg.update(repeating: 0, count: n) }
        Llama.positions(segments: seg, batch: batch, seq: seq, into: positions)

        let lengths = Self.plainLengths(segments: seg, batch: batch, seq: seq)
        weights.embed(out: b.x, tokens: tokens, rows: n)
        for l in 0..<config.numHiddenLayers {
            DecoderLayer.forward(weights.layer(l, scratch: widened), b, rows: n, positions: positions, rope: rope, config: config) {
                attention(segments: seg, lengths: lengths, batch: batch, seq: seq)
            }
        }

        // Only wanted positions go through the final norm and lm_head: m rows, gathered in order.
        var m = 0
        for j in 0..<n where targets[j] >= 0 && seg[j] >= 0 {
            wanted[m] = Int32(j)
            (gathered + m * c).update(from: b.x + j * c, count: c)
            m += 1
        }
        out.update(repeating: 0, count: n)
        guard m > 0 else { return }
        let lnf = b.ln
        RMSNorm.forward(out: lnf, rstd: b.rstd, inp: gathered, weight: weights.finalNorm, rows: m, channels: c, eps: eps)
        rowMax.update(repeating: -.infinity, count: m)
        rowSum.update(repeating: 0, count: m)
        for v0 in stride(from: 0, to: vocab, by: vocabBlock) {
            let v1 = min(vocab, v0 + vocabBlock), width = v1 - v0
            for r0 in stride(from: 0, to: m, by: Self.tileRows) {
                let rows = min(m, r0 + Self.tileRows) - r0
                // tile (rows, width) = lnf rows · lm_head[v0..<v1]ᵀ
                weights.head(tile, ldc: width, lnf + r0 * c, rows: rows, columns: v0..<v1, scratch: widened)
                Parallel.forRange(rows, costPerItem: 4 * width) { range in
                    for r in range {
                        let row = tile + r * width, g = r0 + r
                        let blockMax = VectorMath.max(row, count: width)
                        let shift = Swift.max(blockMax, rowMax[g])
                        // Σ e^(z − shift) over the blocks so far, rescaled when the running max moves up
                        rowSum[g] = rowSum[g] * expf(rowMax[g] - shift) + VectorMath.sumExpShifted(row, count: width, by: shift)
                        rowMax[g] = shift
                        let target = Int(targets[Int(wanted[g])])
                        if target >= v0 && target < v1 { picked[g] = row[target - v0] }
                    }
                }
            }
        }
        for g in 0..<m { out[Int(wanted[g])] = picked[g] - (rowMax[g] + logf(rowSum[g])) }
    }
}
