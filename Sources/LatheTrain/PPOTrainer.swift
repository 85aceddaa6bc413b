import Foundation
import LatheData
import LatheModel
import LatheTensor
import LatheTokenizer

/// What PPO adds to a run's settings (defaults as TRL's PPOConfig, but γ and λ as the brief of issue 7).
public struct PPOSettings: Sendable {
    public var maxNewTokens = 64
    /// Sampling temperature, applied to the logits the same way when training (logits / T).
    public var temperature = 1.0
    /// Initial weight of the per-token KL penalty in the reward.
    public var klCoef = 0.05
    public var klEstimator = KLEstimator.k1
    /// With a target, the coefficient adapts toward this KL (nats per response) as Ziegler et al. do.
    public var targetKL: Double?
    public var klHorizon = 10_000.0
    /// Subtracted from the score of a response that never produced the end-of-turn token; 0 is off.
    public var missingEOSPenalty = 0.0
    public var gamma = 1.0
    public var lambda = 0.95
    /// Clip ranges of the surrogate and of the value loss.
    public var epsilon = 0.2
    public var valueEpsilon = 0.2
    /// Weight of the value loss beside the policy loss.
    public var valueCoef = 0.1
    /// Passes over each batch of rollouts, each split into `miniBatches` optimizer updates.
    public var epochs = 4
    public var miniBatches = 1
    public init() {}
}

/// PPO for language models as Ziegler et al. (2019) and Stiennon et al. (2020) run it, and TRL's
/// PPOTrainer: settings.batchSize prompts per step, one response each from the policy; the score
/// of a reward model at the response's last token, minus β·KL(policy ‖ reference) at every token;
/// GAE over a value model (a reward-model trunk with its scalar read at every position); whitened
/// advantages; then `epochs` passes of `miniBatches` updates of the clipped surrogate plus the
/// clipped value loss. One lathe-train step is one batch of rollouts.
///
/// The reward model is in memory twice, as TRL holds it: frozen (the reward) and training (the value
/// model, its copy); they part at the value model's first update, so no weights can be shared. The
/// frozen models (the reference, the reward) only run forward: they hold no gradients, and lathe-train
/// gives them one row of activations, not a batch's.
public final class PPOTrainer: TrainingRun {
    public let policy: Llama
    public let reference: Llama
    public let value: RewardModel
    public let generator: Generator
    public let optimizer: AdamW
    public let valueOptimizer: AdamW
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let data: PromptData
    public let reward: any RewardFunction
    public let endOfTurn: Int32
    public let settings: TrainSettings
    public let ppo: PPOSettings
    public let seqLen: Int
    /// Where a resumed run reloads the reference and the reward model from (trainer state extras).
    public let names: [String: String]
    public private(set) var kl: KLController
    public private(set) var progress: RolloutProgress
    public var step: Int { progress.step }
    public var tokensSeen: Int { progress.tokensSeen }
    public var headline: [String] { ["objective/scores", "objective/kl"] }

    /// `policy` and `value` must hold batchSize / miniBatches rows of seqLen tokens; `reference` and the
    /// reward model, run forward only, any number of rows.
    public init(policy: Llama, reference: Llama, value: RewardModel, tokenizer: Tokenizer, template: ChatTemplate = .chatml,
                data: PromptData, reward: any RewardFunction, endOfTurn: Int32, settings: TrainSettings, ppo: PPOSettings,
                seqLen: Int, names: [String: String] = [:], resumeFrom state: TrainerState? = nil) {
        precondition(settings.batchSize % ppo.miniBatches == 0 && policy.acts.maxBatch >= settings.batchSize / ppo.miniBatches)
        self.policy = policy
        self.reference = reference
        self.value = value
        self.tokenizer = tokenizer
        self.template = template
        self.data = data
        self.reward = reward
        self.endOfTurn = endOfTurn
        self.settings = settings
        self.ppo = ppo
        self.seqLen = seqLen
        self.names = names
        optimizer = AdamW(config: policy.config, weightDecay: Float(settings.weightDecay))
        valueOptimizer = AdamW(config: value.config, head: value.params.head, weightDecay: Float(settings.weightDecay))
        kl = KLController(value: state?.extras[Self.klKey].flatMap(Double.init) ?? ppo.klCoef, target: ppo.targetKL,
                          horizon: ppo.klHorizon)
        progress = RolloutProgress(prompts: data.count, settings: settings, resumeFrom: state)
        generator = Generator(params: policy.params, slots: min(64, settings.batchSize), capacity: seqLen)
    }

    var miniBatchSize: Int { settings.batchSize / ppo.miniBatches }

    /// Values (B rows of each response's length) at the positions that predict each response token.
    func values(_ samples: [PolicySample]) -> [[Double]] {
        let (tokens, segments, t) = PolicyLogProbs.layout(samples)
        let v = value.values(tokens: tokens, segments: segments, batch: samples.count, seq: t)
        return samples.enumerated().map { b, s in (0..<s.response.count).map { Double(v[b * t + s.prompt.count - 1 + $0]) } }
    }

    /// One step: rollouts, scores, KL-penalised rewards, GAE, then the PPO epochs. Metrics carry TRL's names.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        let prompts = progress.draw(settings.batchSize, from: data)
        let options = progress.sampling(temperature: ppo.temperature, maxNewTokens: ppo.maxNewTokens)
        let rollouts = try Rollout.generate(generator, prompts: prompts, copies: 1, options: options, tokenizer: tokenizer,
                                            endOfTurn: endOfTurn)
        var scores = try Rollout.score(rollouts, with: reward, step: progress.step)
        for (i, r) in rollouts.enumerated() where !r.finished { scores[i] -= ppo.missingEOSPenalty }
        let samples = rollouts.map(\.sample)
        let m = miniBatchSize
        let oldLogProbs = PolicyLogProbs.logProbs(policy, samples, temperature: ppo.temperature)
        let refLogProbs = PolicyLogProbs.logProbs(reference, samples, temperature: ppo.temperature)
        var oldValues: [[Double]] = []
        for start in stride(from: 0, to: samples.count, by: m) { oldValues += values(Array(samples[start..<min(start + m, samples.count)])) }
        // Per-token rewards: −β·KL everywhere, plus the score at the last token.
        var klSums: [Double] = [], advantages: [[Double]] = [], returns: [[Double]] = []
        var nonScore = 0.0
        for i in samples.indices {
            let perToken = zip(oldLogProbs[i], refLogProbs[i]).map { ppo.klEstimator(logProb: $0, refLogProb: $1).value }
            var rewards = perToken.map { -kl.value * $0 }
            nonScore += rewards.reduce(0, +)
            rewards[rewards.count - 1] += scores[i]
            klSums.append(perToken.reduce(0, +))
            let (a, r) = PolicyGradient.gae(rewards: rewards, values: oldValues[i], gamma: ppo.gamma, lambda: ppo.lambda)
            advantages.append(a)
            returns.append(r)
        }
        advantages = PolicyGradient.whiten(advantages)

        let surrogate = ClippedSurrogate(epsilon: ppo.epsilon)
        let updatesPerStep = ppo.epochs * ppo.miniBatches
        let lr = progress.rate
        var policyLoss = 0.0, valueLoss = 0.0, clipfrac = 0.0, valueClipfrac = 0.0, approxKL = 0.0, entropy = 0.0, lastNorm = 0.0
        var rng = SplitMix64(seed: options.seed)
        for epoch in 0..<ppo.epochs {
            var perm = Array(samples.indices)
            for i in stride(from: perm.count - 1, to: 0, by: -1) { perm.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for k in 0..<ppo.miniBatches {
                let indices = Array(perm[(k * m)..<((k + 1) * m)])
                let chunk = indices.map { samples[$0] }
                let tokens = Double(chunk.reduce(0) { $0 + $1.response.count })
                policy.zeroGradients()
                value.model.zeroGradients()
                let (logProbs, entropies) = PolicyLogProbs.forward(policy, chunk, temperature: ppo.temperature)
                var dLogProbs: [[Double]] = []
                for (j, i) in indices.enumerated() {
                    var d: [Double] = []
                    for (t, logp) in logProbs[j].enumerated() {
                        let s = surrogate(logProb: logp, oldLogProb: oldLogProbs[i][t], advantage: advantages[i][t])
                        policyLoss += s.loss / tokens / Double(updatesPerStep)
                        clipfrac += (s.clipped ? 1 : 0) / tokens / Double(updatesPerStep)
                        let diff = logp - oldLogProbs[i][t]
                        approxKL += 0.5 * diff * diff / tokens / Double(updatesPerStep)
                        entropy += entropies[j][t] / tokens / Double(updatesPerStep)
                        d.append(s.dLogProb / tokens)
                    }
                    dLogProbs.append(d)
                }
                PolicyLogProbs.setGradient(policy, chunk, temperature: ppo.temperature, dLogProbs: dLogProbs)
                policy.backward()

                let (rowTokens, segments, t) = PolicyLogProbs.layout(chunk)
                let v = value.values(tokens: rowTokens, segments: segments, batch: chunk.count, seq: t)
                var dValues = [Float](repeating: 0, count: chunk.count * t)
                for (j, i) in indices.enumerated() {
                    for position in 0..<chunk[j].response.count {
                        let at = j * t + chunk[j].prompt.count - 1 + position
                        let loss = PolicyGradient.clippedValueLoss(value: Double(v[at]), oldValue: oldValues[i][position],
                                                                   target: returns[i][position], epsilon: ppo.valueEpsilon)
                        valueLoss += loss.loss / tokens / Double(updatesPerStep)
                        valueClipfrac += (loss.clipped ? 1 : 0) / tokens / Double(updatesPerStep)
                        dValues[at] = Float(ppo.valueCoef * loss.dValue / tokens)
                    }
                }
                dValues.withUnsafeBufferPointer { value.backward(valueGradients: $0.baseAddress!) }

                // One clipping norm over both models, as TRL's single optimizer over policy and value sees it.
                let policyNorm = gradientNorm(policy.grads), valueNorm = gradientNorm(value.grads)
                let norm = (policyNorm * policyNorm + valueNorm * valueNorm).squareRoot()
                guard norm.isFinite && policyLoss.isFinite && valueLoss.isFinite else {
                    throw progress.nonFinite("epoch \(epoch + 1): the PPO losses are \(policyLoss) (policy) and \(valueLoss) (value), "
                        + "the gradient norm \(norm)", prompts: prompts)
                }
                let scale = settings.clip > 0 && norm > settings.clip ? Float(settings.clip / norm) : 1
                let update = progress.adamStep(update: epoch * ppo.miniBatches + k, of: updatesPerStep)
                optimizer.update(policy.params, policy.grads, lr: Float(lr), step: update, gradScale: scale)
                valueOptimizer.update(value.params, value.grads, lr: Float(lr), step: update, gradScale: scale)
                lastNorm = norm
            }
        }
        let n = Double(samples.count)
        let meanKL = klSums.reduce(0, +) / n
        let metrics: [(name: String, value: Double)] = [
            ("objective/kl", meanKL), ("objective/entropy", oldLogProbs.reduce(0) { $0 - $1.reduce(0, +) } / n),
            ("objective/non_score_reward", nonScore / n), ("objective/rlhf_reward", nonScore / n + scores.reduce(0, +) / n),
            ("objective/scores", scores.reduce(0, +) / n), ("policy/approxkl", approxKL), ("policy/clipfrac", clipfrac),
            ("loss/policy", policyLoss), ("val/loss", valueLoss), ("val/clipfrac", valueClipfrac), ("policy/entropy", entropy),
            ("kl_coef", kl.value), ("completions/mean_length", Double(samples.reduce(0) { $0 + $1.response.count }) / n),
            ("completions/missing_eos", Double(rollouts.filter { !$0.finished }.count) / n),
        ]
        kl.update(kl: meanKL, responses: samples.count)
        let seen = progress.finish(samples)
        return StepResult(loss: policyLoss + ppo.valueCoef * valueLoss, gradNorm: lastNorm, lr: lr, tokens: seen,
                          seconds: monotonicSeconds() - started, metrics: metrics)
    }

    /// Trainer-state keys: the adapted KL coefficient (as Swift prints a Double, which reads back exactly)
    /// and the reference checkpoint.
    public static let klKey = "kl_coef"
    public static let referenceKey = "reference"
    /// Beside the policy's files: the value model and its optimizer moments, for --resume.
    public static let valueFile = "value_model.safetensors"
    public static let valueOptimizerFile = "value_optimizer.safetensors"

    @discardableResult
    public func saveCheckpoint() throws -> String {
        var extras = names
        extras[Self.klKey] = "\(kl.value)"
        let valueFiles = [
            Checkpoint.File(name: Self.valueFile) { [value] path in
                try SafetensorsFile.write(Checkpoint.tensors(of: value.params), metadata: ["format": "pt"], to: path)
            },
            Checkpoint.File(name: Self.valueOptimizerFile) { [valueOptimizer] path in
                try SafetensorsFile.write(Checkpoint.tensors(of: valueOptimizer.m, prefix: "exp_avg.")
                    + Checkpoint.tensors(of: valueOptimizer.v, prefix: "exp_avg_sq."), metadata: ["format": "lathe"], to: path)
            },
        ]
        return try progress.save(objective: "ppo", policy: policy, tokenizer: tokenizer, template: template, seqLen: seqLen,
                                 examples: data.count, optimizer: optimizer, extras: extras, files: valueFiles)
    }

    /// Restores the value model and its optimizer moments saved by `saveCheckpoint`.
    public func loadValueState(from directory: String) throws {
        try Checkpoint.load(value.params, from: directory + "/" + Self.valueFile, prefix: "")
        try Checkpoint.load(valueOptimizer.m, from: directory + "/" + Self.valueOptimizerFile, prefix: "exp_avg.")
        try Checkpoint.load(valueOptimizer.v, from: directory + "/" + Self.valueOptimizerFile, prefix: "exp_avg_sq.")
    }
}
