#if canImport(Glibc)
import Glibc
#endif

/// Causal multi-head attention with grouped-query heads (query head h reads kv head
/// h / (NH/NKV)) over packed sequences.
///
/// `segments` (B,T) gives each position a document id: position t attends to s only when
/// s ≤ t and both carry the same id, so packed documents never see each other. A negative
/// id marks padding: a padding position attends to nothing and its output is zero. Nil means
/// one document per row. The four products per head go through BLAS; the masked softmax
/// and its backward run row-parallel.
public enum Attention {
    /// Elements of scratch `backward` needs: B·NH·T·T.
    public static func scratchCount(batch b: Int, seq t: Int, heads nh: Int) -> Int { b * nh * t * t }

    // out is (B,T,NH,hs); probs is (B,NH,T,T), kept for backward;
    // q is (B,T,NH,hs); k and v are (B,T,NKV,hs), already rotated; segments is (B,T) or nil
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               segments: UnsafePointer<Int32>?, batch b: Int, seq t: Int,
                               heads nh: Int, kvHeads nkv: Int, headDim hs: Int) {
        precondition(nh % nkv == 0, "\(nkv) kv heads do not divide \(nh) query heads")
        let c = nh * hs, ckv = nkv * hs, group = nh / nkv
        let scale = 1 / Float(hs).squareRoot()
        for bi in 0..<b {
            for h in 0..<nh {
                // scores (T,T) = scale · q_h (T,hs) · k_hᵀ (hs,T)
                matmul(probs + (bi * nh + h) * t * t, ldc: t, q + bi * t * c + h * hs, lda: c,
                       k + bi * t * ckv + (h / group) * hs, ldb: ckv, m: t, n: t, k: hs, transB: true, alpha: scale)
            }
        }
        Parallel.forRange(b * nh * t, costPerItem: 12 * t) { rows in
            for r in rows {
                let bi = r / (nh * t), ti = r % t
                maskedSoftmax(probs + r * t, query: ti, segments: segments.map { $0 + bi * t }, seq: t)
            }
        }
        for bi in 0..<b {
            for h in 0..<nh {
                // out_h (T,hs) = probs (T,T) · v_h (T,hs)
                matmul(out + bi * t * c + h * hs, ldc: c, probs + (bi * nh + h) * t * t, lda: t,
                       v + bi * t * ckv + (h / group) * hs, ldb: ckv, m: t, n: hs, k: t)
            }
        }
    }

    // In place over one row of scores (T): the softmax over the keys this query may see, 0 elsewhere.
    @inline(__always)
    static func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, query ti: Int, segments: UnsafePointer<Int32>?, seq t: Int) {
        let own = segments?[ti] ?? 0
        @inline(__always) func visible(_ s: Int) -> Bool { s <= ti && own >= 0 && (segments?[s] ?? 0) == own }
        var maxScore = -Float.infinity
        for s in 0...ti where visible(s) { maxScore = max(maxScore, row[s]) }
        if maxScore == -.infinity {
            row.update(repeating: 0, count: t)
            return
        }
        var sum: Float = 0
        for s in 0..<t {
            let e = visible(s) ? expf(row[s] - maxScore) : 0
            row[s] = e
            sum += e
        }
        let inv = 1 / sum
        for s in 0...ti { row[s] *= inv }
    }

    // dq (B,T,NH,hs), dk and dv (B,T,NKV,hs) += gradients from dout (B,T,NH,hs);
    // scratch holds B·NH·T·T floats and is overwritten
    public static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                dv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                v: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                                batch b: Int, seq t: Int, heads nh: Int, kvHeads nkv: Int, headDim hs: Int) {
        let c = nh * hs, ckv = nkv * hs, group = nh / nkv
        let scale = 1 / Float(hs).squareRoot()
        for bi in 0..<b {
            for h in 0..<nh {
                let p = probs + (bi * nh + h) * t * t, dp = scratch + (bi * nh + h) * t * t
                let doh = dout + bi * t * c + h * hs
                let kv = bi * t * ckv + (h / group) * hs
                // dprobs (T,T) = dout_h (T,hs) · v_hᵀ
                matmul(dp, ldc: t, doh, lda: c, v + kv, ldb: ckv, m: t, n: t, k: hs, transB: true)
                // dv_h (T,hs) += probsᵀ (T,T) · dout_h (T,hs)
                matmul(dv + kv, ldc: ckv, p, lda: t, doh, ldb: c, m: t, n: hs, k: t, transA: true, beta: 1)
            }
        }
        // dscores = probs ⊙ (dprobs − Σ_s probs·dprobs), row by row; masked entries stay 0
        Parallel.forRange(b * nh * t, costPerItem: 4 * t) { rows in
            for r in rows {
                let p = probs + r * t, d = scratch + r * t
                let last = r % t
                var dot: Float = 0
                for s in 0...last { dot += p[s] * d[s] }
                for s in 0...last { d[s] = p[s] * (d[s] - dot) }
                if last + 1 < t { (d + last + 1).update(repeating: 0, count: t - last - 1) }
            }
        }
        for bi in 0..<b {
            for h in 0..<nh {
                let ds = scratch + (bi * nh + h) * t * t
                let qh = bi * t * c + h * hs, kv = bi * t * ckv + (h / group) * hs
                // dq_h (T,hs) += scale · dscores (T,T) · k_h (T,hs)
                matmul(dq + qh, ldc: c, ds, lda: t, k + kv, ldb: ckv, m: t, n: hs, k: t, alpha: scale, beta: 1)
                // dk_h (T,hs) += scale · dscoresᵀ · q_h (T,hs)
                matmul(dk + kv, ldc: ckv, ds, lda: t, q + qh, ldb: c, m: t, n: hs, k: t,
                       transA: true, alpha: scale, beta: 1)
            }
        }
    }

    public enum Reference {
        static func visible(_ ti: Int, _ s: Int, _ seg: [Int32]?, _ bi: Int, _ t: Int) -> Bool {
            guard s <= ti else { return false }
            guard let seg else { return true }
            return seg[bi * t + ti] >= 0 && seg[bi * t + s] == seg[bi * t + ti]
        }

        public static func forward(q: [Double], k: [Double], v: [Double], segments: [Int32]?, batch b: Int, seq t: Int,
                                   heads nh: Int, kvHeads nkv: Int, headDim hs: Int) -> [Double] {
            var out = [Double](repeating: 0, count: b * t * nh * hs)
            for bi in 0..<b {
                for h in 0..<nh {
                    let kh = h / (nh / nkv)
                    for ti in 0..<t {
                        let keys = (0..<t).filter { visible(ti, $0, segments, bi, t) }
                        if keys.isEmpty { continue }
                        let scores = keys.map { s in
                            (0..<hs).map { q[((bi * t + ti) * nh + h) * hs + $0] * k[((bi * t + s) * nkv + kh) * hs + $0] }
                                .reduce(0, +) / Double(hs).squareRoot()
                        }
                        let m = scores.max()!
                        let weights = scores.map { exp($0 - m) }
                        let total = weights.reduce(0, +)
                        for (s, w) in zip(keys, weights) {
                            for d in 0..<hs {
                                out[((bi * t + ti) * nh + h) * hs + d] += w / total * v[((bi * t + s) * nkv + kh) * hs + d]
                            }
                        }
                    }
                }
            }
            return out
        }

        // Gradients derived position by position from the softmax, independently of the BLAS path.
        public static func backward(dout: [Double], q: [Double], k: [Double], v: [Double], segments: [Int32]?,
                                    batch b: Int, seq t: Int, heads nh: Int, kvHeads nkv: Int, headDim hs: Int)
            -> (dq: [Double], dk: [Double], dv: [Double]) {
            var dq = [Double](repeating: 0, count: q.count)
            var dk = [Double](repeating: 0, count: k.count), dv = [Double](repeating: 0, count: v.count)
            let scale = 1 / Double(hs).squareRoot()
            for bi in 0..<b {
                for h in 0..<nh {
                    let kh = h / (nh / nkv)
                    func qi(_ ti: Int, _ d: Int) -> Int { ((bi * t + ti) * nh + h) * hs + d }
                    func ki(_ s: Int, _ d: Int) -> Int { ((bi * t + s) * nkv + kh) * hs + d }
                    for ti in 0..<t {
                        let keys = (0..<t).filter { visible(ti, $0, segments, bi, t) }
                        if keys.isEmpty { continue }
                        let scores = keys.map { s in (0..<hs).map { q[qi(ti, $0)] * k[ki(s, $0)] }.reduce(0, +) * scale }
                        let m = scores.max()!
                        let e = scores.map { exp($0 - m) }
                        let total = e.reduce(0, +)
                        let p = e.map { $0 / total }
                        // dp_s = dout·v_s ; dscore_s = p_s (dp_s − Σ p dp)
                        let dp = keys.map { s in (0..<hs).map { dout[qi(ti, $0)] * v[ki(s, $0)] }.reduce(0, +) }
                        let mean = zip(p, dp).map(*).reduce(0, +)
                        for (j, s) in keys.enumerated() {
                            let dscore = p[j] * (dp[j] - mean) * scale
                            for d in 0..<hs {
                                dv[ki(s, d)] += p[j] * dout[qi(ti, d)]
                                dq[qi(ti, d)] += dscore * k[ki(s, d)]
                                dk[ki(s, d)] += dscore * q[qi(ti, d)]
                            }
                        }
                    }
                }
            }
            return (dq, dk, dv)
        }
    }
}
