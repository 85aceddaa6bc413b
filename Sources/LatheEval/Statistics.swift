import Foundation
import LatheTensor

/// Standard errors for metrics over n examples.
public enum Statistics {
    /// Resamples the bootstrap draws; with a fixed seed the errors are the same every run.
    public static let resamples = 1000

    /// Standard error of a proportion p over n examples, with the sample variance
    /// (n - 1 in the denominator, as lm-evaluation-harness reports it); nil below 2.
    public static func binomialStderr(_ p: Double, n: Int) -> Double? {
        n > 1 ? (p * (1 - p) / Double(n - 1)).squareRoot() : nil
    }

    /// Mean and its standard error (sample standard deviation / √n).
    public static func mean(_ values: [Double]) -> (mean: Double, stderr: Double?) {
        let n = Double(values.count)
        guard !values.isEmpty else { return (.nan, nil) }
        let mean = values.reduce(0, +) / n
        guard values.count > 1 else { return (mean, nil) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (mean, (variance / n).squareRoot())
    }

    /// Standard error of f(Σ numerators / Σ denominators) by resampling the examples with
    /// replacement (SplitMix64 from `seed`); nil below 2 examples.
    public static func bootstrapRatioStderr(_ numerators: [Double], _ denominators: [Double], seed: UInt64,
                                            _ f: (Double) -> Double = { $0 }) -> Double? {
        bootstrapStderr(count: numerators.count, seed: seed) { draw in
            var num = 0.0, den = 0.0
            for k in draw {
                num += numerators[k]
                den += denominators[k]
            }
            return den > 0 ? f(num / den) : nil
        }
    }

    /// Standard deviation of `statistic` over `resamples` draws of `count` example indices with
    /// replacement (SplitMix64 from `seed`; a draw where the statistic is nil is left out); nil
    /// below 2 examples.
    public static func bootstrapStderr(count n: Int, seed: UInt64, _ statistic: ([Int]) -> Double?) -> Double? {
        guard n > 1 else { return nil }
        var rng = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var draw = [Int](repeating: 0, count: n)
        for _ in 0..<resamples {
            for j in 0..<n { draw[j] = Int(rng.next() % UInt64(n)) }
            if let v = statistic(draw) { values.append(v) }
        }
        let (m, _) = mean(values)
        let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, values.count - 1))
        return variance.squareRoot()
    }

    /// The q-quantile (0...1) of `values` by linear interpolation between order statistics
    /// (Hyndman & Fan's type 7, numpy's default): position q·(n − 1) in the sorted values.
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let h = q * Double(sorted.count - 1)
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}

/// A logistic regression of one outcome y ∈ [0, 1] on one covariate x: P(y = 1) = σ(a + b·x),
/// fitted by Newton's method on the log-likelihood Σ y log p + (1 − y) log(1 − p), which is
/// iteratively reweighted least squares. Fractional outcomes (a tie as ½) are allowed.
public struct LogisticFit: Sendable, Equatable {
    public var intercept: Double
    public var slope: Double
    /// Standard error of the intercept from the inverse information matrix (XᵀWX)⁻¹.
    public var interceptStderr: Double?
    /// Whether Newton steps came to rest; false when the outcomes are separated by x (the
    /// estimate then runs off towards infinity) or the information matrix became singular.
    public var converged: Bool
    public var iterations: Int

    /// σ(a): the fitted probability at x = 0.
    public var probabilityAtZero: Double { 1 / (1 + exp(-intercept)) }

    /// Standard error of σ(a) by the delta method: σ'(a) · se(a).
    public var probabilityAtZeroStderr: Double? {
        let p = probabilityAtZero
        return interceptStderr.map { p * (1 - p) * $0 }
    }

    public static func fit(x: [Double], y: [Double], maxIterations: Int = 100, tolerance: Double = 1e-10) -> LogisticFit {
        precondition(x.count == y.count, "one outcome per covariate")
        var a = 0.0, b = 0.0
        var info = (aa: 0.0, ab: 0.0, bb: 0.0)
        var iterations = 0, converged = false
        func logLikelihood(_ a: Double, _ b: Double) -> Double {
            zip(x, y).reduce(0) { sum, xy in
                let z = a + b * xy.0
                // log σ(z) = −log(1 + e^−z), log(1 − σ(z)) = −log(1 + e^z), computed without overflow
                return sum - xy.1 * softplus(-z) - (1 - xy.1) * softplus(z)
            }
        }
        while iterations < maxIterations {
            iterations += 1
            // gradient Xᵀ(y − p) and information XᵀWX with W = p(1 − p), X = [1, x]
            var ga = 0.0, gb = 0.0
            info = (0, 0, 0)
            for (xi, yi) in zip(x, y) {
                let p = 1 / (1 + exp(-(a + b * xi)))
                let w = p * (1 - p)
                ga += yi - p
                gb += (yi - p) * xi
                info.aa += w
                info.ab += w * xi
                info.bb += w * xi * xi
            }
            let det = info.aa * info.bb - info.ab * info.ab
            guard det > 1e-300 * max(1, info.aa * info.bb) else { break }
            var da = (info.bb * ga - info.ab * gb) / det
            var db = (info.aa * gb - info.ab * ga) / det
            // Halve the step while it lowers the likelihood (Newton can overshoot far from the optimum).
            let before = logLikelihood(a, b)
            var halvings = 0
            while logLikelihood(a + da, b + db) < before - 1e-12 * max(1, abs(before)) && halvings < 30 {
                da /= 2
                db /= 2
                halvings += 1
            }
            a += da
            b += db
            if abs(da) < tolerance * max(1, abs(a)) && abs(db) < tolerance * max(1, abs(b)) {
                converged = true
                break
            }
        }
        let det = info.aa * info.bb - info.ab * info.ab
        let stderr = converged && det > 0 ? (info.bb / det).squareRoot() : nil
        return LogisticFit(intercept: a, slope: b, interceptStderr: stderr, converged: converged, iterations: iterations)
    }

    static func softplus(_ z: Double) -> Double { z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)) }
}
