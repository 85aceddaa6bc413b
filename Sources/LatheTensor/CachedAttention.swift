#if canImport(Glibc)
import Glibc
#endif

/// Causal grouped-query attention of a few new query rows against a key/value cache, the
/// inner step of incremental decoding. Each query row belongs to one cache slot (one
/// sequence) at one position, and attends to that slot's positions 0...position, its own
/// key and value included (the caller writes them into the cache first).
public enum CachedAttention {
    // out is (N,NH,hs); q is (N,NH,hs), already rotated; keys and values are one layer's cache,
    // (slots, capacity, NKV, hs); slots and positions are (N)
    public static func forward(out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                               keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                               slots: UnsafePointer<Int32>, positions: UnsafePointer<Int32>,
                               rows n: Int, capacity: Int, heads nh: Int, kvHeads nkv: Int, headDim hs: Int) {
        precondition(nh % nkv == 0, "\(nkv) kv heads do not divide \(nh) query heads")
        let group = nh / nkv, ckv = nkv * hs
        let scale = 1 / Float(hs).squareRoot()
        var longest = 0
        for r in 0..<n { longest = max(longest, Int(positions[r]) + 1) }
        Parallel.forRange(n * nh, costPerItem: 4 * longest * hs) { items in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(longest, 1))
            defer { scores.deallocate() }
            for item in items {
                let r = item / nh, h = item % nh
                let p = Int(positions[r]), slot = Int(slots[r])
                precondition(p >= 0 && p < capacity, "cache position \(p) outside 0..<\(capacity)")
                let qh = q + (r * nh + h) * hs
                let base = slot * capacity * ckv + (h / group) * hs
                var maxScore = -Float.infinity
                for s in 0...p {
                    let k = keys + base + s * ckv
                    var dot: Float = 0
                    for d in 0..<hs { dot += qh[d] * k[d] }
                    scores[s] = dot * scale
                    maxScore = max(maxScore, scores[s])
                }
                var sum: Float = 0
                for s in 0...p {
                    scores[s] = expf(scores[s] - maxScore)
                    sum += scores[s]
                }
                let o = out + (r * nh + h) * hs
                o.update(repeating: 0, count: hs)
                let inv = 1 / sum
                for s in 0...p {
                    let v = values + base + s * ckv, w = scores[s] * inv
                    for d in 0..<hs { o[d] += w * v[d] }
                }
            }
        }
    }
}
