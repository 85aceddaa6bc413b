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

/// Summed response log-probabilities of a batch of pairs (nats), policy and reference (empty for
/// the reference-free objectives), and each response's token count (for per-token means).
public struct PairLogProbs: Sendable, Equatable {
    public var policyChosen: [Double]
    public var policyRejected: [Double]
    public var refChosen: [Double]
    public var refRejected: [Double]
    public var chosenTokens: [Double]
    public var rejectedTokens: [Double]

    public init(policyChosen: [Double], policyRejected: [Double], refChosen: [Double] = [], refRejected: [Double] = [],
                chosenTokens: [Double] = [], rejectedTokens: [Double] = []) {
        self.policyChosen = policyChosen
        self.policyRejected = policyRejected
        self.refChosen = refChosen
        self.refRejected = refRejected
        self.chosenTokens = chosenTokens
        self.rejectedTokens = rejectedTokens
    }

    /// Mean per-token log-probabilities ā = s / n of the policy's chosen and rejected responses.
    var meanChosen: [Double] { zip(policyChosen, chosenTokens).map { $0 / $1 } }
    var meanRejected: [Double] { zip(policyRejected, rejectedTokens).map { $0 / $1 } }

    /// The negative log-likelihood per chosen token over the batch (TRL's `nll_loss`).
    var chosenNLL: Double { -policyChosen.reduce(0, +) / chosenTokens.reduce(0, +) }
}

/// A preference objective's loss on a batch of pairs, from their summed log-probabilities: DPO
/// against a reference, or one of its reference-free relatives (SimPO, ORPO).
public protocol PreferenceLoss: Sendable {
    /// lathe-train's --objective for it, saved in the trainer state.
    var objective: String { get }
    /// Whether `batch` reads the reference's log-probabilities (else no reference pass runs).
    var needsReference: Bool { get }
    /// The mean loss over the pairs, its gradient and TRL's metrics.
    func batch(_ logps: PairLogProbs) -> DPOBatchResult
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
    /// An objective's own metrics after the shared ones (ORPO's `nll_loss`, `log_odds_ratio`, …).
    public var extras: [(String, Double)] = []

    /// The fields of a train-log line, named as TRL names them.
    public var logFields: [(String, Double)] {
        [("rewards/chosen", rewardsChosen), ("rewards/rejected", rewardsRejected), ("rewards/margins", rewardsMargins),
         ("rewards/accuracies", rewardsAccuracies), ("logps/chosen", logpsChosen), ("logps/rejected", logpsRejected)] + extras
    }

    /// Rewards `beta`·x per pair for chosen and rejected, the loss and its gradient set by the caller;
    /// the means TRL logs, with accuracy the share of pairs whose chosen reward is higher.
    init(rewardsChosen chosen: [Double], rewardsRejected rejected: [Double], logps: PairLogProbs, averaged: Bool) {
        let n = Double(chosen.count)
        loss = 0
        dChosen = []
        dRejected = []
        rewardsChosen = chosen.reduce(0, +) / n
        rewardsRejected = rejected.reduce(0, +) / n
        rewardsMargins = rewardsChosen - rewardsRejected
        rewardsAccuracies = Double(zip(chosen, rejected).filter { $0 > $1 }.count) / n
        logpsChosen = (averaged ? logps.meanChosen : logps.policyChosen).reduce(0, +) / n
        logpsRejected = (averaged ? logps.meanRejected : logps.policyRejected).reduce(0, +) / n
        pairs = chosen.count
    }
}

extension DPOLoss: PreferenceLoss {
    public var objective: String { "dpo" }
    public var needsReference: Bool { true }

    /// The mean loss over the pairs of `logps` and its gradient; rewards are β·(π − ref).
    public func batch(_ logps: PairLogProbs) -> DPOBatchResult {
        let n = logps.policyChosen.count
        precondition(n > 0 && [logps.policyRejected.count, logps.refChosen.count, logps.refRejected.count].allSatisfy { $0 == n })
        let chosen = zip(logps.policyChosen, logps.refChosen).map { $0 - $1 }
        let rejected = zip(logps.policyRejected, logps.refRejected).map { $0 - $1 }
        var result = DPOBatchResult(rewardsChosen: chosen.map { beta * $0 }, rewardsRejected: rejected.map { beta * $0 },
                                    logps: logps, averaged: false)
        for i in 0..<n {
            let (loss, d) = self(margin: chosen[i] - rejected[i])
            result.loss += loss / Double(n)
            result.dChosen.append(d / Double(n))
            result.dRejected.append(-d / Double(n))
        }
        return result
    }
}
