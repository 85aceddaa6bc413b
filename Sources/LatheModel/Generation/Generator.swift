import LatheTensor

/// Why a generation problem cannot be run, e.g. a prompt that does not fit the cache.
public struct GenerationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Incremental decoding over a Llama's weights with a KV cache: a prompt is run once
/// (prefill), then each new token costs one row per layer. Several sequences of different
/// lengths share each step: their new rows are packed together, every matrix product runs
/// once over all of them, and only attention looks at each row's own slot of the cache.
///
/// The arithmetic per row is the scoring forward's (`LlamaInference`) on the same weights; with
/// fp32 weights it is the training forward's (`Llama.forward`), so logits agree with it to float
/// rounding. Not thread-safe: one generator per thread (several may share one `InferenceWeights`).
public final class Generator: @unchecked Sendable {
    public let weights: InferenceWeights
    public let config: LlamaConfig
    public let cache: KVCache
    let rope: RoPE
    private var rowsAllocated = 0
    private var scratch = Arena(ArenaLayout())
    private var buffers: Buffers?
    /// (NH, L, L) attention weights of the longest prompt prefilled so far into an empty slot.
    private var prefillProbs: [Float] = []
    /// Where bf16 weights without AMX are widened to fp32, a layer at a time.
    private let widened: UnsafeMutablePointer<Float>

    /// Room for `slots` sequences of up to `capacity` tokens each (prompt plus generated), over
    /// the fp32 parameters as they are (a trainer's updates are seen by the next step).
    public convenience init(params: LlamaParameters, slots: Int, capacity: Int) {
        self.init(weights: InferenceWeights(params, form: .fp32), slots: slots, capacity: capacity)
    }

    public init(weights: InferenceWeights, slots: Int, capacity: Int) {
        self.weights = weights
        config = weights.config
        cache = KVCache(config: config, slots: slots, capacity: capacity)
        rope = RoPE(headDim: config.headDim, maxPositions: capacity, theta: config.ropeTheta)
        widened = .allocate(capacity: max(1, InferenceWeights.scratchCount(config: config, form: weights.form)))
    }

    public var slots: Int { cache.slots }
    public var capacity: Int { cache.capacity }

    // Per-step activations for N packed rows; regrown (not per step) when a step has more rows.
    private struct Buffers {
        let layer: LayerBuffers
        let slots, positions: UnsafeMutablePointer<Int32>
        let slotArena: UnsafeMutableBufferPointer<Int32>
    }

    private func buffers(rows n: Int) -> Buffers {
        if let buffers, n <= rowsAllocated { return buffers }
        var layout = ArenaLayout()
        for (name, width) in LayerBuffers.widths(config) { layout.add(name, [n, width]) }
        scratch = Arena(layout)
        buffers?.slotArena.deallocate()
        let ints = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 2 * n)
        let made = Buffers(layer: LayerBuffers(scratch), slots: ints.baseAddress!, positions: ints.baseAddress! + n, slotArena: ints)
        buffers = made
        rowsAllocated = n
        return made
    }

    deinit {
        buffers?.slotArena.deallocate()
        widened.deallocate()
    }

    /// Which rows of a step need logits.
    public enum LogitRows: Sendable {
        /// Only each request's last token: what sampling the next token needs.
        case last
        /// Every token of each request: what scoring a continuation needs.
        case all
    }

    /// Appends `tokens` to each request's slot and returns logits (V floats per row, rows
    /// concatenated) for each request, in request order: one row with `.last`, one per token
    /// with `.all`. A slot appears at most once per call.
    public func extend(_ requests: [(slot: Int, tokens: [Int32])], logits which: LogitRows = .last)
        throws(GenerationError) -> [[Float]] {
        let c = config.hiddenSize, kvd = config.kvDim, vocab = config.vocabSize, eps = Float(config.rmsNormEps)
        var seen = Set<Int>()
        var n = 0
        for (slot, tokens) in requests {
            guard slot >= 0 && slot < cache.slots, seen.insert(slot).inserted else {
                throw GenerationError("slot \(slot) is outside 0..<\(cache.slots) or appears twice in one step")
            }
            guard !tokens.isEmpty else { throw GenerationError("slot \(slot): a step needs at least one new token") }
            guard cache.lengths[slot] + tokens.count <= cache.capacity else {
                throw GenerationError("slot \(slot): \(cache.lengths[slot]) cached + \(tokens.count) new tokens exceed the "
                                      + "cache capacity of \(cache.capacity); use a larger capacity or a shorter prompt")
            }
            for token in tokens where token < 0 || Int(token) >= vocab {
                throw GenerationError("token \(token) is outside the vocabulary of \(vocab)")
            }
            n += tokens.count
        }
        if n == 0 { return [] }
        let b = buffers(rows: n)
        var tokens = [Int32](), rowOfRequest: [Range<Int>] = []
        tokens.reserveCapacity(n)
        for (slot, new) in requests {
            rowOfRequest.append(tokens.count..<tokens.count + new.count)
            for (j, token) in new.enumerated() {
                b.slots[tokens.count] = Int32(slot)
                b.positions[tokens.count] = Int32(cache.lengths[slot] + j)
                tokens.append(token)
            }
        }

        // A prompt of several tokens into an empty slot is a whole sequence: its attention is the
        // scoring forward's blocked kernel over its own rows. Other requests attend over the cache.
        let fresh = requests.map { cache.lengths[$0.slot] == 0 && $0.tokens.count > 1 }
        let longest = zip(fresh, rowOfRequest).map { $0 ? $1.count : 0 }.max() ?? 0
        let nh = config.numAttentionHeads, qd = nh * config.headDim
        if nh * longest * longest > prefillProbs.count { prefillProbs = [Float](repeating: 0, count: nh * longest * longest) }
        func attend(_ l: Int, rows: Range<Int>, prefill: Bool) {
            let (lo, count) = (rows.lowerBound, rows.count)
            let (q, k, v, attn) = (b.layer.q + lo * qd, b.layer.k + lo * kvd, b.layer.v + lo * kvd, b.layer.attn + lo * qd)
            if prefill {
                prefillProbs.withUnsafeMutableBufferPointer {
                    Attention.forward(out: attn, probs: $0.baseAddress!, q: q, k: k, v: v, segments: nil, batch: 1, seq: count,
                                      heads: nh, kvHeads: config.numKeyValueHeads, headDim: config.headDim)
                }
            } else {
                CachedAttention.forward(out: attn, q: q, keys: cache.keys[l], values: cache.values[l], slots: b.slots + lo,
                                        positions: b.positions + lo, rows: count, capacity: cache.capacity, heads: nh,
                                        kvHeads: config.numKeyValueHeads, headDim: config.headDim)
            }
        }

        let x = b.layer.x
        tokens.withUnsafeBufferPointer { weights.embed(out: x, tokens: $0.baseAddress!, rows: n) }
        for l in 0..<config.numHiddenLayers {
            DecoderLayer.forward(weights.layer(l, scratch: widened), b.layer, rows: n, positions: b.positions, rope: rope, config: config) {
                // each new row's rotated key and value go to its slot's position, then the rows attend over the cache
                for r in 0..<n {
                    let at = (Int(b.slots[r]) * cache.capacity + Int(b.positions[r])) * kvd
                    (cache.keys[l] + at).update(from: b.layer.k + r * kvd, count: kvd)
                    (cache.values[l] + at).update(from: b.layer.v + r * kvd, count: kvd)
                }
                if !fresh.contains(true) {
                    attend(l, rows: 0..<n, prefill: false)
                } else {
                    for (prefill, rows) in zip(fresh, rowOfRequest) { attend(l, rows: rows, prefill: prefill) }
                }
            }
        }
        for (slot, new) in requests { cache.lengths[slot] += new.count }

        // Only the rows that need logits go through the final norm and lm_head (V wide).
        let wanted: [Int] = which == .all ? Array(0..<n) : rowOfRequest.map { $0.upperBound - 1 }
        for (j, r) in wanted.enumerated() where j != r { (x + j * c).update(from: x + r * c, count: c) }
        let m = wanted.count
        RMSNorm.forward(out: b.layer.ln, rstd: b.layer.rstd, inp: x, weight: weights.finalNorm, rows: m, channels: c, eps: eps)
        var logits = [Float](repeating: 0, count: m * vocab)
        logits.withUnsafeMutableBufferPointer {
            weights.head($0.baseAddress!, ldc: vocab, b.layer.ln, rows: m, columns: 0..<vocab, scratch: widened)
        }
        var start = 0
        return rowOfRequest.map { rows in
            let count = which == .all ? rows.count : 1
            defer { start += count }
            return Array(logits[start * vocab..<(start + count) * vocab])
        }
    }
}
