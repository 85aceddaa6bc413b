import CBLAS
#if canImport(Glibc)
import Glibc
#endif

// OpenBLAS is opened at run time rather than linked: its load-time constructor reads
// OPENBLAS_CORETYPE, and Debian's 0.3.21 does not recognise recent Xeons, so it would
// settle on generic kernels (~32 GFLOP/s a core instead of ~155 with SkylakeX) before
// main could say otherwise. CBLAS (the module) gives only the types.

/// The BLAS library Lathe multiplies matrices with: OpenBLAS, opened on first use after
/// choosing its kernels from the CPU's features.
public final class BLAS: @unchecked Sendable {
    typealias Sgemm = @convention(c) (
        CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32,
        Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
        Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias GetString = @convention(c) () -> UnsafeMutablePointer<CChar>?
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetThreads = @convention(c) () -> Int32

    let sgemm: Sgemm
    private let corename: GetString?
    private let config: GetString?
    private let setThreads: SetThreads?
    private let getThreads: GetThreads?
    /// The core type Lathe asked for, or nil when the user's OPENBLAS_CORETYPE stood or the
    /// CPU has neither AVX2 nor AVX-512.
    public let requestedCoreType: String?

    /// Opened on first use; every kernel shares it.
    public static let shared = BLAS()

    private init() {
        let flags = CPUFeatures.current()
        if getenv("OPENBLAS_CORETYPE") == nil, let core = CPUFeatures.openBLASCoreType(flags: flags) {
            setenv("OPENBLAS_CORETYPE", core, 0)
            requestedCoreType = core
        } else {
            requestedCoreType = nil
        }
        // One thread inside OpenBLAS: `matmul` splits products across Parallel's workers itself.
        // OpenBLAS's own pool spins in sched_yield between calls, which on a busy machine took
        // a third of a training step from the threads doing the work.
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        let names = ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"]
        guard let handle = names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else {
            fatalError("Lathe needs OpenBLAS: none of \(names) could be opened "
                + "(\(String(cString: dlerror()))); install libopenblas0 (Debian/Ubuntu) or openblas.")
        }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let sgemm = symbol("cblas_sgemm", Sgemm.self) else {
            fatalError("the OpenBLAS library that was opened has no cblas_sgemm")
        }
        self.sgemm = sgemm
        corename = symbol("openblas_get_corename", GetString.self)
        config = symbol("openblas_get_config", GetString.self)
        setThreads = symbol("openblas_set_num_threads", SetThreads.self)
        getThreads = symbol("openblas_get_num_threads", GetThreads.self)
        setThreads?(1)
    }

    /// The kernel family OpenBLAS chose, e.g. "SkylakeX", "Haswell", "Prescott".
    public var coreName: String { corename?().map { String(cString: $0) } ?? "unknown" }

    /// "0.3.21", read from the library's build configuration.
    public var version: String {
        guard let text = config?().map({ String(cString: $0) }) else { return "unknown" }
        let words = text.split(separator: " ")
        return words.count > 1 && words[0] == "OpenBLAS" ? String(words[1]) : "unknown"
    }

    /// OpenBLAS's own threads per call: 1, since `matmul` does the splitting (see init).
    public var threads: Int {
        get { Int(getThreads?() ?? 1) }
        set { setThreads?(Int32(max(1, newValue))) }
    }

    /// One line for `--verbose`: "OpenBLAS 0.3.21, core SkylakeX, 2 workers".
    public static func describe() -> String {
        let blas = shared
        return "OpenBLAS \(blas.version), core \(blas.coreName), \(Parallel.workers) worker\(Parallel.workers == 1 ? "" : "s")"
    }

    /// Achieved GFLOP/s of an n×n×n sgemm (2n³ flops per call), best of `repeats` after a warm-up,
    /// split across Parallel's workers or (`parallel: false`) on the calling thread.
    public static func measureSgemm(n: Int = 1024, repeats: Int = 5, parallel: Bool = true) -> Double {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var rng = SplitMix64(seed: 1)
        for i in 0..<(n * n) { a[i] = rng.nextUniform() - 0.5; b[i] = rng.nextUniform() - 0.5 }
        matmul(c, ldc: n, a, lda: n, b, ldb: n, m: n, n: n, k: n, parallel: parallel)
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = monotonicSeconds()
            matmul(c, ldc: n, a, lda: n, b, ldb: n, m: n, n: n, k: n, parallel: parallel)
            best = min(best, monotonicSeconds() - start)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }
}

/// Seconds on a monotonic clock, for timing kernels.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The CPU flags that decide which OpenBLAS kernels to ask for.
public enum CPUFeatures {
    /// The flags of the first processor in /proc/cpuinfo (empty where there is none).
    public static func current() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            guard text.hasPrefix("flags") || text.hasPrefix("Features"),
                  let colon = text.firstIndex(of: ":") else { continue }
            return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        return []
    }

    /// SkylakeX for AVX-512 F/BW/VL/DQ, Haswell for AVX2 with FMA, otherwise nil (let OpenBLAS decide).
    public static func openBLASCoreType(flags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }
}

// c (m,n) = alpha * op(a) (m,k) · op(b) (k,n) + beta * c, all row-major and contiguous;
// op transposes when asked, so a is stored (k,m) when transA and b is (n,k) when transB.
@inline(__always)
public func matmul(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                   m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
                   alpha: Float = 1, beta: Float = 0) {
    matmul(c, ldc: n, a, lda: transA ? m : k, b, ldb: transB ? k : n,
           m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta)
}

// The same with explicit row strides (elements), for heads sliced out of a (T, heads*hs) buffer.
// Products of at least 2²¹ multiply-adds are split into one block of C per worker (along
// whichever of m and n is longer, in multiples of 16); `parallel: false` keeps the product on
// the calling thread, for callers that already run one product per worker.
public func matmul(_ c: UnsafeMutablePointer<Float>, ldc: Int, _ a: UnsafePointer<Float>, lda: Int,
                   _ b: UnsafePointer<Float>, ldb: Int, m: Int, n: Int, k: Int,
                   transA: Bool = false, transB: Bool = false, alpha: Float = 1, beta: Float = 0,
                   parallel: Bool = true) {
    let sgemm = BLAS.shared.sgemm
    func run(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ m: Int, _ n: Int) {
        sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    let workers = Parallel.workers
    guard parallel, workers > 1, m * n * k >= 1 << 21, max(m, n) >= 32 * workers else {
        run(c, a, b, m, n)
        return
    }
    let alongRows = m >= n
    let length = alongRows ? m : n
    let blocks = (length + 15) / 16
    Parallel.forRange(workers, costPerItem: 1 << 20) { chunks in
        for chunk in chunks {
            let lo = blocks * chunk / workers * 16, hi = min(length, blocks * (chunk + 1) / workers * 16)
            guard lo < hi else { continue }
            if alongRows {
                // rows lo..<hi of C come from rows of op(a): a's rows, or its columns when transposed
                run(c + lo * ldc, a + (transA ? lo : lo * lda), b, hi - lo, n)
            } else {
                run(c + lo, a, b + (transB ? lo * ldb : lo), m, hi - lo)
            }
        }
    }
}
