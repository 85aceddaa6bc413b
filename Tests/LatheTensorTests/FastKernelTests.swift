import Foundation
import Testing
@testable import LatheTensor

@Suite("Vector math and bf16") struct FastKernelTests {
    @Test func expMatchesLibm() {
        let xs = (0..<20_000).map { Float(-87 + 175.3 * Double($0) / 20_000) }
        var ys = zeros(xs.count)
        VectorMath.exp(&ys, xs, count: xs.count)
        let worst = zip(xs, ys).map { x, y in abs(Double(y) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)) }.max()!
        #expect(worst < 5e-7, "worst relative error \(worst)")
        let edges: [Float] = [-.infinity, -1000, -87.4, 0, 1, -1, 0.5, 88.7, -0.34657, 0.34657]
        var e = zeros(edges.count)
        VectorMath.exp(&e, edges, count: edges.count)
        #expect(e[0] == 0 && e[1] == 0 && e[2] == 0)
        #expect(e[3] == 1)
        #expect(abs(Double(e[4]) - M_E) < 3e-7)
        #expect(e[7].isFinite && e[7] > 2e38)
    }

    // Every length around the 16-lane boundary, against plain loops in Double.
    @Test func rowReductionsMatchPlainLoops() {
        for n in [1, 5, 15, 16, 17, 31, 32, 33, 100] {
            let a = floats(randomValues(n, seed: UInt64(n), scale: 3)), b = floats(randomValues(n, seed: UInt64(n + 1)))
            #expect(VectorMath.max(a, count: n) == a.max()!)
            let dot = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
            #expect(abs(Double(VectorMath.dot(a, b, count: n)) - dot) < 1e-5 * (1 + abs(dot)))
            var e = a
            let sum = VectorMath.expShifted(&e, count: n, by: 2)
            let expected = a.map { Foundation.exp(Double($0) - 2) }
            #expect(relativeError(e.doubles, expected) < 1e-6)
            #expect(abs(Double(sum) - expected.reduce(0, +)) < 1e-5 * expected.reduce(0, +))
            var keptOdd = a
            _ = VectorMath.expShifted(&keptOdd, count: n, by: 2) { $0 % 2 == 1 }
            #expect(keptOdd.enumerated().allSatisfy { $0.offset % 2 == 1 ? $0.element == e[$0.offset] : $0.element == 0 })
        }
    }

    @Test func bf16RoundingIsNearestEven() {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<100_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard x.isFinite, abs(x) < 3e38 else { continue }
            #expect(BFloat16.round(x) == BFloat16.Reference.round(x), "\(x)")
        }
        // exact ties go to the even neighbour: 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷
        #expect(BFloat16.round(1 + 0x1p-8) == 1)
        #expect(BFloat16.round(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
        #expect(BFloat16.round(.infinity) == .infinity)
        #expect(BFloat16.round(.nan).isNaN)
        var values: [Float] = [1.00390625, -2.5, 3.14159]
        BFloat16.round(&values, values, count: 3)
        #expect(values == [1, -2.5, 3.140625])
    }

    // bf16 inputs, fp32 accumulation: exactly the product of the rounded inputs (to fp32
    // rounding), and within bf16's input error of the fp32 product.
    @Test(arguments: [(64, 48, 256), (300, 40, 200), (40, 300, 200)]) func bf16MatmulMatchesFP32(m: Int, n: Int, k: Int) {
        let a = floats(randomValues(m * k, seed: 1)), b = floats(randomValues(k * n, seed: 2))
        var ar = a, br = b
        BFloat16.round(&ar, a, count: a.count)
        BFloat16.round(&br, b, count: b.count)
        var c = zeros(m * n)
        matmul(&c, ar, br, m: m, n: n, k: k)
        var exact = [Double](repeating: 0, count: m * n), bound = exact, reference = exact
        for i in 0..<m {
            for j in 0..<n {
                for l in 0..<k {
                    exact[i * n + j] += Double(ar[i * k + l]) * Double(br[l * n + j])
                    reference[i * n + j] += Double(a[i * k + l]) * Double(b[l * n + j])
                    bound[i * n + j] += abs(Double(a[i * k + l]) * Double(b[l * n + j]))
                }
            }
        }
        #expect(relativeError(c.doubles, exact) < 1e-5)
        // each input is within 2⁻⁹ relative of its fp32 value, so each product within 2⁻⁸
        for j in c.indices { #expect(abs(Double(c[j]) - reference[j]) <= 0x1p-8 * bound[j] + 1e-5) }
        let error = relativeError(c.doubles, reference)
        #expect(error > 1e-5 && error < 1e-2, "relative error \(error) is not that of bf16 inputs")
    }

    // Products big enough to split across workers, along rows and along columns, every transpose.
    @Test(arguments: [(300, 40, 200), (40, 300, 200)]) func splitMatmulMatchesNaive(m: Int, n: Int, k: Int) {
        for transA in [false, true] {
            for transB in [false, true] {
                let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2), c0 = randomValues(m * n, seed: 3)
                var c = floats(c0)
                matmul(&c, floats(a), floats(b), m: m, n: n, k: k, transA: transA, transB: transB, alpha: 0.5, beta: 2)
                var expected = c0.map { 2 * $0 }
                for i in 0..<m {
                    for j in 0..<n {
                        for l in 0..<k {
                            expected[i * n + j] += 0.5 * (transA ? a[l * m + i] : a[i * k + l]) * (transB ? b[j * k + l] : b[l * n + j])
                        }
                    }
                }
                #expect(relativeError(c.doubles, expected) < 1e-5, "transA \(transA) transB \(transB)")
            }
        }
    }
}
