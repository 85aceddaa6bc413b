import CLatheKernels

// Row reductions and exp for the softmax-like kernels, in C (CLatheKernels) compiled per ISA:
// scalar Float loops do not vectorise in Swift (fp additions may not be reordered), glibc's
// expf is a call per element, and Swift's generic SIMD clamps and conversions are not inlined.
// Sums run in 16 interleaved partial sums, so they differ from a sequential sum by rounding only.

public enum VectorMath {
    /// e^x for each value: x = k·ln2 + r, e^r by a degree-7 polynomial (relative error < 2e-7);
    /// 0 below −87.3, clamped above 88.37. Every kernel here uses this approximation.
    public static func exp(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count n: Int) {
        lathe_exp(out, inp, n)
    }

    public static func max(_ p: UnsafePointer<Float>, count n: Int) -> Float { lathe_max(p, n) }

    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float { lathe_dot(a, b, n) }

    /// p[j] *= factor for j < count.
    public static func scale(_ p: UnsafeMutablePointer<Float>, count n: Int, by factor: Float) { lathe_scale(p, n, factor) }

    /// p[j] = e^(p[j] − shift) for j < count, returning the sum.
    @discardableResult
    public static func expShifted(_ p: UnsafeMutablePointer<Float>, count n: Int, by shift: Float) -> Float {
        lathe_exp_shifted(p, n, shift)
    }

    /// The same where `keep(j)`, and 0 elsewhere.
    @inline(__always)
    public static func expShifted(_ p: UnsafeMutablePointer<Float>, count n: Int, by shift: Float,
                                  where keep: (Int) -> Bool) -> Float {
        for j in 0..<n where !keep(j) { p[j] = -.infinity }
        return lathe_exp_shifted(p, n, shift)
    }

    /// Σ_j e^(p[j] − shift) without writing p.
    public static func sumExpShifted(_ p: UnsafePointer<Float>, count n: Int, by shift: Float) -> Float {
        lathe_sum_exp_shifted(p, n, shift)
    }

    /// d[j] = (accumulate ? d[j] : 0) + weight · e^(row[j] − lse): a softmax row, scaled.
    public static func softmaxScaled(into d: UnsafeMutablePointer<Float>, row: UnsafePointer<Float>, count n: Int,
                                     logSumExp lse: Float, weight: Float, accumulate: Bool) {
        lathe_softmax_scaled(d, row, n, lse, weight, accumulate ? 1 : 0)
    }
}
