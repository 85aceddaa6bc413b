import Foundation

/// The DPO family of losses on one pair, as functions of the implicit reward margin
/// h = (π_c − ref_c) − (π_r − ref_r), where π and ref are the summed log-probabilities of a
/// response's tokens under the policy and the reference model (nats).
public enum DPOLossKind: String, CaseIterable, Sendable {
    /// −(1−ε)·log σ(βh) − ε·log σ(−βh): the paper's loss, with conservative label smoothing ε.
    case sigmoid
    /// (h − 1/(2β))²: IPO, which regresses the margin to a fixed target instead of pushing it to ∞.
    case ipo
    /// max(0, 1 − βh): the SLiC hinge.
    case hinge
    /// ((1−ε)·(−log σ(βh)) + ε·log σ(−βh)) / (1−2ε): unbiased under a label-flip rate ε.
    case robust
}

/// One DPO loss with its β and label smoothing; value and derivative in Double.
public struct DPOLoss: Sendable, Equatable {
    public var kind: DPOLossKind
    public var beta: Double
    public var labelSmoothing: Double

    public init(kind: DPOLossKind = .sigmoid, beta: Double = 0.1, labelSmoothing: Double = 0) {
        self.kind = kind
        self.beta = beta
        self.labelSmoothing = labelSmoothing
    }

    /// The loss at margin h and dloss/dh.
    public func callAsFunction(margin h: Double) -> (loss: Double, dMargin: Double) {
        let b = beta, e = labelSmoothing, z = b * h
        switch kind {
        case .sigmoid:
            return (-(1 - e) * logSigmoid(z) - e * logSigmoid(-z), -(1 - e) * b * sigmoid(-z) + e * b * sigmoid(z))
        case .ipo:
            let d = h - 1 / (2 * b)
            return (d * d, 2 * d)
        case .hinge:
            return 1 - z > 0 ? (1 - z, -b) : (0, 0)
        case .robust:
            let k = 1 / (1 - 2 * e)
            return (k * (-(1 - e) * logSigmoid(z) + e * logSigmoid(-z)), k * (-(1 - e) * b * sigmoid(-z) - e * b * sigmoid(z)))
        }
    }
}

/// log σ(x) without overflow at either end.
func logSigmoid(_ x: Double) -> Double { min(x, 0) - log1p(exp(-abs(x))) }

func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

/// Summed response log-probabilities of a batch of pairs (nats), policy and reference.
public struct PairLogProbs: Sendable, Equatable {
    public var policyChosen: [Double]
    public var policyRejected: [Double]
    public var refChosen: [Double]
    public var refRejected: [Double]

    public init(policyChosen: [Double], policyRejected: [Double], refChosen: [Double], refRejected: [Double]) {
        self.policyChosen = policyChosen
        self.policyRejected = policyRejected
        self.refChosen = refChosen
        self.refRejected = refRejected
    }
}

/// A batch's mean loss, its gradient with respect to each summed log-probability, and the
/// metrics TRL logs under the same names (means over the batch's pairs).
public struct DPOBatchResult: Sendable {
    public var loss: Double
    /// dloss/dπ_c and dloss/dπ_r per pair, for the mean loss.
    public var dChosen: [Double]
    public var dRejected: [Double]
    /// β·(π − ref): rewards/chosen, rewards/rejected, their difference, and how often chosen wins.
    public var rewardsChosen: Double
    public var rewardsRejected: Double
    public var rewardsMargins: Double
    public var rewardsAccuracies: Double
    public var logpsChosen: Double
    public var logpsRejected: Double
    public var pairs: Int

    /// The fields of a train-log line, named as TRL names them.
    public var logFields: [(String, Double)] {
        [("rewards/chosen", rewardsChosen), ("rewards/rejected", rewardsRejected), ("rewards/margins", rewardsMargins),
         ("rewards/accuracies", rewardsAccuracies), ("logps/chosen", logpsChosen), ("logps/rejected", logpsRejected)]
    }
}

extension DPOLoss {
    /// The mean loss over the pairs of `logps` and its gradient.
    public func batch(_ logps: PairLogProbs) -> DPOBatchResult {
        let n = logps.policyChosen.count
        precondition(n > 0 && [logps.policyRejected.count, logps.refChosen.count, logps.refRejected.count].allSatisfy { $0 == n })
        var result = DPOBatchResult(loss: 0, dChosen: [], dRejected: [], rewardsChosen: 0, rewardsRejected: 0, rewardsMargins: 0,
                                    rewardsAccuracies: 0, logpsChosen: 0, logpsRejected: 0, pairs: n)
        let inv = 1 / Double(n)
        var wins = 0
        for i in 0..<n {
            let chosen = logps.policyChosen[i] - logps.refChosen[i], rejected = logps.policyRejected[i] - logps.refRejected[i]
            let (loss, d) = self(margin: chosen - rejected)
            result.loss += loss * inv
            result.dChosen.append(d * inv)
            result.dRejected.append(-d * inv)
            result.rewardsChosen += beta * chosen * inv
            result.rewardsRejected += beta * rejected * inv
            wins += chosen > rejected ? 1 : 0
            result.logpsChosen += logps.policyChosen[i] * inv
            result.logpsRejected += logps.policyRejected[i] * inv
        }
        result.rewardsMargins = result.rewardsChosen - result.rewardsRejected
        result.rewardsAccuracies = Double(wins) / Double(n)
        return result
    }
}
