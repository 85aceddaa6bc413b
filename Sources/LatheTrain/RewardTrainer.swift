import LatheData
import LatheModel
import LatheTensor
import LatheTokenizer

/// A reward model on preference pairs: a batch of n pairs runs as 2n rows (chosen 0..<n,
/// rejected n..<2n), each scored at its response's end of turn (`PreferencePair.scored`);
/// `RewardLoss` turns the rewards into the loss and its gradient, which `RewardModel` takes back
/// through the score head and the trunk.
public enum RewardObjective {
    /// Rewards of `pairs`, chosen then rejected, and the batch's loss; with `scale` non-nil, also
    /// adds scale·∂(mean loss)/∂parameters into the model's gradients.
    public static func run(_ model: RewardModel, _ pairs: [PreferencePair], loss: RewardLoss,
                           backwardScale scale: Double?) -> RewardBatchResult {
        let rewards = model.forward(pairs.map { PreferencePair.scored($0.chosen) } + pairs.map { PreferencePair.scored($0.rejected) })
        let n = pairs.count
        let result = loss.batch(chosen: rewards[0..<n].map(Double.init), rejected: rewards[n...].map(Double.init),
                                margins: pairs.map(\.margin))
        if let scale { model.backward(rewardGradients: (result.dChosen + result.dRejected).map { Float(scale * $0) }) }
        return result
    }

    /// The loss and metrics over every pair of `data`, in order, `batchPairs` at a time; no gradient.
    public static func evaluate(_ model: RewardModel, _ data: PreferenceData, batchPairs: Int, loss: RewardLoss) -> RewardBatchResult {
        var results: [RewardBatchResult] = []
        for start in stride(from: 0, to: data.count, by: batchPairs) {
            results.append(run(model, Array(data.pairs[start..<min(start + batchPairs, data.count)]), loss: loss, backwardScale: nil))
        }
        return RewardBatchResult.mean(results)
    }
}

/// The reward-model loop: batchSize pairs per micro-batch, gradAccum micro-batches per optimizer
/// step, the mean loss over the step's pairs, clipping and AdamW as in `Trainer`. Checkpoints are
/// `LlamaForSequenceClassification` (score.weight, no lm_head) and resume bit for bit.
public final class RewardTrainer: TrainingRun {
    public let model: RewardModel
    public let optimizer: AdamW
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let data: PreferenceData
    public let evalData: PreferenceData?
    public let loss: RewardLoss
    public let settings: TrainSettings
    public let seqLen: Int
    public private(set) var order: DataOrder
    public private(set) var step = 0
    public private(set) var tokensSeen = 0
    public var headline: [String] { ["accuracy", "margin"] }

    /// `model` must hold 2·batchSize rows of up to seqLen + 1 tokens.
    public init(model: RewardModel, tokenizer: Tokenizer, template: ChatTemplate, data: PreferenceData, evalData: PreferenceData?,
                loss: RewardLoss, settings: TrainSettings, seqLen: Int, resumeFrom state: TrainerState? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.data = data
        self.evalData = evalData
        self.loss = loss
        self.settings = settings
        self.seqLen = seqLen
        optimizer = AdamW(config: model.config, head: model.params.head, weightDecay: Float(settings.weightDecay))
        order = DataOrder(count: data.count, seed: settings.seed, cursor: state?.cursor ?? DataCursor())
        step = state?.step ?? 0
        tokensSeen = state?.tokens ?? 0
    }

    /// One optimizer step; the metrics are means over its pairs.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        model.model.zeroGradients()
        var results: [RewardBatchResult] = [], tokens = 0, names: [String] = []
        for _ in 0..<settings.gradAccum {
            let pairs = (0..<settings.batchSize).map { _ in data.pairs[order.next()] }
            results.append(RewardObjective.run(model, pairs, loss: loss, backwardScale: 1 / Double(settings.gradAccum)))
            tokens += model.lengths.reduce(0, +)
            names += pairs.map(\.name)
        }
        let mean = RewardBatchResult.mean(results)
        let norm = gradientNorm(model.grads)
        guard mean.loss.isFinite && norm.isFinite else {
            throw TrainingError("step \(step + 1): the reward loss is \(mean.loss) and the gradient norm \(norm); stopped before updating "
                + "the weights. Lower --lr; batch records: " + names.joined(separator: ", "))
        }
        step += 1
        let lr = optimizer.step(model.model, step: step, gradientNorm: norm, settings: settings)
        tokensSeen += tokens
        let seconds = monotonicSeconds() - started
        let pairsPerSecond = seconds > 0 ? Double(mean.pairs) / seconds : 0
        return StepResult(loss: mean.loss, gradNorm: norm, lr: lr, tokens: tokens, seconds: seconds,
                          metrics: mean.logFields.map { (name: $0.0, value: $0.1) } + [("pairs_per_s", pairsPerSecond)])
    }

    /// eval_loss, eval_accuracy and eval_margin over the held-out pairs (TRL's names).
    public func evaluate() throws -> [(name: String, value: Double)] {
        guard let evalData else { return [] }
        let result = RewardObjective.evaluate(model, evalData, batchPairs: settings.batchSize, loss: loss)
        return [("eval_loss", result.loss), ("eval_accuracy", result.accuracy), ("eval_margin", result.margin)]
    }

    @discardableResult
    public func saveCheckpoint() throws -> String {
        let state = TrainerState(step: step, tokens: tokensSeen, cursor: order.cursor, seed: settings.seed, objective: "reward",
                                 seqLen: seqLen, batchSize: settings.batchSize, gradAccum: settings.gradAccum,
                                 examplesPerEpoch: data.count, totalSteps: settings.steps, optimizer: optimizer)
        let files = try HFCheckpoint.files(model: model.params, tokenizer: tokenizer, template: template, objective: .sft, seqLen: seqLen)
        return try RunCheckpoint.write(files, state: state, optimizer: optimizer, settings: settings)
    }
}
