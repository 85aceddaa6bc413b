import Foundation
import LatheData
import LatheModel
import LatheTensor
import LatheTokenizer

/// What GRPO adds to a run's settings (names and defaults as TRL's GRPOConfig).
public struct GRPOSettings: Sendable {
    /// Responses sampled per prompt (G, TRL's `num_generations`); their rewards are normalised within the group.
    public var groupSize = 8
    /// Optimizer updates on each batch of rollouts (μ, TRL's `num_iterations`); beyond the first the
    /// importance ratio against the rollout-time policy moves away from 1 and the clip takes effect.
    public var iterations = 1
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

/// Group relative policy optimisation (Shao et al. 2024, DeepSeekMath), batched as TRL's GRPOTrainer:
/// a step samples settings.batchSize × settings.gradAccum completions (TRL's generation batch: the
/// per-device batch counts completions, one generation per optimizer step), G to each of that many / G
/// prompts; advantage = the response's reward normalised within its group, no value model; the loss
/// is the clipped surrogate plus β·KL per token, averaged over each response's tokens and then over
/// the responses (TRL's `loss_type="grpo"`), its gradient summed over micro-batches of
/// settings.batchSize rows. Then `iterations` updates on the same rollouts, the ratio taken against
/// the log-probabilities of the policy that sampled them (with one update, the current ones, detached).
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
    public private(set) var progress: RolloutProgress
    public var step: Int { progress.step }
    public var tokensSeen: Int { progress.tokensSeen }
    public var headline: [String] { reference == nil ? ["reward"] : ["reward", "kl"] }

    /// Completions sampled per step, a multiple of the group size.
    public var completionsPerStep: Int { settings.batchSize * settings.gradAccum }

    /// `model` must hold settings.batchSize rows of seqLen tokens; `reference`, run forward only, any number of rows.
    public init(model: Llama, reference: Llama?, referenceName: String? = nil, tokenizer: Tokenizer, template: ChatTemplate = .chatml,
                data: PromptData, reward: any RewardFunction, endOfTurn: Int32, settings: TrainSettings, grpo: GRPOSettings,
                seqLen: Int, resumeFrom state: TrainerState? = nil) {
        precondition(grpo.groupSize >= 2 && grpo.iterations >= 1 && (settings.batchSize * settings.gradAccum) % grpo.groupSize == 0
                     && model.acts.maxBatch >= settings.batchSize)
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
        progress = RolloutProgress(prompts: data.count, settings: settings, resumeFrom: state)
        generator = Generator(params: model.params, slots: min(64, settings.batchSize * settings.gradAccum), capacity: seqLen)
    }

    /// One step: rollouts, rewards, then `iterations` optimizer updates. The metrics carry TRL's GRPO
    /// names, the loss and the per-token ones averaged over the updates.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        let g = grpo.groupSize, rows = settings.batchSize
        let prompts = progress.draw(completionsPerStep / g, from: data)
        let rollouts = try Rollout.generate(generator, prompts: prompts, copies: g,
                                            options: progress.sampling(temperature: grpo.temperature, maxNewTokens: grpo.maxNewTokens),
                                            tokenizer: tokenizer, endOfTurn: endOfTurn)
        let rewards = try Rollout.score(rollouts, with: reward, step: progress.step)
        let (advantages, stds) = PolicyGradient.groupAdvantages(rewards, groupSize: g)
        let samples = rollouts.map(\.sample)
        let refLogProbs = reference.map { PolicyLogProbs.logProbs($0, samples, temperature: grpo.temperature) }
        let oldLogProbs = grpo.iterations > 1 ? PolicyLogProbs.logProbs(model, samples, temperature: grpo.temperature) : nil

        let surrogate = ClippedSurrogate(epsilon: grpo.epsilon)
        let n = Double(samples.count), updates = Double(grpo.iterations), lr = progress.rate
        var loss = 0.0, kl = 0.0, entropy = 0.0, clipped = 0, tokens = 0, norm = 0.0
        for iteration in 0..<grpo.iterations {
            model.zeroGradients()
            var updateLoss = 0.0
            for start in stride(from: 0, to: samples.count, by: rows) {
                let chunk = Array(samples[start..<min(start + rows, samples.count)])
                let (logProbs, entropies) = PolicyLogProbs.forward(model, chunk, temperature: grpo.temperature)
                var dLogProbs: [[Double]] = []
                for (j, lp) in logProbs.enumerated() {
                    let i = start + j, length = Double(lp.count)
                    var d: [Double] = []
                    var sequenceKL = 0.0
                    for (k, logp) in lp.enumerated() {
                        let s = surrogate(logProb: logp, oldLogProb: oldLogProbs?[i][k] ?? logp, advantage: advantages[i])
                        var tokenLoss = s.loss, dToken = s.dLogProb
                        if let ref = refLogProbs?[i][k] {
                            let estimate = grpo.klEstimator(logProb: logp, refLogProb: ref)
                            tokenLoss += grpo.beta * estimate.value
                            dToken += grpo.beta * estimate.dLogProb
                            sequenceKL += estimate.value
                        }
                        updateLoss += tokenLoss / (length * n)
                        d.append(dToken / (length * n))
                        clipped += s.clipped ? 1 : 0
                    }
                    kl += sequenceKL / (length * n * updates)
                    entropy += entropies[j].reduce(0, +) / (length * n * updates)
                    tokens += lp.count
                    dLogProbs.append(d)
                }
                PolicyLogProbs.setGradient(model, chunk, temperature: grpo.temperature, dLogProbs: dLogProbs)
                model.backward()
            }
            norm = gradientNorm(model.grads)
            guard updateLoss.isFinite && norm.isFinite else {
                throw progress.nonFinite("update \(iteration + 1): the GRPO loss is \(updateLoss) and the gradient norm \(norm)",
                                         prompts: prompts)
            }
            let scale = settings.clip > 0 && norm > settings.clip ? Float(settings.clip / norm) : 1
            optimizer.update(model.params, model.grads, lr: Float(lr), step: progress.adamStep(update: iteration, of: grpo.iterations),
                             gradScale: scale)
            loss += updateLoss / updates
        }
        var metrics: [(name: String, value: Double)] = [
            ("reward", rewards.reduce(0, +) / n), ("reward_std", stds.reduce(0, +) / Double(stds.count)),
            ("frac_reward_zero_std", Double(stds.filter { $0 == 0 }.count) / Double(stds.count)),
            ("completions/mean_length", Double(samples.reduce(0) { $0 + $1.response.count }) / n),
            ("completions/clipped_ratio", Double(rollouts.filter { !$0.finished }.count) / n),
            ("clip_ratio", Double(clipped) / Double(tokens)), ("entropy", entropy),
        ]
        if reference != nil { metrics.append(("kl", kl)) }
        let seen = progress.finish(samples)
        return StepResult(loss: loss, gradNorm: norm, lr: lr, tokens: seen, seconds: monotonicSeconds() - started, metrics: metrics)
    }

    /// Trainer-state keys: the reference checkpoint, and the group size a resume must keep.
    public static let referenceKey = "reference"
    public static let groupSizeKey = "num_generations"

    @discardableResult
    public func saveCheckpoint() throws -> String {
        var extras = [Self.groupSizeKey: "\(grpo.groupSize)"]
        extras[Self.referenceKey] = referenceName
        return try progress.save(objective: "grpo", policy: model, tokenizer: tokenizer, template: template, seqLen: seqLen,
                                 examples: data.count, optimizer: optimizer, extras: extras)
    }
}
