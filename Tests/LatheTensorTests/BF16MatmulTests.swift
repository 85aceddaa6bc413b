import Testing
@testable import LatheTensor

// bf16 products on both paths (AMX tiles where this CPU has them, rounded copies on sgemm
// otherwise) against a plain Double loop over the rounded inputs: only the order of the fp32
// sums may differ. Shapes straddle the tiles' 16 rows, 32-wide k steps and 32-column blocks.
@Suite("bf16 matrix products", .serialized) struct BF16MatmulTests {
    static let shapes = [(1, 1, 1), (16, 16, 32), (17, 15, 33), (33, 47, 31), (64, 96, 64), (100, 70, 130),
                         (5, 300, 200), (300, 5, 200), (256, 256, 256)]

    /// alpha · op(a)·op(b) + beta · c in Double over bf16-rounded a and b; a is (m,k) or stored (k,m),
    /// b is (k,n) or stored (n,k), with row strides lda and ldb.
    static func reference(_ a: [Float], lda: Int, _ b: [Float], ldb: Int, c: [Float], ldc: Int, m: Int, n: Int, k: Int,
                          transA: Bool, transB: Bool, alpha: Double, beta: Double) -> [Double] {
        var out = c.doubles
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for l in 0..<k {
                    let x = transA ? a[l * lda + i] : a[i * lda + l], y = transB ? b[j * ldb + l] : b[l * ldb + j]
                    sum += Double(BFloat16.round(x)) * Double(BFloat16.round(y))
                }
                out[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    static func check(amx: Bool) {
        BF16Matmul.disableAMX(!amx)
        defer { BF16Matmul.disableAMX(false) }
        for (index, (m, n, k)) in shapes.enumerated() {
            for transA in [false, true] {
                for transB in [false, true] {
                    for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.5, 2.0)] {
                        // strides wider than the rows, so no kernel may assume contiguous operands
                        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
                        let seed = UInt64(index * 16 + (transA ? 8 : 0) + (transB ? 4 : 0))
                        let a = floats(randomValues((transA ? k : m) * lda, seed: seed))
                        let b = floats(randomValues((transB ? n : k) * ldb, seed: seed + 1))
                        var c = floats(randomValues(m * ldc, seed: seed + 2))
                        if beta == 0 { for j in c.indices where j % 7 == 0 { c[j] = .nan } }  // beta 0 never reads C
                        let expected = reference(a, lda: lda, b, ldb: ldb, c: c, ldc: ldc, m: m, n: n, k: k,
                                                 transA: transA, transB: transB, alpha: alpha, beta: beta)
                        matmulBF16(&c, ldc: ldc, a, lda: lda, b, ldb: ldb, m: m, n: n, k: k, transA: transA,
                                   transB: transB, alpha: Float(alpha), beta: Float(beta))
                        var worst = 0.0
                        for i in 0..<m {
                            for j in 0..<n {
                                let e = expected[i * ldc + j]
                                worst = max(worst, abs(Double(c[i * ldc + j]) - e) / (1 + abs(e)))
                            }
                        }
                        // padding columns of C (j ≥ n) are left alone
                        let untouched = (0..<m).allSatisfy { i in (n..<ldc).allSatisfy { j in
                            c[i * ldc + j].isNaN ? expected[i * ldc + j].isNaN : Double(c[i * ldc + j]) == expected[i * ldc + j] } }
                        #expect(worst < 2e-5 && untouched,
                                "amx \(amx) (\(m),\(n),\(k)) transA \(transA) transB \(transB) alpha \(alpha) beta \(beta): \(worst)")
                    }
                }
            }
        }
    }

    /// Whether this CPU runs AMX tiles: without them the AMX tests have nothing to run.
    static let amxPresent: Bool = { BF16Matmul.disableAMX(false); return BF16Matmul.usesAMX }()

    @Test(.enabled(if: amxPresent, "this CPU has no AMX")) func amxTilesMatchTheReference() {
        Self.check(amx: true)
    }

    @Test func roundedCopiesOnSgemmMatchTheReference() { Self.check(amx: false) }

    // A matrix packed once (from fp32 or from bf16 bits, stored either way) gives the same
    // products as packing it in the call.
    @Test(.enabled(if: amxPresent, "packed weights exist only for the AMX kernel")) func packedWeightsGiveTheSameProducts() {
        let (m, n, k) = (70, 100, 90)
        let x = floats(randomValues(m * k, seed: 11)), w = floats(randomValues(n * k, seed: 12))
        var bits = [UInt16](repeating: 0, count: w.count)
        BFloat16.pack(&bits, w, count: w.count)
        var direct = zeros(m * n)
        matmulBF16(&direct, x, w, m: m, n: n, k: k, transB: true)
        var wT = zeros(k * n), bitsT = [UInt16](repeating: 0, count: w.count)
        for r in 0..<n { for j in 0..<k { wT[j * n + r] = w[r * k + j]; bitsT[j * n + r] = bits[r * k + j] } }
        let packings = [
            BF16Matmul.PackedMatrix(w, ldb: k, k: k, n: n, transB: true),
            BF16Matmul.PackedMatrix(wT, ldb: n, k: k, n: n, transB: false),
            BF16Matmul.PackedMatrix(bits: bits, ldb: k, k: k, n: n, transB: true),
            BF16Matmul.PackedMatrix(bits: bitsT, ldb: n, k: k, n: n, transB: false),
        ]
        for (index, packed) in packings.enumerated() {
            var c = zeros(m * n)
            BF16Matmul.matmul(&c, ldc: n, x, lda: k, packed: packed, m: m)
            #expect(c == direct, "packing \(index)")
        }
    }
}
