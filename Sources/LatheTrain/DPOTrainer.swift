import LatheModel
import LatheTensor

/// The DPO loop: batchSize pairs per micro-batch (2·batchSize rows), gradAccum micro-batches per
/// optimizer step, the mean loss over the step's pairs, clipping and AdamW as in `Trainer`.
public final class DPOTrainer {
    public let model: Llama
    public let optimizer: AdamW
    public let data: PreferenceData
    public let reference: ReferenceLogProbs
    public let loss: DPOLoss
    public let settings: TrainSettings
    public private(set) var order: DataOrder
    public private(set) var step = 0
    public private(set) var tokensSeen = 0

    /// `model` must hold 2·batchSize rows of up to seqLen tokens.
    public init(model: Llama, data: PreferenceData, reference: ReferenceLogProbs, loss: DPOLoss, settings: TrainSettings) {
        self.model = model
        self.data = data
        self.reference = reference
        self.loss = loss
        self.settings = settings
        optimizer = AdamW(config: model.config, weightDecay: Float(settings.weightDecay))
        order = DataOrder(count: data.count, seed: settings.seed)
    }

    /// One optimizer step; the metrics are means over its micro-batches.
    public func trainStep() throws -> (step: StepResult, metrics: DPOBatchResult) {
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
        return (StepResult(loss: mean.loss, gradNorm: norm, lr: lr, tokens: tokens, seconds: monotonicSeconds() - started), mean)
    }
}
