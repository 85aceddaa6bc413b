import Foundation

/// A policy's responses judged against a baseline's to the same prompts by their rewards.
public enum WinRate {
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
