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
        let n = numerators.count
        guard n > 1 else { return nil }
        var rng = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var num = 0.0, den = 0.0
            for _ in 0..<n {
                let k = Int(rng.next() % UInt64(n))
                num += numerators[k]
                den += denominators[k]
            }
            if den > 0 { values.append(f(num / den)) }
        }
        let (m, _) = mean(values)
        let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, values.count - 1))
        return variance.squareRoot()
    }
}
