import Testing
@testable import LatheTensor

@Suite("BLAS") struct BLASTests {
    @Test func matmulMatchesNaiveForEveryTransposeCombination() {
        let m = 7, n = 5, k = 9
        for transA in [false, true] {
            for transB in [false, true] {
                let a = randomValues(m * k, seed: 1), b = randomValues(k * n, seed: 2), c0 = randomValues(m * n, seed: 3)
                let ab = floats(a), bb = floats(b)
                var cb = floats(c0)
                matmul(&cb, ab, bb, m: m, n: n, k: k, transA: transA, transB: transB,
                       alpha: 0.5, beta: 2)
                var expected = c0.map { 2 * $0 }
                for i in 0..<m {
                    for j in 0..<n {
                        for l in 0..<k {
                            let av = transA ? a[l * m + i] : a[i * k + l]
                            let bv = transB ? b[j * k + l] : b[l * n + j]
                            expected[i * n + j] += 0.5 * av * bv
                        }
                    }
                }
                #expect(relativeError(cb.doubles, expected) < 1e-5, "transA \(transA) transB \(transB)")
            }
        }
    }

    @Test func coreTypeFollowsCPUFeatures() {
        #expect(CPUFeatures.openBLASCoreType(flags: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx2", "fma"]) == "SkylakeX")
        #expect(CPUFeatures.openBLASCoreType(flags: ["avx512f", "avx2", "fma"]) == "Haswell")
        #expect(CPUFeatures.openBLASCoreType(flags: ["avx2"]) == nil)
        #expect(CPUFeatures.openBLASCoreType(flags: ["sse4_2"]) == nil)
        #if os(Linux) && arch(x86_64)
        #expect(CPUFeatures.current().contains("sse2"), "no x86-64 flags read from /proc/cpuinfo")
        #endif
        // The library must report the kernels Lathe asked for, which proves the request came before its initialisation.
        let blas = BLAS.shared
        if let requested = blas.requestedCoreType {
            #expect(blas.coreName == requested)
        }
        #expect(BLAS.describe().hasPrefix("OpenBLAS 0.3"))
    }

    @Test func sgemmThroughput() {
        let single = BLAS.measureSgemm(n: 1024, repeats: 5, parallel: false)
        let all = BLAS.measureSgemm(n: 1024, repeats: 5)
        print("sgemm 1024³: \(Int(single)) GFLOP/s on 1 thread, \(Int(all)) split over \(Parallel.workers); \(BLAS.describe())")
        #expect(BLAS.shared.threads == 1, "OpenBLAS must not run its own threads beside Parallel's")
        #expect(single > 1 && all > 1)
    }
}

@Suite("Arena, random numbers, parallel loops") struct InfrastructureTests {
    @Test func arenaViewsAreAlignedAndDisjoint() {
        var layout = ArenaLayout()
        layout.add("a", [3, 5])
        layout.add("b", [7])
        layout.add("c", [2, 2, 2])
        let arena = Arena(layout)
        #expect(arena.views.map(\.offset) == [0, 16, 32])
        #expect(arena.count == 48)
        #expect(arena["c"].count == 8)
        #expect(Int(bitPattern: arena.pointer(arena.view(named: "b")!)) % 64 == Int(bitPattern: arena.base) % 64)
        #expect(arena["a"].allSatisfy { $0 == 0 })
    }

    @Test func splitMixIsDeterministicAndGaussianHasUnitMoments() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 43)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
        #expect(a.next() != c.next())
        var rng = SplitMix64(seed: 7)
        let draws = (0..<20_000).map { _ in rng.nextGaussian() }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
    }

    @Test func parallelRangesCoverEveryIndexOnce() {
        let n = 100_003
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: n)
        Parallel.forRange(n, costPerItem: 100) { range in
            for i in range { hits[i] += 1 }
        }
        #expect((0..<n).allSatisfy { hits[$0] == 1 })
    }
}
