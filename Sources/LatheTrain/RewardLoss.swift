import Foundation

/// The reward model's loss on preference pairs, as TRL's RewardTrainer computes it: the
/// Bradley–Terry log-likelihood of the preference, with an optional per-record margin,
///   ℓ = mean over pairs of −log σ(r_c − r_r − m)  +  centerRewards · mean over pairs of (r_c + r_r)²,
/// where r_c, r_r are the scalar rewards of the chosen and rejected sequences. The centring
/// term keeps rewards near 0, where Bradley–Terry alone leaves their offset free.
public struct RewardLoss: Sendable, Equatable {
    public var centerRewards: Double

    public init(centerRewards: Double = 0) { self.centerRewards = centerRewards }

    /// The mean loss over the pairs and its gradient with respect to each reward.
    /// `margins` may be empty (no margin) or give one per pair.
    public func batch(chosen: [Double], rejected: [Double], margins: [Double] = []) -> RewardBatchResult {
        let n = chosen.count
        precondition(n > 0 && rejected.count == n && (margins.isEmpty || margins.count == n),
                     "\(n) chosen, \(rejected.count) rejected and \(margins.count) margins")
        var result = RewardBatchResult(pairs: n)
        let inv = 1 / Double(n)
        var wins = 0
        for i in 0..<n {
            let difference = chosen[i] - rejected[i], z = difference - (margins.isEmpty ? 0 : margins[i])
            let sum = chosen[i] + rejected[i]
            // d(−log σ(z))/dz = −σ(−z);  d(c·s²)/dr = 2c·s for both rewards.
            let dz = -sigmoid(-z), dCenter = 2 * centerRewards * sum
            result.loss += (-logSigmoid(z) + centerRewards * sum * sum) * inv
            result.dChosen.append((dz + dCenter) * inv)
            result.dRejected.append((-dz + dCenter) * inv)
            result.rewardsChosen += chosen[i] * inv
            result.rewardsRejected += rejected[i] * inv
            wins += difference > 0 ? 1 : 0
        }
        result.margin = result.rewardsChosen - result.rewardsRejected
        result.accuracy = Double(wins) / Double(n)
        return result
    }
}

/// A batch's mean reward loss, its gradient with respect to each pair's rewards, and the
/// metrics logged for it (means over the batch's pairs).
public struct RewardBatchResult: Sendable {
    public var loss = 0.0
    /// dloss/dr_c and dloss/dr_r per pair, for the mean loss.
    public var dChosen: [Double] = []
    public var dRejected: [Double] = []
    /// Share of pairs whose chosen reward is strictly higher.
    public var accuracy = 0.0
    /// Mean r_c − r_r.
    public var margin = 0.0
    public var rewardsChosen = 0.0
    public var rewardsRejected = 0.0
    public var pairs: Int

    public init(pairs: Int) { self.pairs = pairs }

    /// The fields of a train-log line (TRL's `accuracy` and `margin`, and the mean rewards).
    public var logFields: [(String, Double)] {
        [("accuracy", accuracy), ("margin", margin), ("rewards/chosen", rewardsChosen), ("rewards/rejected", rewardsRejected)]
    }

    /// The pair-weighted mean of several batches' metrics and losses (gradients are not merged).
    public static func mean(_ results: [RewardBatchResult]) -> RewardBatchResult {
        let pairs = results.reduce(0) { $0 + $1.pairs }
        var out = RewardBatchResult(pairs: pairs)
        for path in [\RewardBatchResult.loss, \.accuracy, \.margin, \.rewardsChosen, \.rewardsRejected] as [WritableKeyPath<RewardBatchResult, Double>] {
            out[keyPath: path] = results.reduce(0) { $0 + $1[keyPath: path] * Double($1.pairs) } / Double(max(pairs, 1))
        }
        return out
    }
}
