import Foundation
import Testing
import LatheData
import LatheIO
import LatheModel
import LatheTensor
@testable import LatheTrain

@Suite("Reward loss") struct RewardTests {
    // Worked by hand: pair 0 has r_c − r_r = 1.5, no margin: −log σ(1.5) = log(1 + e^−1.5) = 0.201413;
    // pair 1 has r_c − r_r = −1 and margin 1: −log σ(−2) = log(1 + e²) = 2.126928. Centring 0.01 adds
    // 0.01 · mean(2.5², (−1)²) = 0.03625. Mean loss 1.164171 + 0.03625 = 1.200421.
    @Test func lossMatchesItsClosedForm() {
        let chosen = [2.0, -1], rejected = [0.5, 0.0], margins = [0.0, 1]
        let r = RewardLoss(centerRewards: 0.01).batch(chosen: chosen, rejected: rejected, margins: margins)
        #expect(abs(r.loss - 1.200421) < 1e-6)
        #expect(r.accuracy == 0.5)
        #expect(abs(r.margin - 0.25) < 1e-12)
        #expect(r.rewardsChosen == 0.5 && r.rewardsRejected == 0.25)
        #expect(r.logFields.map(\.0) == ["accuracy", "margin", "rewards/chosen", "rewards/rejected"])
        let plain = RewardLoss().batch(chosen: chosen, rejected: rejected)
        #expect(abs(plain.loss - (0.201413 + log1p(exp(1.0))) / 2) < 1e-6)
        // A far negative difference stays finite.
        #expect(RewardLoss().batch(chosen: [-800], rejected: [800]).loss.isFinite)
        // Equal rewards are no win.
        #expect(RewardLoss().batch(chosen: [1], rejected: [1]).accuracy == 0)
    }

    @Test(arguments: [0.0, 0.05]) func gradientMatchesFiniteDifferences(center: Double) {
        let loss = RewardLoss(centerRewards: center)
        let chosen = [0.3, -1.2, 2.2], rejected = [1.1, -0.4, 0.7], margins = [0.5, 0, 1.5]
        let r = loss.batch(chosen: chosen, rejected: rejected, margins: margins)
        let numeric = GradientCheck.numericGradient(chosen + rejected) { x in
            loss.batch(chosen: Array(x[0..<3]), rejected: Array(x[3...]), margins: margins).loss
        }
        #expect(GradientCheck.relativeError(r.dChosen + r.dRejected, numeric) < 1e-7)
    }

    @Test func meanWeighsBatchesByPairs() {
        var a = RewardBatchResult(pairs: 1), b = RewardBatchResult(pairs: 3)
        (a.loss, a.accuracy, b.loss, b.accuracy) = (4, 1, 0, 0)
        let m = RewardBatchResult.mean([a, b])
        #expect(m.pairs == 4 && m.loss == 1 && m.accuracy == 0.25)
    }

    // The reward is read at the response's <|im_end|>, not at the template's newline after it;
    // the record's margin is kept, and a margin that is not a number stops the run with its line.
    @Test func pairsCarryTheirMarginAndScoreAtTheEndOfTurn() throws {
        let path = writeLines([#"{"id":"p","prompt":"Hi","chosen":"Yes","rejected":"No","margin":1.5}"#,
                               #"{"id":"q","prompt":"Hi","chosen":"Yes","rejected":"No"}"#])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokenizer = try byteTokenizer()
        let data = try PreferenceData(paths: [path], tokenizer: tokenizer, template: .chatml, seqLen: 128)
        #expect(data.pairs.map(\.margin) == [1.5, 0])
        let scored = PreferencePair.scored(data.pairs[0].chosen)
        #expect(scored.count == data.pairs[0].chosen.tokens.count - 1)
        #expect(scored.last == tokenizer.tokenToId("<|im_end|>"))
        let bad = writeLines([#"{"id":"ok","prompt":"Hi","chosen":"a","rejected":"b"}"#,
                              #"{"id":"m","prompt":"Hi","chosen":"a","rejected":"b","margin":"big"}"#])
        defer { try? FileManager.default.removeItem(atPath: bad) }
        do {
            _ = try PreferenceData(paths: [bad], tokenizer: tokenizer, template: .chatml, seqLen: 64)
            Issue.record("a string margin was accepted")
        } catch let error as RecordError {
            #expect(error.reason == "invalid_preference" && error.description.contains(":2:"), "\(error)")
        }
    }

    // One optimizer step of the trainer lowers the loss on its own batch, and eval metrics are TRL's names.
    @Test func trainerStepsAndEvaluates() throws {
        let lines = (0..<8).map { #"{"id":"\#($0)","prompt":"Q\#($0)","chosen":"Thanks!","rejected":"No."}"# }
        let path = writeLines(lines)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokenizer = try byteTokenizer()
        let data = try PreferenceData(paths: [path], tokenizer: tokenizer, template: .chatml, seqLen: 64)
        let config = LlamaConfig(vocabSize: tokenizer.vocabSize, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                                 numAttentionHeads: 2, maxPositionEmbeddings: 128)
        let model = RewardModel(config: config, maxBatch: 16, maxSeq: 65, seed: 1)
        var settings = TrainSettings()
        settings.batchSize = 8
        settings.lr = 1e-2
        settings.schedule = .constant
        let trainer = RewardTrainer(model: model, tokenizer: tokenizer, template: .chatml, data: data, evalData: data,
                                    loss: RewardLoss(), settings: settings, seqLen: 64)
        let before = try trainer.evaluate()
        #expect(before.map(\.name) == ["eval_loss", "eval_accuracy", "eval_margin"])
        for _ in 0..<5 { _ = try trainer.trainStep() }
        let after = try trainer.evaluate()
        #expect(after[0].value < before[0].value, "\(before) → \(after)")
        #expect(after[1].value == 1)
    }
}
