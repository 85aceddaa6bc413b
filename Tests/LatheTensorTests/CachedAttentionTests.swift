import Testing
import LatheTensor

@Suite("CachedAttention") struct CachedAttentionTests {
    // Every position of two sequences queried against a cache holding their keys and values
    // (with spare capacity after them) equals causal attention over the whole sequences.
    @Test func matchesCausalAttentionReference() {
        let b = 2, t = 5, nh = 4, nkv = 2, hs = 6, capacity = 7
        let q = randomValues(b * t * nh * hs, seed: 21), k = randomValues(b * t * nkv * hs, seed: 22)
        let v = randomValues(k.count, seed: 23)
        var keys = zeros(b * capacity * nkv * hs), values = zeros(keys.count)
        for s in 0..<b {
            for p in 0..<t {
                for j in 0..<(nkv * hs) {
                    keys[(s * capacity + p) * nkv * hs + j] = Float(k[(s * t + p) * nkv * hs + j])
                    values[(s * capacity + p) * nkv * hs + j] = Float(v[(s * t + p) * nkv * hs + j])
                }
            }
        }
        let slots = (0..<(b * t)).map { Int32($0 / t) }, positions = (0..<(b * t)).map { Int32($0 % t) }
        var out = zeros(q.count)
        CachedAttention.forward(out: &out, q: floats(q), keys: keys, values: values, slots: slots, positions: positions,
                                rows: b * t, capacity: capacity, heads: nh, kvHeads: nkv, headDim: hs)
        let expected = Attention.Reference.forward(q: q, k: k, v: v, segments: nil, batch: b, seq: t, heads: nh,
                                                   kvHeads: nkv, headDim: hs)
        #expect(relativeError(out.doubles, expected) < 1e-5)
    }
}
