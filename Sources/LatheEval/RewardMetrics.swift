import Foundation

/// What reward and winrate report: the distribution of a checkpoint's rewards, and its
/// responses judged against a baseline's to the same prompts by their rewards.
public enum RewardMetrics {
    public typealias Metric = (metric: String, value: Double, stderr: Double?)

    /// Mean (± its standard error) and the 10th, 50th and 90th percentiles (± bootstrap errors
    /// seeded by `seed`).
    public static func distribution(_ rewards: [Double], seed: UInt64) -> [Metric] {
        let (mean, meanStderr) = Statistics.mean(rewards)
        return [("mean", mean, meanStderr)] + [("p10", 0.1), ("p50", 0.5), ("p90", 0.9)].map { name, q in
            (name, Statistics.quantile(rewards, q),
             Statistics.bootstrapStderr(count: rewards.count, seed: seed) { draw in Statistics.quantile(draw.map { rewards[$0] }, q) })
        }
    }

    /// win_rate (ties as halves), lc_win_rate (at zero length difference, delta-method error)
    /// and tie_rate; and whether the length regression converged (its error is left out when not).
    public static func winRates(_ rewards: [Double], against baseline: [Double], lengthDifferences: [Double],
                                tolerance: Double) -> (metrics: [Metric], converged: Bool) {
        let j = judgements(policy: rewards, baseline: baseline, tolerance: tolerance)
        let n = j.count
        let (rate, rateStderr) = Statistics.mean(j)
        let ties = Double(j.filter { $0 == 0.5 }.count) / Double(n)
        var lc: Metric = ("lc_win_rate", rate, rateStderr)
        var converged = true
        if let fit = lengthControlled(judgements: j, lengthDifferences: lengthDifferences) {
            lc = ("lc_win_rate", fit.probabilityAtZero, fit.probabilityAtZeroStderr)
            converged = fit.converged
        }
        return ([("win_rate", rate, rateStderr), lc, ("tie_rate", ties, Statistics.binomialStderr(ties, n: n))], converged)
    }

    /// 1 for a win, ½ for a tie (rewards within `tolerance`), 0 for a loss, one per prompt.
    public static func judgements(policy: [Double], baseline: [Double], tolerance: Double) -> [Double] {
        precondition(policy.count == baseline.count, "one baseline reward per policy reward")
        return zip(policy, baseline).map { p, b in abs(p - b) <= tolerance ? 0.5 : (p > b ? 1 : 0) }
    }

    /// The win rate at zero length difference: a logistic regression of each judgement on the
    /// difference in characters (policy − baseline), read at 0, so a policy does not win by
    /// writing longer. The difference is divided by its root mean square (not centred: 0 must stay
    /// "equal length"), which leaves σ(intercept) unchanged and keeps Newton's steps well scaled.
    /// Nil when every difference is 0 (the raw win rate is then the answer).
    public static func lengthControlled(judgements: [Double], lengthDifferences: [Double]) -> LogisticFit? {
        let rms = (lengthDifferences.reduce(0) { $0 + $1 * $1 } / Double(max(1, lengthDifferences.count))).squareRoot()
        guard rms > 0 else { return nil }
        return LogisticFit.fit(x: lengthDifferences.map { $0 / rms }, y: judgements)
    }
}
