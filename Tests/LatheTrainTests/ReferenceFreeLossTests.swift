import Foundation
import Testing
import LatheModel
import LatheTensor
@testable import LatheTrain

@Suite("SimPO and ORPO") struct ReferenceFreeLossTests {
    // One pair: chosen sums −6 nats over 3 tokens (ā_c = −2), rejected −10 over 4 (ā_r = −2.5).
    static let pair = PairLogProbs(policyChosen: [-6], policyRejected: [-10], chosenTokens: [3], rejectedTokens: [4])

    // SimPO at β 2, γ 0.5: z = 2·(−2 + 2.5) − 0.5 = 0.5, loss log(1 + e^−0.5) = 0.474077;
    // with ε 0.1: 0.9·0.474077 + 0.1·log(1 + e^0.5) = 0.524077. Rewards β·ā: −4 and −5.
    @Test func simpoMatchesItsClosedForm() {
        let r = SimPOLoss(beta: 2, gamma: 0.5).batch(Self.pair)
        #expect(abs(r.loss - 0.4740770) < 1e-6)
        #expect(abs(SimPOLoss(beta: 2, gamma: 0.5, labelSmoothing: 0.1).batch(Self.pair).loss - 0.5240770) < 1e-6)
        #expect(r.rewardsChosen == -4 && r.rewardsRejected == -5 && r.rewardsMargins == 1 && r.rewardsAccuracies == 1)
        #expect(r.logpsChosen == -2 && r.logpsRejected == -2.5)
        #expect(r.logFields.map(\.0) == ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                                         "logps/chosen", "logps/rejected", "nll_loss"])
        #expect(r.logFields.last!.1 == 2)
        // A γ as large as the reward gap puts the pair at z = 0: loss log 2.
        #expect(abs(SimPOLoss(beta: 2, gamma: 1).batch(Self.pair).loss - log(2)) < 1e-12)
    }

    // ORPO at λ 0.1: log(1 − e^−2) = −0.145413, log(1 − e^−2.5) = −0.085651, so the log odds ratio is
    // 0.5 − (−0.145413 + 0.085651) = 0.559763 and log σ of it −0.451932; NLL per chosen token 6/3 = 2;
    // loss 2 + 0.1·0.451932 = 2.045193.
    @Test func orpoMatchesItsClosedForm() {
        let r = ORPOLoss(lambda: 0.1).batch(Self.pair)
        #expect(abs(r.loss - 2.0451932) < 1e-6)
        let extras = Dictionary(uniqueKeysWithValues: r.extras)
        #expect(extras["nll_loss"] == 2)
        #expect(abs(extras["log_odds_chosen"]! - 0.5597630) < 1e-6)
        #expect(abs(extras["log_odds_ratio"]! + 0.4519316) < 1e-6)
        #expect(abs(r.rewardsChosen + 0.2) < 1e-12 && abs(r.rewardsRejected + 0.25) < 1e-12 && r.rewardsAccuracies == 1)
        // Near-certain responses (ā → 0) keep the odds finite.
        let certain = PairLogProbs(policyChosen: [0], policyRejected: [-1e-12], chosenTokens: [2], rejectedTokens: [2])
        #expect(ORPOLoss().batch(certain).loss.isFinite)
    }

    static let losses: [any PreferenceLoss] = [SimPOLoss(), SimPOLoss(beta: 1.5, gamma: 0.3, labelSmoothing: 0.2), ORPOLoss(),
                                               ORPOLoss(lambda: 1)]

    // dloss/ds for every summed log-probability of a 3-pair batch against central differences.
    @Test(arguments: 0..<losses.count) func derivativeMatchesFiniteDifferences(index: Int) {
        let loss = Self.losses[index]
        let base = PairLogProbs(policyChosen: [-6, -3.1, -12], policyRejected: [-10, -2.2, -7], chosenTokens: [3, 5, 6],
                                rejectedTokens: [4, 2, 5])
        let r = loss.batch(base)
        let numeric = GradientCheck.numericGradient(base.policyChosen + base.policyRejected) { x in
            var p = base
            p.policyChosen = Array(x[0..<3])
            p.policyRejected = Array(x[3...])
            return loss.batch(p).loss
        }
        #expect(GradientCheck.relativeError(r.dChosen + r.dRejected, numeric) < 1e-6, "\(loss.objective): \(r.dChosen + r.dRejected) against \(numeric)")
    }

    /// SimPO's and ORPO's loss from logits (2n·T, V) in Double, each written out from its paper's
    /// definition: log-softmax at the response positions, mean per row, then the pair terms.
    static func referenceLoss(_ logits: [Double], targets: [Int32], seq t: Int, vocab v: Int, pairs n: Int, loss: any PreferenceLoss) -> Double {
        var sums = [Double](repeating: 0, count: 2 * n), counts = sums
        for (j, target) in targets.enumerated() where target >= 0 {
            let row = logits[(j * v)..<((j + 1) * v)]
            let m = row.max()!
            sums[j / t] += row[j * v + Int(target)] - m - log(row.reduce(0) { $0 + exp($1 - m) })
            counts[j / t] += 1
        }
        func logsig(_ x: Double) -> Double { -log(1 + exp(-x)) }
        let mean = zip(sums, counts).map { $0 / $1 }
        if let simpo = loss as? SimPOLoss {
            let (b, g, e) = (simpo.beta, simpo.gamma, simpo.labelSmoothing)
            return (0..<n).reduce(0.0) { total, i in
                let z = b * (mean[i] - mean[n + i]) - g
                return total + (-(1 - e) * logsig(z) - e * logsig(-z)) / Double(n)
            }
        }
        let lambda = (loss as! ORPOLoss).lambda
        let nll = -sums[0..<n].reduce(0, +) / counts[0..<n].reduce(0, +)
        let odds = (0..<n).map { i in
            let pc = exp(mean[i]), pr = exp(mean[n + i])
            return log((pc / (1 - pc)) / (pr / (1 - pr)))
        }
        return nll + lambda * odds.reduce(0.0) { $0 - logsig($1) } / Double(n)
    }

    // d loss/d logits handed to the model's backward, against central differences of the Double
    // reference at every logit of every response position, as the DPO test does.
    @Test(arguments: 0..<losses.count) func logitGradientMatchesFiniteDifferences(index: Int) throws {
        let loss = Self.losses[index]
        let path = writeLines(DPOTests.pairLines)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try PreferenceData(paths: [path], tokenizer: try byteTokenizer(), template: .chatml, seqLen: 40)
        let model = DPOTests.tinyModel(seed: 3, rows: 4, seq: 40)
        _ = DPOObjective.forwardAndGradient(model, data.pairs, loss: loss)
        let (error, numeric) = DPOTests.logitGradientError(model, data.pairs) { x, targets, t in
            Self.referenceLoss(x, targets: targets, seq: t, vocab: 260, pairs: 2, loss: loss)
        }
        #expect(error < 1e-3, "\(loss.objective): relative error \(error)")
        #expect(numeric.contains { $0 != 0 })
    }
}
