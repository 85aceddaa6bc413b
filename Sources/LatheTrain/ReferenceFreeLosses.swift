import Foundation

/// SimPO (Meng, Xia and Chen 2024): DPO's sigmoid loss on the gap between the mean per-token
/// log-probabilities ā of chosen and rejected, less a target margin γ, with no reference model:
/// −(1−ε)·log σ(β(ā_c − ā_r) − γ) − ε·log σ(−β(ā_c − ā_r) + γ). TRL's CPOTrainer with
/// loss_type "simpo" and cpo_alpha 0 computes the same.
public struct SimPOLoss: PreferenceLoss, Equatable {
    public var beta: Double
    public var gamma: Double
    public var labelSmoothing: Double

    /// β 2.0 as the SimPO paper trains; γ 0.5 as TRL's simpo_gamma defaults.
    public init(beta: Double = 2.0, gamma: Double = 0.5, labelSmoothing: Double = 0) {
        self.beta = beta
        self.gamma = gamma
        self.labelSmoothing = labelSmoothing
    }

    public var objective: String { "simpo" }
    public var needsReference: Bool { false }

    /// Rewards are β·ā; `nll_loss` (per chosen token) is logged as TRL's CPOTrainer logs it, not trained on.
    public func batch(_ logps: PairLogProbs) -> DPOBatchResult {
        let n = logps.policyChosen.count
        precondition(n > 0 && [logps.policyRejected.count, logps.chosenTokens.count, logps.rejectedTokens.count].allSatisfy { $0 == n })
        let chosen = logps.meanChosen, rejected = logps.meanRejected
        var result = DPOBatchResult(rewardsChosen: chosen.map { beta * $0 }, rewardsRejected: rejected.map { beta * $0 },
                                    logps: logps, averaged: true)
        // The sigmoid DPO loss at margin h has z = βh; h = Δā − γ/β makes z = βΔā − γ.
        let sigmoid = DPOLoss(kind: .sigmoid, beta: beta, labelSmoothing: labelSmoothing)
        for i in 0..<n {
            let (loss, d) = sigmoid(margin: chosen[i] - rejected[i] - gamma / beta)
            result.loss += loss / Double(n)
            result.dChosen.append(d / logps.chosenTokens[i] / Double(n))
            result.dRejected.append(-d / logps.rejectedTokens[i] / Double(n))
        }
        result.extras = [("nll_loss", logps.chosenNLL)]
        return result
    }
}

/// ORPO (Hong, Lee and Thorne 2024): the chosen response's negative log-likelihood per token plus
/// λ times the mean of −log σ(log odds ratio), where odds(y) = P/(1−P) with P = exp(ā), ā the
/// response's mean per-token log-probability; no reference model. λ is lathe-train's --beta, as in
/// TRL's ORPOTrainer, which logs the same metric names.
public struct ORPOLoss: PreferenceLoss, Equatable {
    public var lambda: Double

    /// λ 0.1, TRL's ORPOConfig default.
    public init(lambda: Double = 0.1) { self.lambda = lambda }

    public var objective: String { "orpo" }
    public var needsReference: Bool { false }

    /// log(odds_c / odds_r) = (ā_c − ā_r) − (log(1 − e^ā_c) − log(1 − e^ā_r)).
    public static func logOddsRatio(_ chosen: Double, _ rejected: Double) -> Double {
        (chosen - rejected) - (log1mexp(chosen) - log1mexp(rejected))
    }

    /// Rewards are λ·ā; also `nll_loss`, `log_odds_ratio` (mean log σ of the log odds ratio) and
    /// `log_odds_chosen` (the mean log odds ratio), as TRL names them.
    public func batch(_ logps: PairLogProbs) -> DPOBatchResult {
        let n = logps.policyChosen.count
        precondition(n > 0 && [logps.policyRejected.count, logps.chosenTokens.count, logps.rejectedTokens.count].allSatisfy { $0 == n })
        // ā = 0 (every token certain) would make the odds infinite: keep ā just below 0.
        let chosen = logps.meanChosen.map { min($0, -1e-9) }, rejected = logps.meanRejected.map { min($0, -1e-9) }
        var result = DPOBatchResult(rewardsChosen: chosen.map { lambda * $0 }, rewardsRejected: rejected.map { lambda * $0 },
                                    logps: logps, averaged: true)
        let nll = logps.chosenNLL, chosenTokens = logps.chosenTokens.reduce(0, +)
        var ratio = 0.0, odds = 0.0
        for i in 0..<n {
            let lo = Self.logOddsRatio(chosen[i], rejected[i])
            ratio += logSigmoid(lo) / Double(n)
            odds += lo / Double(n)
            // d(−λ log σ(lo))/d lo = −λσ(−lo); d lo/dā_c = 1/(1 − e^ā_c), d lo/dā_r = −1/(1 − e^ā_r); dā/ds = 1/n_tokens.
            let dLogOdds = -lambda * sigmoid(-lo) / Double(n)
            result.dChosen.append(-1 / chosenTokens - dLogOdds / expm1(chosen[i]) / logps.chosenTokens[i])
            result.dRejected.append(dLogOdds / expm1(rejected[i]) / logps.rejectedTokens[i])
        }
        result.loss = nll - lambda * ratio
        result.extras = [("nll_loss", nll), ("log_odds_ratio", ratio), ("log_odds_chosen", odds)]
        return result
    }
}

/// log(1 − e^x) for x < 0, accurate at both ends (Mächler's switch at −ln 2).
func log1mexp(_ x: Double) -> Double { x > -M_LN2 ? log(-expm1(x)) : log1p(-exp(x)) }
