// Row reductions and exp for the softmax-like kernels, 16 lanes at a time. Scalar loops over
// Float do not vectorise (the compiler may not reorder fp additions), and glibc's expf is a
// call per element; these sum in 16 interleaved partial sums, so results differ from a
// sequential sum by rounding only.

public enum VectorMath {
    typealias V = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ j: Int, _ n: Int, fill: Float) -> V {
        if j + 16 <= n { return UnsafeRawPointer(p + j).loadUnaligned(as: V.self) }
        var v = V(repeating: fill)
        for l in 0..<(n - j) { v[l] = p[j + l] }
        return v
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ j: Int, _ n: Int) {
        if j + 16 <= n { UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: V.self); return }
        for l in 0..<(n - j) { p[j + l] = v[l] }
    }

    /// e^x lane by lane: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial
    /// (relative error < 2e-7), 2^k built in the exponent bits. Below −87.3 the result is 0
    /// (no subnormals); above 88.37 it is clamped there (2^k must stay below 2^128).
    @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = x.clamped(lowerBound: V(repeating: -87.3), upperBound: V(repeating: 88.37))
        let k = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        let r = clamped - k * 0.693_145_75 - k * 1.428_606_8e-6
        var p = V(repeating: 1 / 5040)
        p = p * r + 1 / 720
        p = p * r + 1 / 120
        p = p * r + 1 / 24
        p = p * r + 1 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let bits = (SIMD16<Int32>(k) &+ 127) &<< 23
        let result = p * unsafeBitCast(bits, to: V.self)
        return result.replacing(with: 0, where: x .< -87.3)
    }

    public static func max(_ p: UnsafePointer<Float>, count n: Int) -> Float {
        var m = V(repeating: -.infinity)
        var j = 0
        while j < n { m = pointwiseMax(m, load(p, j, n, fill: -.infinity)); j += 16 }
        return m.max()
    }

    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var s = V(repeating: 0)
        var j = 0
        while j < n { s += load(a, j, n, fill: 0) * load(b, j, n, fill: 0); j += 16 }
        return s.sum()
    }

    /// p[j] *= factor for j < count.
    public static func scale(_ p: UnsafeMutablePointer<Float>, count n: Int, by factor: Float) {
        var j = 0
        while j < n { store(load(p, j, n, fill: 0) * factor, p, j, n); j += 16 }
    }

    /// p[j] = e^(p[j] − shift) for j < count, returning the sum.
    @discardableResult
    public static func expShifted(_ p: UnsafeMutablePointer<Float>, count n: Int, by shift: Float) -> Float {
        var s = V(repeating: 0)
        var j = 0
        while j < n {
            let e = exp(load(p, j, n, fill: -.infinity) - shift)
            store(e, p, j, n)
            s += e
            j += 16
        }
        return s.sum()
    }

    /// The same where `keep(j)`, and 0 elsewhere.
    @inline(__always)
    public static func expShifted(_ p: UnsafeMutablePointer<Float>, count n: Int, by shift: Float,
                                  where keep: (Int) -> Bool) -> Float {
        for j in 0..<n where !keep(j) { p[j] = -.infinity }
        return expShifted(p, count: n, by: shift)
    }

    /// Σ_j e^(p[j] − shift) without writing p.
    public static func sumExpShifted(_ p: UnsafePointer<Float>, count n: Int, by shift: Float) -> Float {
        var s = V(repeating: 0)
        var j = 0
        while j < n { s += exp(load(p, j, n, fill: -.infinity) - shift); j += 16 }
        return s.sum()
    }
}
