import LatheTensor

/// Why a generation problem cannot be run, e.g. a prompt that does not fit the cache.
public struct GenerationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Incremental decoding over a Llama's parameters with a KV cache: a prompt is run once
/// (prefill), then each new token costs one row per layer. Several sequences of different
/// lengths share each step: their new rows are packed together, every matrix product runs
/// once over all of them, and only attention looks at each row's own slot of the cache.
///
/// The arithmetic per row is the training forward's (`Llama.forward`), so logits agree with it
/// to float rounding. Not thread-safe: one generator per thread.
public final class Generator: @unchecked Sendable {
    public let params: LlamaParameters
    public let config: LlamaConfig
    public let cache: KVCache
    let rope: RoPE
    private var rowsAllocated = 0
    private var scratch = Arena(ArenaLayout())
    private var buffers: Buffers?

    /// Room for `slots` sequences of up to `capacity` tokens each (prompt plus generated).
    public init(params: LlamaParameters, slots: Int, capacity: Int) {
        self.params = params
        config = params.config
        cache = KVCache(config: config, slots: slots, capacity: capacity)
        rope = RoPE(headDim: config.headDim, maxPositions: capacity, theta: config.ropeTheta)
    }

    public var slots: Int { cache.slots }
    public var capacity: Int { cache.capacity }

    // Per-step activations for N packed rows; regrown (not per step) when a step has more rows.
    private struct Buffers {
        let x, ln, q, k, v, attn, gate, up, hidden, rstd: UnsafeMutablePointer<Float>
        let slots, positions: UnsafeMutablePointer<Int32>
        let slotArena: UnsafeMutableBufferPointer<Int32>
    }

    private func buffers(rows n: Int) -> Buffers {
        if let buffers, n <= rowsAllocated { return buffers }
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kv = config.kvDim
        let i = config.intermediateSize
        var layout = ArenaLayout()
        for (name, width) in [("x", c), ("ln", c), ("q", qd), ("k", kv), ("v", kv), ("attn", qd),
                              ("gate", i), ("up", i), ("hidden", i), ("rstd", 1)] {
            layout.add(name, [n, width])
        }
        scratch = Arena(layout)
        buffers?.slotArena.deallocate()
        let ints = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 2 * n)
        let s = scratch
        func p(_ name: String) -> UnsafeMutablePointer<Float> { s[name].baseAddress! }
        let made = Buffers(x: p("x"), ln: p("ln"), q: p("q"), k: p("k"), v: p("v"), attn: p("attn"), gate: p("gate"),
                           up: p("up"), hidden: p("hidden"), rstd: p("rstd"), slots: ints.baseAddress!,
                           positions: ints.baseAddress! + n, slotArena: ints)
        buffers = made
        rowsAllocated = n
        return made
    }

    deinit { buffers?.slotArena.deallocate() }

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
        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim, kvd = config.kvDim
        let i = config.intermediateSize, nh = config.numAttentionHeads, nkv = config.numKeyValueHeads
        let vocab = config.vocabSize, eps = Float(config.rmsNormEps)
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

        tokens.withUnsafeBufferPointer { Embedding.forward(out: b.x, tokens: $0.baseAddress!, table: params.embed, rows: n, channels: c) }
        for l in 0..<config.numHiddenLayers {
            let w = params.layers[l]
            // x = x + o_proj(attention(rope(q), cached rope(k), cached v)) over rmsnorm1(x)
            RMSNorm.forward(out: b.ln, rstd: b.rstd, inp: b.x, weight: w.inputNorm, rows: n, channels: c, eps: eps)
            Linear.forward(out: b.q, inp: b.ln, weight: w.q, rows: n, inDim: c, outDim: qd)
            Linear.forward(out: b.k, inp: b.ln, weight: w.k, rows: n, inDim: c, outDim: kvd)
            Linear.forward(out: b.v, inp: b.ln, weight: w.v, rows: n, inDim: c, outDim: kvd)
            rope.forward(b.q, positions: b.positions, rows: n, heads: nh)
            rope.forward(b.k, positions: b.positions, rows: n, heads: nkv)
            for r in 0..<n {
                let at = (Int(b.slots[r]) * cache.capacity + Int(b.positions[r])) * kvd
                (cache.keys[l] + at).update(from: b.k + r * kvd, count: kvd)
                (cache.values[l] + at).update(from: b.v + r * kvd, count: kvd)
            }
            CachedAttention.forward(out: b.attn, q: b.q, keys: cache.keys[l], values: cache.values[l], slots: b.slots,
                                    positions: b.positions, rows: n, capacity: cache.capacity, heads: nh, kvHeads: nkv,
                                    headDim: config.headDim)
            Linear.forward(out: b.x, inp: b.attn, weight: w.o, rows: n, inDim: qd, outDim: c, accumulate: true)
            // x = x + down_proj(silu(gate_proj(h)) · up_proj(h)) with h = rmsnorm2(x)
            RMSNorm.forward(out: b.ln, rstd: b.rstd, inp: b.x, weight: w.postNorm, rows: n, channels: c, eps: eps)
            Linear.forward(out: b.gate, inp: b.ln, weight: w.gate, rows: n, inDim: c, outDim: i)
            Linear.forward(out: b.up, inp: b.ln, weight: w.up, rows: n, inDim: c, outDim: i)
            SwiGLU.forward(out: b.hidden, gate: b.gate, up: b.up, count: n * i)
            Linear.forward(out: b.x, inp: b.hidden, weight: w.down, rows: n, inDim: i, outDim: c, accumulate: true)
        }
        for (slot, new) in requests { cache.lengths[slot] += new.count }

        // Only the rows that need logits go through the final norm and lm_head (V wide).
        let wanted: [Int] = which == .all ? Array(0..<n) : rowOfRequest.map { $0.upperBound - 1 }
        for (j, r) in wanted.enumerated() where j != r { (b.x + j * c).update(from: b.x + r * c, count: c) }
        let m = wanted.count
        RMSNorm.forward(out: b.ln, rstd: b.rstd, inp: b.x, weight: params.norm, rows: m, channels: c, eps: eps)
        var logits = [Float](repeating: 0, count: m * vocab)
        logits.withUnsafeMutableBufferPointer {
            Linear.forward(out: $0.baseAddress!, inp: b.ln, weight: params.lmHead, rows: m, inDim: c, outDim: vocab)
        }
        var start = 0
        return rowOfRequest.map { rows in
            let count = which == .all ? rows.count : 1
            defer { start += count }
            return Array(logits[start * vocab..<(start + count) * vocab])
        }
    }
}
