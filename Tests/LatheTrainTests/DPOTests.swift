import Foundation
import Testing
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
@testable import LatheTrain

@Suite("DPO") struct DPOTests {
    // Closed forms at β = 0.1, margin h = 2 (βh = 0.2), worked by hand:
    // sigmoid: log(1 + e^−0.2) = 0.598139; with ε = 0.1 add ε·βh: 0.618139;
    // robust ε = 0.1: (0.9·0.598139 − 0.1·0.798139)/0.8 = 0.573139; ipo: (2 − 5)² = 9; hinge: 1 − 0.2 = 0.8.
    @Test func lossesMatchTheirClosedForms() {
        #expect(abs(DPOLoss(kind: .sigmoid)(margin: 2).loss - 0.598139) < 1e-6)
        #expect(abs(DPOLoss(kind: .sigmoid, labelSmoothing: 0.1)(margin: 2).loss - 0.618139) < 1e-6)
        #expect(abs(DPOLoss(kind: .robust, labelSmoothing: 0.1)(margin: 2).loss - 0.573139) < 1e-6)
        #expect(DPOLoss(kind: .ipo)(margin: 2).loss == 9)
        #expect(abs(DPOLoss(kind: .hinge)(margin: 2).loss - 0.8) < 1e-12)
        #expect(DPOLoss(kind: .hinge)(margin: 20).loss == 0)
        // Far margins stay finite (log σ must not overflow).
        #expect(DPOLoss(kind: .sigmoid, beta: 1)(margin: -1000).loss.isFinite)
    }

    static let losses = [DPOLoss(kind: .sigmoid), DPOLoss(kind: .sigmoid, beta: 0.5, labelSmoothing: 0.2), DPOLoss(kind: .ipo, beta: 0.3),
                         DPOLoss(kind: .hinge, beta: 0.5), DPOLoss(kind: .robust, beta: 0.5, labelSmoothing: 0.1)]

    @Test(arguments: losses) func derivativeMatchesFiniteDifferences(loss: DPOLoss) {
        for h in [-3.7, -0.4, 0.9, 2.6] {  // away from the hinge's kink at βh = 1
            let numeric = GradientCheck.numericGradient([h]) { loss(margin: $0[0]).loss }[0]
            #expect(abs(loss(margin: h).dMargin - numeric) < 1e-7, "\(loss.kind) at \(h)")
        }
    }

    @Test func batchMetricsAreTRLs() {
        // Pair 0: chosen gains 2 nats over the reference, rejected loses 1 (h = 3); pair 1: h = −1.
        let logps = PairLogProbs(policyChosen: [-8, -5], policyRejected: [-11, -6], refChosen: [-10, -6], refRejected: [-10, -8])
        let r = DPOLoss(kind: .sigmoid, beta: 0.1).batch(logps)
        #expect(abs(r.rewardsChosen - 0.1 * (2 + 1) / 2) < 1e-12)
        #expect(abs(r.rewardsRejected - 0.1 * (-1 + 2) / 2) < 1e-12)
        #expect(abs(r.rewardsMargins - 0.1 * (3 - 1) / 2) < 1e-12)
        #expect(r.rewardsAccuracies == 0.5)
        #expect(r.logpsChosen == -6.5 && r.logpsRejected == -8.5)
        #expect(abs(r.loss - (log1p(exp(-0.3)) + log1p(exp(0.1))) / 2) < 1e-12)
        #expect(r.logFields.map(\.0) == ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                                         "logps/chosen", "logps/rejected"])
    }

    // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" is 1+5+2+1+1+1+10 = 21 tokens with the byte
    // tokenizer; "Yes<|im_end|>" follows (4 labelled tokens), then an unlabelled "\n".
    @Test func pairsLabelTheResponseAndItsEndOfTurn() throws {
        let path = writeLines([#"{"id":"p","prompt":"Hi","chosen":"Yes","rejected":"No!!"}"#,
                               #"{"id":"c","prompt":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"},{"role":"user","content":"Ok?"}],"chosen":[{"role":"assistant","content":"Yes"}],"rejected":[{"role":"assistant","content":"No"}]}"#])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try PreferenceData(paths: [path], tokenizer: try byteTokenizer(), template: .chatml, seqLen: 128)
        #expect(data.count == 2)
        let pair = data.pairs[0]
        #expect(pair.chosen.tokens.count == 26 && pair.rejected.tokens.count == 27)
        #expect(pair.chosen.labelled.indices.filter { pair.chosen.labelled[$0] } == [21, 22, 23, 24])
        let yes: [Int32] = [93, 105, 119, 2]  // 4 + the bytes of "Yes" (89, 101, 115), then <|im_end|>
        #expect(Array(pair.chosen.tokens[21...24]) == yes)
        let (_, targets) = PreferencePair.row(pair.chosen)
        #expect(targets.indices.filter { targets[$0] >= 0 } == [20, 21, 22, 23])
        // The prompt's own assistant turn "Yo" carries no loss: only "Yes"/"No" and <|im_end|>.
        #expect(data.pairs[1].chosen.labelled.filter { $0 }.count == 4)
        #expect(data.pairs[1].rejected.labelled.filter { $0 }.count == 3)
    }

    @Test func unusablePairsStopWithTheirLine() throws {
        let tokenizer = try byteTokenizer()
        for (line, reason) in [(#"{"id":"s","prompt":"Hi","chosen":"Same","rejected":"Same"}"#, "identical_responses"),
                               (#"{"id":"l","prompt":"\#(String(repeating: "x", count: 200))","chosen":"a","rejected":"b"}"#, "too_long"),
                               (#"{"id":"m","prompt":[{"role":"user","content":"Hi"}],"chosen":"a","rejected":"b"}"#, "invalid_preference"),
                               (#"{"id":"n","prompt":"Hi","chosen":"a"}"#, "invalid_preference")] {
            let path = writeLines([#"{"id":"ok","prompt":"Hi","chosen":"a","rejected":"b"}"#, line])
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try PreferenceData(paths: [path], tokenizer: tokenizer, template: .chatml, seqLen: 64)
                Issue.record("\(reason): accepted")
            } catch let error as RecordError {
                #expect(error.reason == reason)
                #expect(error.message.isEmpty == false && "\(error)".contains(":2:"), "\(error)")
            }
            let skipped = try PreferenceData(paths: [path], tokenizer: tokenizer, template: .chatml, seqLen: 64, onError: .skip)
            #expect(skipped.count == 1 && skipped.stats.dropped[reason] == 1)
        }
    }

    @Test func aTokenizerThatSplitsTheTemplatesMarkersIsRefused() throws {
        let path = writeLines([Self.pairLines[0]])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: IOFailure.self) {
            _ = try PreferenceData(paths: [path], tokenizer: try byteTokenizer(), template: .llama3, seqLen: 64)
        }
    }

    static func tinyModel(seed: UInt64, rows: Int, seq: Int) -> Llama {
        let config = LlamaConfig(vocabSize: 260, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, ropeTheta: 10_000, maxPositionEmbeddings: 64, tieWordEmbeddings: false)
        return Llama(config: config, maxBatch: rows, maxSeq: seq, seed: seed)
    }

    /// The whole DPO loss from logits (2n·T, V) in Double: log-softmax at each response position,
    /// summed per row, then each loss written out from its definition.
    static func referenceLoss(_ logits: [Double], targets: [Int32], seq t: Int, vocab v: Int, refChosen: [Double],
                              refRejected: [Double], loss: DPOLoss) -> Double {
        let n = refChosen.count
        var sums = [Double](repeating: 0, count: 2 * n)
        for (j, target) in targets.enumerated() where target >= 0 {
            let row = logits[(j * v)..<((j + 1) * v)]
            let m = row.max()!
            sums[j / t] += row[j * v + Int(target)] - m - log(row.reduce(0) { $0 + exp($1 - m) })
        }
        let b = loss.beta, e = loss.labelSmoothing
        func logsig(_ x: Double) -> Double { -log(1 + exp(-x)) }
        return (0..<n).reduce(0.0) { total, i in
            let h = (sums[i] - refChosen[i]) - (sums[n + i] - refRejected[i])
            let value: Double = switch loss.kind {
            case .sigmoid: -(1 - e) * logsig(b * h) - e * logsig(-b * h)
            case .ipo: (h - 1 / (2 * b)) * (h - 1 / (2 * b))
            case .hinge: max(0, 1 - b * h)
            case .robust: ((1 - e) * -logsig(b * h) + e * logsig(-b * h)) / (1 - 2 * e)
            }
            return total + value / Double(n)
        }
    }

    static let pairLines = [#"{"id":"a","prompt":"Hi","chosen":"Yes","rejected":"No!!"}"#,
                            #"{"id":"b","prompt":"2+2?","chosen":"4","rejected":"five"}"#]

    // d loss/d logits, handed to the model's backward (itself checked against finite differences in
    // LlamaTests), against central differences of the Double reference loss at every logit of every row.
    @Test(arguments: losses) func logitGradientMatchesFiniteDifferences(loss: DPOLoss) throws {
        let path = writeLines(Self.pairLines)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try PreferenceData(paths: [path], tokenizer: try byteTokenizer(), template: .chatml, seqLen: 40)
        let model = Self.tinyModel(seed: 3, rows: 4, seq: 40)
        // A reference a few nats off the policy (margins 3 and −1.5), so every loss sits away from its special points.
        let policy = DPOObjective.forward(model, data.pairs).logps
        let refChosen = [policy.policyChosen[0] - 2, policy.policyChosen[1] + 1]
        let refRejected = [policy.policyRejected[0] + 1, policy.policyRejected[1] - 0.5]
        _ = DPOObjective.forwardAndGradient(model, data.pairs, refChosen: refChosen, refRejected: refRejected, loss: loss)
        let (error, numeric) = Self.logitGradientError(model, data.pairs) { x, targets, t in
            Self.referenceLoss(x, targets: targets, seq: t, vocab: 260, refChosen: refChosen, refRejected: refRejected, loss: loss)
        }
        #expect(error < 1e-3, "\(loss.kind): relative error \(error)")
        #expect(numeric.contains { $0 != 0 })
    }

    /// The relative error between d loss/d logits as `model` holds it (after `forwardAndGradient` on `pairs`)
    /// and central differences of `reference` (the loss from every logit, in Double, given the targets and
    /// row length) at each response position, plus one position without a target (whose gradient must be 0).
    static func logitGradientError(_ model: Llama, _ pairs: [PreferencePair],
                                   reference: (_ logits: [Double], _ targets: [Int32], _ seq: Int) -> Double) -> (error: Double, numeric: [Double]) {
        let (_, targets, _, t) = DPOObjective.layout(pairs)
        let v = model.config.vocabSize, count = 2 * pairs.count * t * v
        let logits = (0..<count).map { Double(model.acts.logits[$0]) }, analytic = (0..<count).map { Double(model.acts.logitsGrad[$0]) }
        let positions = targets.indices.filter { targets[$0] >= 0 } + [0]
        var numeric: [Double] = [], expected: [Double] = []
        for j in positions {
            var x = logits
            numeric += GradientCheck.numericGradient(Array(logits[(j * v)..<((j + 1) * v)]), step: 1e-5) { row in
                for k in 0..<v { x[j * v + k] = row[k] }
                return reference(x, targets, t)
            }
            expected += analytic[(j * v)..<((j + 1) * v)]
        }
        return (GradientCheck.relativeError(expected, numeric), numeric)
    }

    // A planted preference (chosen answers close with "Thanks."): a few AdamW steps of DPO against the
    // initial model make the policy prefer every chosen answer.
    @Test func trainingRaisesAccuraciesAndMargins() throws {
        let lines = (0..<6).map { i in
            #"{"id":"\#(i)","prompt":"Q\#(i)?","chosen":"A\#(i). Thanks.","rejected":"A\#(i)."}"#
        }
        let path = writeLines(lines)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try PreferenceData(paths: [path], tokenizer: try byteTokenizer(), template: .chatml, seqLen: 48)
        let model = Self.tinyModel(seed: 5, rows: 12, seq: 48)
        let pass = DPOObjective.logProbs(model, data, batchPairs: 6)
        let ref = (chosen: pass.policyChosen, rejected: pass.policyRejected)
        let loss = DPOLoss(kind: .sigmoid, beta: 0.1)
        let optimizer = AdamW(config: model.config, weightDecay: 0)
        let first = DPOObjective.forwardAndGradient(model, data.pairs, refChosen: ref.chosen, refRejected: ref.rejected, loss: loss)
        #expect(first.rewardsAccuracies == 0 && abs(first.rewardsMargins) < 1e-6)
        for step in 1...20 {
            model.zeroGradients()
            _ = DPOObjective.forwardAndGradient(model, data.pairs, refChosen: ref.chosen, refRejected: ref.rejected, loss: loss)
            model.backward()
            optimizer.update(model.params, model.grads, lr: 1e-2, step: step, gradScale: 1)
        }
        let last = DPOObjective.forwardAndGradient(model, data.pairs, refChosen: ref.chosen, refRejected: ref.rejected, loss: loss)
        #expect(last.rewardsAccuracies == 1)
        #expect(last.rewardsMargins > 0.5)
        #expect(last.loss < first.loss)
    }

    @Test func referenceCacheRoundTripsAndRejectsAnotherRun() throws {
        let path = NSTemporaryDirectory() + "lathe-ref-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ref = ReferenceLogProbs(chosen: [-1.5, -2.25], rejected: [-3, -0.125], key: "data=120 ref=ckpt seq=64")
        try ref.write(to: path)
        #expect(ReferenceLogProbs.read(from: path, key: ref.key, pairs: 2) == ref)
        #expect(ReferenceLogProbs.read(from: path, key: "data=121 ref=ckpt seq=64", pairs: 2) == nil)
        #expect(ReferenceLogProbs.read(from: path, key: ref.key, pairs: 3) == nil)
        #expect(ReferenceLogProbs.read(from: path + ".missing", key: ref.key, pairs: 2) == nil)
    }

    @Test func referencePassRunsOnceThenComesFromTheCache() throws {
        let dataPath = writeLines(Self.pairLines)
        let cache = NSTemporaryDirectory() + "lathe-ref-\(UUID().uuidString).bin"
        defer { for p in [dataPath, cache] { try? FileManager.default.removeItem(atPath: p) } }
        let data = try PreferenceData(paths: [dataPath], tokenizer: try byteTokenizer(), template: .chatml, seqLen: 40)
        let model = Self.tinyModel(seed: 3, rows: 4, seq: 40)
        let key = ReferenceLogProbs.key(data: data, reference: ReferenceLogProbs.weightsKey(model.params))
        // Other weights or other tokens make another key.
        #expect(key != ReferenceLogProbs.key(data: data, reference: ReferenceLogProbs.weightsKey(Self.tinyModel(seed: 4, rows: 4, seq: 40).params)))
        let editedPath = writeLines([Self.pairLines[0], Self.pairLines[1].replacingOccurrences(of: "five", with: "fiv")])
        defer { try? FileManager.default.removeItem(atPath: editedPath) }
        let edited = try PreferenceData(paths: [editedPath], tokenizer: try byteTokenizer(), template: .chatml, seqLen: 40)
        #expect(key != ReferenceLogProbs.key(data: edited, reference: ReferenceLogProbs.weightsKey(model.params)))
        let first = try ReferenceLogProbs.cached(at: cache, key: key, data: data, batchPairs: 1) { model }
        #expect(first.computed)
        // The same numbers as one batch of both pairs: padding and batching do not move a row's log-probability.
        let direct = DPOObjective.forward(model, data.pairs).logps
        for (a, b) in zip(first.logps.chosen + first.logps.rejected, direct.policyChosen + direct.policyRejected) { #expect(abs(a - b) < 1e-4) }
        let second = try ReferenceLogProbs.cached(at: cache, key: key, data: data, batchPairs: 1) {
            Issue.record("the cached reference pass ran again")
            return model
        }
        #expect(!second.computed && second.logps == first.logps)
    }
}

extension DPOLoss: CustomTestStringConvertible {
    public var testDescription: String { "\(kind) β=\(beta) ε=\(labelSmoothing)" }
}
