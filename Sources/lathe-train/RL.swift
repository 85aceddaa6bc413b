import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

extension KLEstimator: ExpressibleByArgument {}

/// The options only --objective grpo and ppo read (--beta and --ref are shared with dpo).
struct RLOptions: ParsableArguments {
    @Option(help: "For grpo and ppo: the reward model's checkpoint directory (LlamaForSequenceClassification, as --objective reward writes it). Required.")
    var rewardModel: String?

    @Flag(help: "For grpo and ppo: accept a reward model whose tokenizer differs from the policy's, scoring each response re-tokenised from its decoded text (default: an error).")
    var allowTokenizerMismatch = false

    @Option(help: "For grpo: responses sampled per prompt, their rewards normalised within the group; a step samples --batch-size prompts times this (default 8).")
    var groupSize = 8

    @Option(help: "For grpo and ppo: most tokens sampled per response (default 64); a prompt longer than --seq-len minus this is dropped (--on-error skip) or stops the run.")
    var maxNewTokens = 64

    @Option(help: "For grpo and ppo: sampling temperature; training divides the logits by it too (default 1.0).")
    var temperature = 1.0

    @Option(help: "For ppo: the starting weight of the per-token KL penalty subtracted from the reward (default 0.05).")
    var klCoef = 0.05

    @Option(help: "For grpo and ppo: the KL estimator, k1 (log π − log π_ref) or k3 ((r − 1) − log r, never negative); default k1 for ppo, k3 for grpo.")
    var klEstimator: KLEstimator?

    @Option(name: .customLong("target-kl"), help: "For ppo: adapt --kl-coef toward this KL per response (nats) with Ziegler et al.'s proportional controller (default: a fixed coefficient).")
    var targetKL: Double?

    @Option(help: "For ppo: subtracted from the score of a response that never produced the end-of-turn token (default 0: off).")
    var missingEosPenalty = 0.0

    @Option(help: "For ppo: passes over each batch of rollouts (default 4).")
    var ppoEpochs = 4

    @Option(help: "For ppo: optimizer updates per pass, each on --batch-size / this responses (a step samples one response to each of --batch-size prompts; default 1).")
    var miniBatches = 1

    func validate(objective: TrainObjective, beta: Double?, batchSize: Int, seqLen: Int, gradAccum: Int, evalData: [String],
                  resume: Bool, initFrom: String?) throws {
        guard objective == .grpo || objective == .ppo else {
            if rewardModel != nil { throw ValidationError("--reward-model applies to --objective grpo and ppo.") }
            return
        }
        let name = objective.rawValue
        guard rewardModel != nil else {
            throw ValidationError("--objective \(name) needs --reward-model DIR, the reward model that scores the responses "
                + "(train one with --objective reward).")
        }
        if initFrom == nil && !resume {
            throw ValidationError("--objective \(name) improves a trained policy: give --init DIR (an SFT checkpoint).")
        }
        if !evalData.isEmpty || gradAccum != 1 { throw ValidationError("--objective \(name) does not take --eval-data or --grad-accum.") }
        guard maxNewTokens >= 1, maxNewTokens < seqLen else {
            throw ValidationError("--max-new-tokens must be at least 1 and below --seq-len (\(seqLen)), leaving room for the prompt.")
        }
        guard temperature > 0 else { throw ValidationError("--temperature must be positive: training needs the sampling distribution.") }
        if objective == .grpo {
            guard groupSize >= 2 else { throw ValidationError("--group-size must be at least 2: rewards are compared within a group.") }
            guard (beta ?? 0) >= 0 else { throw ValidationError("--beta must not be negative.") }
        } else {
            guard ppoEpochs >= 1, miniBatches >= 1, batchSize % miniBatches == 0 else {
                throw ValidationError("--ppo-epochs and --mini-batches must be at least 1, and --mini-batches must divide --batch-size (\(batchSize)).")
            }
            guard klCoef >= 0, missingEosPenalty >= 0, (targetKL ?? 1) > 0 else {
                throw ValidationError("--kl-coef and --missing-eos-penalty must not be negative, --target-kl must be positive.")
            }
            if beta != nil { throw ValidationError("--objective ppo weighs the KL with --kl-coef, not --beta.") }
        }
    }
}

extension Train {
    /// The end-of-turn id that ends a response: the template's marker, one token of the policy's tokenizer.
    func endOfTurnId(_ tokenizer: Tokenizer) throws -> Int32 {
        guard let id = tokenizer.tokenToId(chatTemplate.endOfTurn) else {
            throw IOFailure("the tokenizer has no \(chatTemplate.endOfTurn) token, which ends an assistant turn in the \(chatTemplate.rawValue) "
                + "template; pick the --chat-template the policy was fine-tuned with")
        }
        return id
    }

    /// Prompt records, with prompts too long to leave --max-new-tokens counted or stopping the run.
    func promptData(_ tokenizer: Tokenizer) throws -> PromptData {
        let rejects = try runOptions.rejects.map { try OutputSink(path: $0, gzipLevel: OutputSink.wantsGzip($0) ? 6 : nil) }
        let started = Date()
        let data = try PromptData(paths: inputs, tokenizer: tokenizer, template: chatTemplate, maxPromptTokens: seqLen - rl.maxNewTokens,
                                  onError: runOptions.onError, rejects: rejects)
        try rejects?.close()
        try report(data.stats, since: started)
        return data
    }

    /// `path` from the working directory, as the trainer state saves the reference: a resume may run elsewhere.
    func absolutePath(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// A frozen copy of a causal-LM checkpoint sharing the policy's vocabulary.
    func frozenReference(_ directory: String, policy: LlamaParameters, rows: Int) throws -> Llama {
        let params = try Checkpoint.loadParameters(from: directory)
        guard params.config.vocabSize == policy.config.vocabSize else {
            throw IOFailure("\(directory): the reference's vocabulary is \(params.config.vocabSize), the policy's \(policy.config.vocabSize); "
                + "they must share a tokenizer")
        }
        return Llama(params: params, maxBatch: rows, maxSeq: seqLen)
    }

    /// GRPO: prompts, the policy (and with --beta > 0 its frozen reference), the reward model, then the shared loop.
    func makeGRPO(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> GRPOTrainer {
        let endOfTurn = try endOfTurnId(tokenizer)
        let data = try promptData(tokenizer)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let params = try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize)
        let reward = try rewardScorer(policyTokenizer: tokenizer, rows: rl.groupSize)
        var grpo = GRPOSettings()
        grpo.groupSize = rl.groupSize
        grpo.maxNewTokens = rl.maxNewTokens
        grpo.temperature = rl.temperature
        grpo.beta = beta ?? 0
        grpo.klEstimator = rl.klEstimator ?? .k3
        let referenceName = grpo.beta > 0 ? state?.extras[GRPOTrainer.referenceKey] ?? (ref ?? initFrom).map(absolutePath) : nil
        let reference = try referenceName.map { try frozenReference($0, policy: params, rows: rl.groupSize) }
        let model = Llama(params: params, maxBatch: rl.groupSize, maxSeq: seqLen)
        model.precision = dtype
        let trainer = GRPOTrainer(model: model, reference: reference, referenceName: referenceName, tokenizer: tokenizer,
                                  template: chatTemplate, data: data, reward: reward, endOfTurn: endOfTurn,
                                  settings: trainSettings(examples: data.count), grpo: grpo, seqLen: seqLen, resumeFrom: state)
        if let resumeFrom { try trainer.optimizer.load(from: resumeFrom) }
        if !runOptions.quiet {
            printError("lathe-train: \(data.count) prompts; \(batchSize) prompts x \(rl.groupSize) responses per step"
                + (reference != nil ? "; KL to \(referenceName!) weighted \(grpo.beta)" : ""))
        }
        return trainer
    }
}

extension Train {
    /// The reward model of --reward-model, frozen, as a reward function for `policyTokenizer`'s responses.
    /// A causal LM there is the wrong kind of checkpoint; a different tokenizer is an error unless
    /// --allow-tokenizer-mismatch, which re-tokenises each response's text.
    func rewardScorer(policyTokenizer: Tokenizer, rows: Int) throws -> RewardModelScorer {
        let directory = rl.rewardModel!
        let params = try rewardParameters(directory)
        let tokenizerPath = directory + "/tokenizer.json"
        let rewardTokenizer: Tokenizer
        do { rewardTokenizer = try Tokenizer(contentsOf: tokenizerPath) } catch {
            throw IOFailure("\(tokenizerPath): \(error); --reward-model needs the tokenizer the reward model was trained with")
        }
        let same = RewardModelScorer.sameTokenizer(rewardTokenizer, policyTokenizer)
        if !same && !rl.allowTokenizerMismatch {
            throw IOFailure("\(tokenizerPath) differs from the policy's tokenizer, so the reward model would read the policy's token ids "
                + "as other text; use a reward model trained from the same base, or --allow-tokenizer-mismatch to score re-tokenised text")
        }
        return try RewardModelScorer(model: RewardModel(params: params, maxBatch: rows, maxSeq: seqLen), tokenizer: rewardTokenizer,
                                 template: chatTemplate, retokenize: !same)
    }

    /// A reward model's parameters (trunk + scalar head); a causal LM is refused rather than given a random head.
    func rewardParameters(_ directory: String) throws -> LlamaParameters {
        guard isDirectory(directory) else {
            throw IOFailure("\(directory): no such checkpoint directory; --reward-model takes a reward model's checkpoint directory")
        }
        let head = try Checkpoint.loadHead(from: directory)
        guard head == .scalar else {
            throw IOFailure("\(directory)/config.json: a \(head.architecture) checkpoint; --reward-model needs a reward model "
                + "(LlamaForSequenceClassification with one label, as --objective reward writes it)")
        }
        return try Checkpoint.loadParameters(from: directory, head: .scalar)
    }

    /// PPO: prompts, the policy from --init, its frozen reference, the reward model, and a value model
    /// initialised from the reward model (or, resuming, the value model saved in the checkpoint).
    func makePPO(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> PPOTrainer {
        let endOfTurn = try endOfTurnId(tokenizer)
        let data = try promptData(tokenizer)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let params = try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize)
        let rows = batchSize / rl.miniBatches
        let reward = try rewardScorer(policyTokenizer: tokenizer, rows: rows)
        guard let referenceName = state?.extras[PPOTrainer.referenceKey] ?? (ref ?? initFrom).map(absolutePath) else {
            throw IOFailure("the trainer state names no reference model; resume the run with --ref DIR (its starting checkpoint)")
        }
        let reference = try frozenReference(referenceName, policy: params, rows: rows)
        let value = RewardModel(params: try rewardParameters(rl.rewardModel!), maxBatch: rows, maxSeq: seqLen)
        var ppo = PPOSettings()
        ppo.maxNewTokens = rl.maxNewTokens
        ppo.temperature = rl.temperature
        ppo.klCoef = rl.klCoef
        ppo.klEstimator = rl.klEstimator ?? .k1
        ppo.targetKL = rl.targetKL
        ppo.missingEOSPenalty = rl.missingEosPenalty
        ppo.epochs = rl.ppoEpochs
        ppo.miniBatches = rl.miniBatches
        let policy = Llama(params: params, maxBatch: rows, maxSeq: seqLen)
        policy.precision = dtype
        let trainer = PPOTrainer(policy: policy, reference: reference, value: value, tokenizer: tokenizer, template: chatTemplate,
                                 data: data, reward: reward, endOfTurn: endOfTurn, settings: trainSettings(examples: data.count),
                                 ppo: ppo, seqLen: seqLen, names: [PPOTrainer.referenceKey: referenceName], resumeFrom: state)
        if let resumeFrom {
            try trainer.optimizer.load(from: resumeFrom)
            try trainer.loadValueState(from: resumeFrom)
        }
        if !runOptions.quiet {
            printError("lathe-train: \(data.count) prompts; \(batchSize) responses per step, \(rl.ppoEpochs) epochs of \(rl.miniBatches) "
                + "mini-batches; reference \(referenceName), reward and value from \(rl.rewardModel!)")
        }
        return trainer
    }
}
