import LatheData
import LatheModel
import LatheTensor
import LatheTokenizer

/// The DPO loop: batchSize pairs per micro-batch (2·batchSize rows), gradAccum micro-batches per
/// optimizer step, the mean loss over the step's pairs, clipping and AdamW as in `Trainer`.
/// Checkpoints hold the policy in the Hugging Face layout and resume bit for bit, given the
/// cached reference log-probabilities (named in the trainer state by their key).
public final class DPOTrainer: TrainingRun {
    public let model: Llama
    public let optimizer: AdamW
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let data: PreferenceData
    public let reference: ReferenceLogProbs
    public let loss: DPOLoss
    public let settings: TrainSettings
    public let seqLen: Int
    public private(set) var order: DataOrder
    public private(set) var step = 0
    public private(set) var tokensSeen = 0
    public var headline: [String] { ["rewards/margins", "rewards/accuracies"] }

    /// `model` must hold 2·batchSize rows of up to seqLen tokens.
    public init(model: Llama, tokenizer: Tokenizer, template: ChatTemplate, data: PreferenceData, reference: ReferenceLogProbs,
                loss: DPOLoss, settings: TrainSettings, seqLen: Int, resumeFrom state: TrainerState? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.data = data
        self.reference = reference
        self.loss = loss
        self.settings = settings
        self.seqLen = seqLen
        optimizer = AdamW(config: model.config, weightDecay: Float(settings.weightDecay))
        order = DataOrder(count: data.count, seed: settings.seed, cursor: state?.cursor ?? DataCursor())
        step = state?.step ?? 0
        tokensSeen = state?.tokens ?? 0
    }

    /// The trainer-state key under which the reference's cache key is saved.
    public static let referenceKey = "reference_logps"

    /// One optimizer step; the metrics are means over its micro-batches.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        model.zeroGradients()
        var results: [DPOBatchResult] = [], tokens = 0, names: [String] = []
        for _ in 0..<settings.gradAccum {
            let indices = (0..<settings.batchSize).map { _ in order.next() }
            let pairs = indices.map { data.pairs[$0] }
            results.append(DPOObjective.forwardAndGradient(model, pairs, refChosen: indices.map { reference.chosen[$0] },
                                                           refRejected: indices.map { reference.rejected[$0] }, loss: loss,
                                                           scale: 1 / Double(settings.gradAccum)))
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
        let norm = gradientNorm(model.grads)
        guard mean.loss.isFinite && norm.isFinite else {
            throw TrainingError("step \(step + 1): the DPO loss is \(mean.loss) and the gradient norm \(norm); stopped before updating "
                + "the weights. Lower --lr or --beta; batch records: " + names.joined(separator: ", "))
        }
        step += 1
        let lr = optimizer.step(model, step: step, gradientNorm: norm, settings: settings)
        tokensSeen += tokens
        return StepResult(loss: mean.loss, gradNorm: norm, lr: lr, tokens: tokens, seconds: monotonicSeconds() - started,
                          metrics: mean.logFields.map { (name: $0.0, value: $0.1) })
    }

    @discardableResult
    public func saveCheckpoint() throws -> String {
        let state = TrainerState(step: step, tokens: tokensSeen, cursor: order.cursor, seed: settings.seed, objective: "dpo",
                                 seqLen: seqLen, batchSize: settings.batchSize, gradAccum: settings.gradAccum,
                                 examplesPerEpoch: data.count, totalSteps: settings.steps, optimizer: optimizer,
                                 extras: [Self.referenceKey: reference.key])
        let files = try HFCheckpoint.files(model: model.params, tokenizer: tokenizer, template: template, objective: .sft, seqLen: seqLen)
        return try RunCheckpoint.write(files, state: state, optimizer: optimizer, settings: settings)
    }
}
