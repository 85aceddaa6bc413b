/// The tools every backward in Lathe is checked with: central differences in Double and one
/// error measure. Public so objectives outside this module (DPO, PPO) are checked the same way.
public enum GradientCheck {
    /// ∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for every i; error O(h²) plus rounding of f / h.
    public static func numericGradient(_ x: [Double], step: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
        var x = x
        return x.indices.map { i in
            let saved = x[i]
            x[i] = saved + step
            let up = f(x)
            x[i] = saved - step
            let down = f(x)
            x[i] = saved
            return (up - down) / (2 * step)
        }
    }

    /// max |aᵢ − bᵢ| / max |bᵢ|: the largest error relative to the scale of the expected values,
    /// which, unlike an elementwise ratio, does not blow up on entries that happen to be near 0.
    public static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
        let scale = max(b.map(abs).max() ?? 0, 1e-300)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    /// n draws of normal(0, scale²) from SplitMix64(seed).
    public static func randomNormal(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() * scale }
    }
}
