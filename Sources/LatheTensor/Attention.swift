#if canImport(Glibc)
import Glibc
#endif

/// Causal multi-head attention with grouped-query heads (query head h reads kv head
/// h / (NH/NKV)) over packed sequences.
///
/// `segments` (B,T) gives each position a document id: position t attends to s only when
/// s ≤ t and both carry the same id, so packed documents never see each other. A negative
/// id marks padding: a padding position attends to nothing and its output is zero. Nil means
/// one document per row. The products per head go through BLAS (or, with bf16 precision, the
/// bf16 kernel), blocked by query rows to skip the masked upper triangle; heads run in parallel.
public enum Attention {
    /// Elements of scratch `backward` needs: B·NH·T·T.
    public static func scratchCount(batch b: Int, seq t: Int, heads nh: Int) -> Int { b * nh * t * t }

    /// Query rows handled per product: a block of rows [r0, r1) needs keys 0..<r1 only (the
    /// causal mask), so the products skip most of the masked upper triangle.
    static let rowBlock = 128

    // out is (B,T,NH,hs); probs is (B,NH,T,T), kept for backward (entries above the diagonal 0);
    // q is (B,T,NH,hs); k and v are (B,T,NKV,hs), already rotated; segments is (B,T) or nil.
    // One (batch, head) per task: its products run on that worker, beside their softmax.
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               segments: UnsafePointer<Int32>?, batch b: Int, seq t: Int,
                               heads nh: Int, kvHeads nkv: Int, headDim hs: Int, precision: MatmulPrecision = .fp32) {
        precondition(nh % nkv == 0, "\(nkv) kv heads do not divide \(nh) query heads")
        let c = nh * hs, ckv = nkv * hs, group = nh / nkv
        let scale = 1 / Float(hs).squareRoot()
        Parallel.forRange(b * nh, costPerItem: 2 * t * t * hs) { pairs in
            for pair in pairs {
                let bi = pair / nh, h = pair % nh
                let p = probs + pair * t * t, qh = q + bi * t * c + h * hs, kvh = bi * t * ckv + (h / group) * hs
                let oh = out + bi * t * c + h * hs
                let rowSegments = segments.map { $0 + bi * t }
                for r0 in stride(from: 0, to: t, by: rowBlock) {
                    let r1 = min(t, r0 + rowBlock)
                    // scores rows r0..<r1, keys 0..<r1 = scale · q_h · k_hᵀ
                    product(precision, p + r0 * t, ldc: t, qh + r0 * c, lda: c, k + kvh, ldb: ckv,
                            m: r1 - r0, n: r1, k: hs, transB: true, alpha: scale)
                    for ti in r0..<r1 { maskedSoftmax(p + ti * t, query: ti, segments: rowSegments, seq: t) }
                    // out_h rows r0..<r1 = probs (rows, keys 0..<r1) · v_h (keys, hs)
                    product(precision, oh + r0 * c, ldc: c, p + r0 * t, lda: t, v + kvh, ldb: ckv,
                            m: r1 - r0, n: hs, k: r1)
                }
            }
        }
    }

    // In place over one row of scores (T): the softmax over the keys this query may see, 0 elsewhere.
    // Only entries 0...query are read.
    @inline(__always)
    static func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, query ti: Int, segments: UnsafePointer<Int32>?, seq t: Int) {
        if let segments {
            let own = segments[ti]
            var maxScore = -Float.infinity
            if own >= 0 { for s in 0...ti where segments[s] == own { maxScore = max(maxScore, row[s]) } }
            if maxScore == -.infinity {
                row.update(repeating: 0, count: t)
                return
            }
            let sum = VectorMath.expShifted(row, count: ti + 1, by: maxScore) { s in segments[s] == own }
            VectorMath.scale(row, count: ti + 1, by: 1 / sum)
        } else {
            let maxScore = VectorMath.max(row, count: ti + 1)
            let sum = VectorMath.expShifted(row, count: ti + 1, by: maxScore)
            VectorMath.scale(row, count: ti + 1, by: 1 / sum)
        }
        if ti + 1 < t { (row + ti + 1).update(repeating: 0, count: t - ti - 1) }
    }

    // dq (B,T,NH,hs), dk and dv (B,T,NKV,hs) += gradients from dout (B,T,NH,hs);
    // scratch holds B·NH·T·T floats and is overwritten. One (batch, kv head) per task, since
    // the query heads of a group add into the same dk and dv.
    public static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                dv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                v: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                                batch b: Int, seq t: Int, heads nh: Int, kvHeads nkv: Int, headDim hs: Int,
                                precision: MatmulPrecision = .fp32) {
        let c = nh * hs, ckv = nkv * hs, group = nh / nkv
        let scale = 1 / Float(hs).squareRoot()
        Parallel.forRange(b * nkv, costPerItem: 4 * group * t * t * hs) { pairs in
            for pair in pairs {
                let bi = pair / nkv, kh = pair % nkv
                let kv = bi * t * ckv + kh * hs
                for h in (kh * group)..<((kh + 1) * group) {
                    let p = probs + (bi * nh + h) * t * t, ds = scratch + (bi * nh + h) * t * t
                    let qh = bi * t * c + h * hs
                    for r0 in stride(from: 0, to: t, by: rowBlock) {
                        let r1 = min(t, r0 + rowBlock), rows = r1 - r0
                        // dprobs (rows, keys 0..<r1) = dout_h · v_hᵀ
                        product(precision, ds + r0 * t, ldc: t, dout + qh + r0 * c, lda: c, v + kv, ldb: ckv,
                                m: rows, n: r1, k: hs, transB: true)
                        // dv_h (keys 0..<r1, hs) += probsᵀ · dout_h
                        product(precision, dv + kv, ldc: ckv, p + r0 * t, lda: t, dout + qh + r0 * c, ldb: c,
                                m: r1, n: hs, k: rows, transA: true, beta: 1)
                        // dscores = probs ⊙ (dprobs − Σ_s probs·dprobs), row by row; masked entries are 0
                        for ti in r0..<r1 {
                            let pr = p + ti * t, d = ds + ti * t
                            let dot = VectorMath.dot(pr, d, count: ti + 1)
                            for s in 0...ti { d[s] = pr[s] * (d[s] - dot) }
                            if ti + 1 < r1 { (d + ti + 1).update(repeating: 0, count: r1 - ti - 1) }
                        }
                        // dq_h rows += scale · dscores · k_h
                        product(precision, dq + qh + r0 * c, ldc: c, ds + r0 * t, lda: t, k + kv, ldb: ckv,
                                m: rows, n: hs, k: r1, alpha: scale, beta: 1)
                        // dk_h (keys 0..<r1) += scale · dscoresᵀ · q_h rows
                        product(precision, dk + kv, ldc: ckv, ds + r0 * t, lda: t, q + qh + r0 * c, ldb: c,
                                m: r1, n: hs, k: rows, transA: true, alpha: scale, beta: 1)
                    }
                }
            }
        }
    }

    // One product of a (batch, head) task, on its worker: fp32, or with bf16-rounded inputs.
    @inline(__always)
    static func product(_ precision: MatmulPrecision, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, m: Int, n: Int, k: Int,
                        transA: Bool = false, transB: Bool = false, alpha: Float = 1, beta: Float = 0) {
        switch precision {
        case .fp32:
            matmul(c, ldc: ldc, a, lda: lda, b, ldb: ldb, m: m, n: n, k: k, transA: transA, transB: transB,
                   alpha: alpha, beta: beta, parallel: false)
        case .bf16:
            matmulBF16(c, ldc: ldc, a, lda: lda, b, ldb: ldb, m: m, n: n, k: k, transA: transA, transB: transB,
                       alpha: alpha, beta: beta, parallel: false)
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
