import Foundation
import LatheData
import LatheModel
import LatheTensor
import LatheTokenizer

/// What GRPO adds to a run's settings.
public struct GRPOSettings: Sendable {
    /// Responses sampled per prompt (G); their rewards are normalised within the group.
    public var groupSize = 8
    public var maxNewTokens = 64
    /// Sampling temperature, applied to the logits the same way when training (logits / T).
    public var temperature = 1.0
    /// The surrogate's clip range ε.
    public var epsilon = 0.2
    /// Weight of the per-token KL to the frozen reference; 0 loads no reference.
    public var beta = 0.0
    public var klEstimator = KLEstimator.k3
    public init() {}
}

/// Group relative policy optimisation (Shao et al. 2024, DeepSeekMath): settings.batchSize prompts per
/// step, G responses each from the policy itself; advantage = the response's reward normalised
/// within its group, no value model; the loss is the clipped surrogate plus β·KL per token, averaged
/// over each response's tokens and then over the responses (TRL's `loss_type="grpo"`). One update
/// per batch of rollouts, so the rollout-time log-probabilities are the current ones, detached.
public final class GRPOTrainer: TrainingRun {
    public let model: Llama
    /// The frozen starting policy, when β > 0.
    public let reference: Llama?
    public let generator: Generator
    public let optimizer: AdamW
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let data: PromptData
    public let reward: any RewardFunction
    public let endOfTurn: Int32
    public let settings: TrainSettings
    public let grpo: GRPOSettings
    public let seqLen: Int
    /// Saved in the trainer state (`reference`): where a resumed run reloads the reference from.
    public let referenceName: String?
    public private(set) var order: DataOrder
    public private(set) var step = 0
    public private(set) var tokensSeen = 0
    public var headline: [String] { reference == nil ? ["reward"] : ["reward", "kl"] }

    /// `model` must hold groupSize rows of seqLen tokens; `reference` likewise.
    public init(model: Llama, reference: Llama?, referenceName: String? = nil, tokenizer: Tokenizer, template: ChatTemplate = .chatml,
                data: PromptData, reward: any RewardFunction, endOfTurn: Int32, settings: TrainSettings, grpo: GRPOSettings,
                seqLen: Int, resumeFrom state: TrainerState? = nil) {
        precondition(grpo.groupSize >= 2 && model.acts.maxBatch >= grpo.groupSize)
        self.model = model
        self.reference = reference
        self.referenceName = referenceName
        self.tokenizer = tokenizer
        self.template = template
        self.data = data
        self.reward = reward
        self.endOfTurn = endOfTurn
        self.settings = settings
        self.grpo = grpo
        self.seqLen = seqLen
        optimizer = AdamW(config: model.config, weightDecay: Float(settings.weightDecay))
        order = DataOrder(count: data.count, seed: settings.seed, cursor: state?.cursor ?? DataCursor())
        step = state?.step ?? 0
        tokensSeen = state?.tokens ?? 0
        generator = Generator(params: model.params, slots: min(64, settings.batchSize * grpo.groupSize), capacity: seqLen)
    }

    /// The sampling of step `step`: its own seed, so a resumed run draws what it would have drawn.
    func samplingOptions() -> SamplingOptions {
        SamplingOptions(temperature: grpo.temperature, maxNewTokens: grpo.maxNewTokens,
                        seed: Rollout.seed(settings.seed, step: step))
    }

    /// One step: rollouts, rewards, one optimizer update. The metrics carry TRL's GRPO names.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        let g = grpo.groupSize
        let prompts = (0..<settings.batchSize).map { _ in data.prompts[order.next()] }
        let rollouts = try Rollout.generate(generator, prompts: prompts, copies: g, options: samplingOptions(),
                                            tokenizer: tokenizer, endOfTurn: endOfTurn)
        let rewards = try Rollout.score(rollouts, with: reward, step: step)
        let (advantages, stds) = PolicyGradient.groupAdvantages(rewards, groupSize: g)
        let samples = rollouts.map(\.sample)
        let refLogProbs = reference.map { PolicyLogProbs.logProbs($0, samples, temperature: grpo.temperature, rows: g) }

        model.zeroGradients()
        let surrogate = ClippedSurrogate(epsilon: grpo.epsilon)
        let n = Double(samples.count)
        var loss = 0.0, kl = 0.0, entropy = 0.0, clipped = 0, tokens = 0
        for start in stride(from: 0, to: samples.count, by: g) {
            let chunk = Array(samples[start..<start + g])
            let (logProbs, entropies) = PolicyLogProbs.forward(model, chunk, temperature: grpo.temperature)
            var dLogProbs: [[Double]] = []
            for (j, lp) in logProbs.enumerated() {
                let i = start + j, length = Double(lp.count)
                var d: [Double] = []
                var sequenceKL = 0.0
                for (k, logp) in lp.enumerated() {
                    let s = surrogate(logProb: logp, oldLogProb: logp, advantage: advantages[i])
                    var tokenLoss = s.loss, dToken = s.dLogProb
                    if let ref = refLogProbs?[i][k] {
                        let estimate = grpo.klEstimator(logProb: logp, refLogProb: ref)
                        tokenLoss += grpo.beta * estimate.value
                        dToken += grpo.beta * estimate.dLogProb
                        sequenceKL += estimate.value
                    }
                    loss += tokenLoss / (length * n)
                    d.append(dToken / (length * n))
                    clipped += s.clipped ? 1 : 0
                }
                kl += sequenceKL / (length * n)
                entropy += entropies[j].reduce(0, +) / (length * n)
                tokens += lp.count
                dLogProbs.append(d)
            }
            PolicyLogProbs.setGradient(model, chunk, temperature: grpo.temperature, dLogProbs: dLogProbs)
            model.backward()
        }
        let norm = gradientNorm(model.grads)
        guard loss.isFinite && norm.isFinite else {
            throw TrainingError("step \(step + 1): the GRPO loss is \(loss) and the gradient norm \(norm); stopped before updating "
                + "the weights. Lower --lr; prompts: " + prompts.map(\.name).joined(separator: ", "))
        }
        step += 1
        let lr = optimizer.step(model, step: step, gradientNorm: norm, settings: settings)
        let seen = samples.reduce(0) { $0 + $1.prompt.count + $1.response.count }
        tokensSeen += seen
        var metrics: [(name: String, value: Double)] = [
            ("reward", rewards.reduce(0, +) / n), ("reward_std", stds.reduce(0, +) / Double(stds.count)),
            ("frac_reward_zero_std", Double(stds.filter { $0 == 0 }.count) / Double(stds.count)),
            ("completions/mean_length", Double(tokens) / n),
            ("completions/clipped_ratio", Double(rollouts.filter { !$0.finished }.count) / n),
            ("clip_ratio", Double(clipped) / Double(tokens)), ("entropy", entropy),
        ]
        if reference != nil { metrics.append(("kl", kl)) }
        return StepResult(loss: loss, gradNorm: norm, lr: lr, tokens: seen, seconds: monotonicSeconds() - started, metrics: metrics)
    }

    /// The trainer-state key naming the reference checkpoint.
    public static let referenceKey = "reference"

    @discardableResult
    public func saveCheckpoint() throws -> String {
        let state = TrainerState(step: step, tokens: tokensSeen, cursor: order.cursor, seed: settings.seed, objective: "grpo",
                                 seqLen: seqLen, batchSize: settings.batchSize, gradAccum: settings.gradAccum,
                                 examplesPerEpoch: data.count, totalSteps: settings.steps, optimizer: optimizer,
                                 extras: referenceName.map { [Self.referenceKey: $0] } ?? [:])
        let files = try HFCheckpoint.files(model: model.params, tokenizer: tokenizer, template: template, objective: .sft, seqLen: seqLen)
        return try RunCheckpoint.write(files, state: state, optimizer: optimizer, settings: settings)
    }
}
