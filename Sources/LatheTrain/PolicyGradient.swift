import Foundation

// The per-token pieces PPO and GRPO are made of, in Double, each with its derivative beside it
// (checked against finite differences in Tests/LatheTrainTests/PolicyGradientTests.swift).
// log π is the policy's log-probability of a sampled token at the sampling temperature
// (log softmax(logits / T)), in nats.

/// The PPO clipped surrogate (Schulman et al. 2017) on one token: −min(ρA, clip(ρ, 1−ε, 1+ε)A)
/// with the importance ratio ρ = exp(log π − log π_old) against the rollout-time log-probability.
public struct ClippedSurrogate: Sendable, Equatable {
    public var epsilon: Double

    public init(epsilon: Double = 0.2) { self.epsilon = epsilon }

    /// The loss, its derivative with respect to log π, and whether the clipped term won
    /// (then the token carries no gradient; TRL counts these as `clipfrac`).
    public func callAsFunction(logProb: Double, oldLogProb: Double, advantage a: Double)
        -> (loss: Double, dLogProb: Double, clipped: Bool) {
        let ratio = exp(logProb - oldLogProb)
        let unclipped = -a * ratio, clipped = -a * min(max(ratio, 1 - epsilon), 1 + epsilon)
        return clipped > unclipped ? (clipped, 0, true) : (unclipped, -a * ratio, false)
    }
}

/// Estimators of KL(π ‖ π_ref) from one token sampled from π (Schulman, "Approximating KL
/// divergence"), with log r = log π_ref − log π.
public enum KLEstimator: String, CaseIterable, Sendable {
    /// −log r: unbiased, may be negative per token.
    case k1
    /// (r − 1) − log r: unbiased and never negative, with lower variance.
    case k3

    /// The estimate on one token and its derivative with respect to log π.
    public func callAsFunction(logProb: Double, refLogProb: Double) -> (value: Double, dLogProb: Double) {
        let logRatio = refLogProb - logProb
        switch self {
        case .k1: return (-logRatio, 1)
        case .k3:
            let ratio = exp(logRatio)
            return (ratio - 1 - logRatio, 1 - ratio)
        }
    }
}

public enum PolicyGradient {
    /// Entropy (nats) of softmax(logits / T) and its gradient with respect to the logits:
    /// ∂H/∂z_j = −p_j (log p_j + H) / T.
    public static func entropy(_ logits: [Double], temperature t: Double) -> (value: Double, dLogits: [Double]) {
        let m = logits.max() ?? 0
        let lse = m / t + log(logits.reduce(0) { $0 + exp(($1 - m) / t) })
        let logp = logits.map { $0 / t - lse }
        let h = -logp.reduce(0) { $0 + exp($1) * $1 }
        return (h, logp.map { -exp($0) * ($0 + h) / t })
    }

    /// GRPO's advantages: each reward minus its group's mean, over the group's standard deviation
    /// (Bessel-corrected, as torch.std) + 1e-4. Groups are consecutive runs of `groupSize`.
    public static func groupAdvantages(_ rewards: [Double], groupSize g: Int) -> (advantages: [Double], std: [Double]) {
        precondition(g >= 2 && rewards.count % g == 0, "groups of at least 2 that divide the rewards")
        var advantages: [Double] = [], stds: [Double] = []
        for start in stride(from: 0, to: rewards.count, by: g) {
            let group = rewards[start..<start + g]
            let mean = group.reduce(0, +) / Double(g)
            let std = (group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(g - 1)).squareRoot()
            advantages += group.map { ($0 - mean) / (std + 1e-4) }
            stds.append(std)
        }
        return (advantages, stds)
    }

    /// Generalised advantage estimation (Schulman et al. 2016) over one response:
    /// δ_t = r_t + γV_{t+1} − V_t (V after the last token is 0), A_t = δ_t + γλA_{t+1}; returns A + V.
    public static func gae(rewards: [Double], values: [Double], gamma: Double = 1, lambda: Double = 0.95)
        -> (advantages: [Double], returns: [Double]) {
        precondition(rewards.count == values.count)
        var advantages = [Double](repeating: 0, count: rewards.count)
        var last = 0.0
        for t in rewards.indices.reversed() {
            let next = t + 1 < values.count ? values[t + 1] : 0
            last = rewards[t] + gamma * next - values[t] + gamma * lambda * last
            advantages[t] = last
        }
        return (advantages, zip(advantages, values).map { $0 + $1 })
    }

    /// Whitens every value of every response together: (x − mean) / sqrt(var + 1e-8), the variance
    /// Bessel-corrected, as TRL's masked whiten does for the advantages.
    public static func whiten(_ x: [[Double]]) -> [[Double]] {
        let flat = x.flatMap { $0 }
        guard flat.count > 1 else { return x.map { $0.map { _ in 0 } } }
        let mean = flat.reduce(0, +) / Double(flat.count)
        let variance = flat.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(flat.count - 1)
        let scale = 1 / (variance + 1e-8).squareRoot()
        return x.map { $0.map { ($0 - mean) * scale } }
    }

    /// PPO's clipped value loss on one token: ½·max((v − R)², (v_clip − R)²) with
    /// v_clip = v_old + clip(v − v_old, −ε, ε). Returns the loss, ∂/∂v and whether the clipped term won.
    public static func clippedValueLoss(value v: Double, oldValue: Double, target: Double, epsilon: Double = 0.2)
        -> (loss: Double, dValue: Double, clipped: Bool) {
        let vClipped = oldValue + min(max(v - oldValue, -epsilon), epsilon)
        let plain = (v - target) * (v - target), clipped = (vClipped - target) * (vClipped - target)
        if clipped > plain {
            let inside = abs(v - oldValue) < epsilon
            return (0.5 * clipped, inside ? vClipped - target : 0, true)
        }
        return (0.5 * plain, v - target, false)
    }
}

/// The KL coefficient of PPO's per-token penalty: fixed, or adapted toward a target KL by the
/// proportional controller of Ziegler et al. (2019): e = clip(KL/target − 1, −0.2, 0.2),
/// β ← β·(1 + e·n/horizon) after a batch of n responses.
public struct KLController: Sendable, Equatable {
    public var value: Double
    /// nil keeps `value` fixed.
    public var target: Double?
    public var horizon: Double

    public init(value: Double, target: Double? = nil, horizon: Double = 10_000) {
        self.value = value
        self.target = target
        self.horizon = horizon
    }

    public mutating func update(kl: Double, responses n: Int) {
        guard let target, target > 0 else { return }
        let error = min(max(kl / target - 1, -0.2), 0.2)
        value *= 1 + error * Double(n) / horizon
    }
}
