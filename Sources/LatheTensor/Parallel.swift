import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Splits loops over rows across the cores for the kernels BLAS does not cover.
public enum Parallel {
    /// Worker count; defaults to the online cores. Results never depend on it: every
    /// parallel loop writes disjoint rows and reductions happen afterwards in row order.
    nonisolated(unsafe) public static var workers: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// How many chunks `forRange` cuts count items into (when the work is worth splitting).
    public static func chunks(_ count: Int) -> Int { workers <= 1 ? 1 : min(4 * workers, count) }

    /// Runs body over contiguous chunks of 0..<count, four chunks per worker taken as workers
    /// free up (so a worker the OS preempts on a busy machine does not hold up the rest), unless
    /// the work (count × costPerItem, roughly in flops) is too small to repay waking a thread (~10 µs).
    public static func forRange(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = chunks(count)
        if chunks <= 1 || count * costPerItem < 32_768 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let lo = count * chunk / chunks, hi = count * (chunk + 1) / chunks
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
