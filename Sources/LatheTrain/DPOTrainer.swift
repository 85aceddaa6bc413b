import LatheData
import LatheModel
import LatheTensor
import LatheTokenizer

/// The loop of DPO and its reference-free relatives (SimPO, ORPO: whichever `loss` is):
/// batchSize pairs per micro-batch (2·batchSize rows), gradAccum micro-batches per optimizer step,
/// the mean loss over the step's pairs, clipping and AdamW as in `Trainer`. Checkpoints hold the
/// policy in the Hugging Face layout and resume bit for bit, given the cached reference
/// log-probabilities (named in the trainer state by their key) when the loss reads them.
public final class DPOTrainer: TrainingRun {
    public let model: Llama
    public let optimizer: AdamW
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let data: PreferenceData
    /// nil when the loss needs no reference.
    public let reference: ReferenceLogProbs?
    public let loss: any PreferenceLoss
    /// Held-out pairs and, for DPO, their reference log-probabilities.
    public let evalData: PreferenceData?
    public let evalReference: ReferenceLogProbs?
    public let settings: TrainSettings
    public let seqLen: Int
    public private(set) var order: DataOrder
    public private(set) var step = 0
    public private(set) var tokensSeen = 0
    public var headline: [String] { ["rewards/margins", "rewards/accuracies"] }

    /// `model` must hold 2·batchSize rows of up to seqLen tokens.
    public init(model: Llama, tokenizer: Tokenizer, template: ChatTemplate, data: PreferenceData, reference: ReferenceLogProbs?,
                loss: any PreferenceLoss, evalData: PreferenceData? = nil, evalReference: ReferenceLogProbs? = nil,
                settings: TrainSettings, seqLen: Int, resumeFrom state: TrainerState? = nil) {
        precondition(!loss.needsReference || (reference != nil && (evalData == nil || evalReference != nil)))
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.data = data
        self.reference = reference
        self.loss = loss
        self.evalData = evalData
        self.evalReference = evalReference
        self.settings = settings
        self.seqLen = seqLen
        optimizer = AdamW(config: model.config, weightDecay: Float(settings.weightDecay))
        order = DataOrder(count: data.count, seed: settings.seed, cursor: state?.cursor ?? DataCursor())
        step = state?.step ?? 0
        tokensSeen = state?.tokens ?? 0
    }

    /// The trainer-state keys under which the reference caches' keys are saved (training and held-out pairs).
    public static let referenceKey = "reference_logps"
    public static let evalReferenceKey = "eval_reference_logps"

    /// One optimizer step; the metrics are means over its micro-batches.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        model.zeroGradients()
        var results: [DPOBatchResult] = [], tokens = 0, names: [String] = []
        for _ in 0..<settings.gradAccum {
            let indices = (0..<settings.batchSize).map { _ in order.next() }
            let pairs = indices.map { data.pairs[$0] }
            results.append(DPOObjective.forwardAndGradient(model, pairs, refChosen: reference.map { r in indices.map { r.chosen[$0] } } ?? [],
                                                           refRejected: reference.map { r in indices.map { r.rejected[$0] } } ?? [],
                                                           loss: loss, scale: 1 / Double(settings.gradAccum)))
            model.backward()
            tokens += pairs.reduce(0) { $0 + $1.chosen.tokens.count + $1.rejected.tokens.count }
            names += pairs.map(\.name)
        }
        let k = Double(results.count)
        var mean = results[0]
        let fields: [WritableKeyPath<DPOBatchResult, Double>] = [\.loss, \.rewardsChosen, \.rewardsRejected, \.rewardsMargins,
                                                                 \.rewardsAccuracies, \.logpsChosen, \.logpsRejected]
        for path in fields {
            mean[keyPath: path] = results.reduce(0) { $0 + $1[keyPath: path] } / k
        }
        mean.extras = mean.extras.indices.map { i in (mean.extras[i].0, results.reduce(0) { $0 + $1.extras[i].1 } / k) }
        let norm = gradientNorm(model.grads)
        guard mean.loss.isFinite && norm.isFinite else {
            throw TrainingError("step \(step + 1): the \(loss.objective) loss is \(mean.loss) and the gradient norm \(norm); stopped before updating "
                + "the weights. Lower --lr or --beta; batch records: " + names.joined(separator: ", "))
        }
        step += 1
        let lr = optimizer.step(model, step: step, gradientNorm: norm, settings: settings)
        tokensSeen += tokens
        return StepResult(loss: mean.loss, gradNorm: norm, lr: lr, tokens: tokens, seconds: monotonicSeconds() - started,
                          metrics: mean.logFields.map { (name: $0.0, value: $0.1) })
    }

    /// The loss and metrics over every held-out pair at once, prefixed `eval_` as TRL logs them.
    public func evaluate() throws -> [(name: String, value: Double)] {
        guard let evalData else { return [] }
        var logps = DPOObjective.logProbs(model, evalData, batchPairs: settings.batchSize)
        if let evalReference { (logps.refChosen, logps.refRejected) = (evalReference.chosen, evalReference.rejected) }
        let result = loss.batch(logps)
        return [(name: "eval_loss", value: result.loss)] + result.logFields.map { (name: "eval_" + $0.0, value: $0.1) }
    }

    @discardableResult
    public func saveCheckpoint() throws -> String {
        var extras: [String: String] = [:]
        extras[Self.referenceKey] = reference?.key
        extras[Self.evalReferenceKey] = evalReference?.key
        let state = TrainerState(step: step, tokens: tokensSeen, cursor: order.cursor, seed: settings.seed, objective: loss.objective,
                                 seqLen: seqLen, batchSize: settings.batchSize, gradAccum: settings.gradAccum,
                                 examplesPerEpoch: data.count, totalSteps: settings.steps, optimizer: optimizer, extras: extras)
        let files = try HFCheckpoint.files(model: model.params, tokenizer: tokenizer, template: template, objective: .sft, seqLen: seqLen)
        return try RunCheckpoint.write(files, state: state, optimizer: optimizer, settings: settings)
    }
}
