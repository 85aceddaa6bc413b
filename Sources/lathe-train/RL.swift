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

    @Option(name: [.customLong("num-generations"), .customLong("group-size")],
            help: "For grpo: responses sampled per prompt (TRL's num_generations; --group-size is the same), their rewards normalised within the group; it must divide --batch-size x --grad-accum, the completions a step samples (default 8).")
    var groupSize = 8

    @Option(help: "For grpo: optimizer updates on each batch of rollouts (TRL's num_iterations, μ); above 1 the ratio to the sampling policy is clipped to 1 ± 0.2 (default 1).")
    var numIterations = 1

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
        if !evalData.isEmpty { throw ValidationError("--objective \(name) does not take --eval-data.") }
        guard maxNewTokens >= 1, maxNewTokens < seqLen else {
            throw ValidationError("--max-new-tokens must be at least 1 and below --seq-len (\(seqLen)), leaving room for the prompt.")
        }
        guard temperature > 0 else { throw ValidationError("--temperature must be positive: training needs the sampling distribution.") }
        if let problem = objective == .grpo ? grpoProblem(beta: beta, completions: batchSize * gradAccum)
            : ppoProblem(beta: beta, batchSize: batchSize, gradAccum: gradAccum) {
            throw ValidationError(problem)
        }
    }

    /// What is wrong with the GRPO options, if anything; `completions` are those a step samples.
    func grpoProblem(beta: Double?, completions: Int) -> String? {
        if groupSize < 2 { return "--num-generations must be at least 2: rewards are compared within a group." }
        if completions % groupSize != 0 {
            return "--num-generations (\(groupSize)) must divide --batch-size x --grad-accum (\(completions)), the completions a step "
                + "samples: every prompt gets a whole group."
        }
        if numIterations < 1 { return "--num-iterations must be at least 1." }
        if (beta ?? 0) < 0 { return "--beta must not be negative." }
        return nil
    }

    /// What is wrong with the PPO options, if anything.
    func ppoProblem(beta: Double?, batchSize: Int, gradAccum: Int) -> String? {
        if gradAccum != 1 { return "--objective ppo splits a step with --mini-batches, not --grad-accum." }
        if ppoEpochs < 1 || miniBatches < 1 || batchSize % miniBatches != 0 {
            return "--ppo-epochs and --mini-batches must be at least 1, and --mini-batches must divide --batch-size (\(batchSize))."
        }
        if klCoef < 0 || missingEosPenalty < 0 || (targetKL ?? 1) <= 0 {
            return "--kl-coef and --missing-eos-penalty must not be negative, --target-kl must be positive."
        }
        if beta != nil { return "--objective ppo weighs the KL with --kl-coef, not --beta." }
        return nil
    }
}

extension Train {
    /// Records a step reads, for --epochs: a GRPO step samples its completions --num-generations to a prompt.
    var examplesPerStep: Int { batchSize * gradAccum / (objective == .grpo ? rl.groupSize : 1) }

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

    /// Rows of activations a frozen model (the reference, the reward model) is given. It runs forward
    /// only, once a step, so it reads one sequence at a time rather than hold a batch's activations for
    /// a backward that never comes. With its gradients no longer allocated either, PPO on bench/rlhf.sh's
    /// tiny config (batch 8, --seq-len 256) peaked at 0.78 GB instead of 1.23 GB, in the same time.
    static let frozenRows = 1

    /// A frozen copy of a causal-LM checkpoint sharing the policy's vocabulary.
    func frozenReference(_ directory: String, policy: LlamaParameters) throws -> Llama {
        let params = try Checkpoint.loadParameters(from: directory)
        guard params.config.vocabSize == policy.config.vocabSize else {
            throw IOFailure("\(directory): the reference's vocabulary is \(params.config.vocabSize), the policy's \(policy.config.vocabSize); "
                + "they must share a tokenizer")
        }
        return Llama(params: params, maxBatch: Self.frozenRows, maxSeq: seqLen)
    }

    /// What GRPO and PPO both start from, their policy sized for `rows` rows of --seq-len.
    struct RLStart {
        let endOfTurn: Int32
        let data: PromptData
        let policy: Llama
        let reward: RewardModelScorer
    }

    /// The end-of-turn id, the prompts (a resume checked against them), the policy from --init or the
    /// checkpoint resumed, and the reward model of --reward-model.
    func rlStart(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?, rows: Int) throws -> RLStart {
        let endOfTurn = try endOfTurnId(tokenizer)
        let data = try promptData(tokenizer)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let policy = Llama(params: try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize), maxBatch: rows, maxSeq: seqLen)
        policy.precision = dtype
        let reward = try rewardScorer(policyTokenizer: tokenizer)
        return RLStart(endOfTurn: endOfTurn, data: data, policy: policy, reward: reward)
    }

    /// GRPO: prompts, the policy (and with --beta > 0 its frozen reference), the reward model, then the shared loop.
    func makeGRPO(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> GRPOTrainer {
        if let saved = state?.extras[GRPOTrainer.groupSizeKey], saved != "\(rl.groupSize)" {
            throw IOFailure("\(resumeFrom!) cannot be resumed bit for bit with these settings: it sampled \(saved) responses per prompt, "
                + "--num-generations is \(rl.groupSize)")
        }
        let start = try rlStart(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state, rows: batchSize)
        var grpo = GRPOSettings()
        grpo.groupSize = rl.groupSize
        grpo.iterations = rl.numIterations
        grpo.maxNewTokens = rl.maxNewTokens
        grpo.temperature = rl.temperature
        grpo.beta = beta ?? 0
        grpo.klEstimator = rl.klEstimator ?? .k3
        let referenceName = grpo.beta > 0 ? state?.extras[GRPOTrainer.referenceKey] ?? (ref ?? initFrom).map(absolutePath) : nil
        let reference = try referenceName.map { try frozenReference($0, policy: start.policy.params) }
        let trainer = GRPOTrainer(model: start.policy, reference: reference, referenceName: referenceName, tokenizer: tokenizer,
                                  template: chatTemplate, data: start.data, reward: start.reward, endOfTurn: start.endOfTurn,
                                  settings: trainSettings(examples: start.data.count), grpo: grpo, seqLen: seqLen, resumeFrom: state)
        if let resumeFrom { try trainer.optimizer.load(from: resumeFrom) }
        if !runOptions.quiet {
            let completions = batchSize * gradAccum
            printError("lathe-train: \(start.data.count) prompts; \(completions) completions per step (\(completions / rl.groupSize) prompts x "
                + "\(rl.groupSize)), \(rl.numIterations) update\(rl.numIterations == 1 ? "" : "s") on them"
                + (reference != nil ? "; KL to \(referenceName!) weighted \(grpo.beta)" : ""))
        }
        return trainer
    }
}

extension Train {
    /// The reward model of --reward-model, frozen, as a reward function for `policyTokenizer`'s responses.
    /// A causal LM there is the wrong kind of checkpoint; a different tokenizer is an error unless
    /// --allow-tokenizer-mismatch, which re-tokenises each response's text.
    func rewardScorer(policyTokenizer: Tokenizer) throws -> RewardModelScorer {
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
        return try RewardModelScorer(model: RewardModel(params: params, maxBatch: Self.frozenRows, maxSeq: seqLen), tokenizer: rewardTokenizer,
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
        let rows = batchSize / rl.miniBatches
        let start = try rlStart(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state, rows: rows)
        guard let referenceName = state?.extras[PPOTrainer.referenceKey] ?? (ref ?? initFrom).map(absolutePath) else {
            throw IOFailure("the trainer state names no reference model; resume the run with --ref DIR (its starting checkpoint)")
        }
        let reference = try frozenReference(referenceName, policy: start.policy.params)
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
        let trainer = PPOTrainer(policy: start.policy, reference: reference, value: value, tokenizer: tokenizer, template: chatTemplate,
                                 data: start.data, reward: start.reward, endOfTurn: start.endOfTurn,
                                 settings: trainSettings(examples: start.data.count),
                                 ppo: ppo, seqLen: seqLen, names: [PPOTrainer.referenceKey: referenceName], resumeFrom: state)
        if let resumeFrom {
            try trainer.optimizer.load(from: resumeFrom)
            try trainer.loadValueState(from: resumeFrom)
        }
        if !runOptions.quiet {
            printError("lathe-train: \(start.data.count) prompts; \(batchSize) responses per step, \(rl.ppoEpochs) epochs of \(rl.miniBatches) "
                + "mini-batches; reference \(referenceName), reward and value from \(rl.rewardModel!)")
        }
        return trainer
    }
}
