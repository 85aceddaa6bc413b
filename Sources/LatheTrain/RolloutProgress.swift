import Foundation
import LatheData
import LatheModel
import LatheTokenizer

/// What GRPO and PPO keep from step to step and save for --resume (the seeded prompt order, the
/// step, the tokens seen), with the parts of a step both take the same way: drawing its prompts,
/// its sampling seed, the stop before a non-finite update, and the checkpoint around the policy.
/// A step is one batch of rollouts, however many optimizer updates it makes from them.
public struct RolloutProgress: Sendable {
    public let settings: TrainSettings
    public private(set) var order: DataOrder
    public private(set) var step: Int
    public private(set) var tokensSeen: Int

    public init(prompts: Int, settings: TrainSettings, resumeFrom state: TrainerState?) {
        self.settings = settings
        order = DataOrder(count: prompts, seed: settings.seed, cursor: state?.cursor ?? DataCursor())
        step = state?.step ?? 0
        tokensSeen = state?.tokens ?? 0
    }

    /// The next `count` prompts of the seeded order.
    mutating func draw(_ count: Int, from data: PromptData) -> [Prompt] {
        (0..<count).map { _ in data.prompts[order.next()] }
    }

    /// The sampling of the current step: its own seed, so a resumed run draws what it would have drawn.
    func sampling(temperature: Double, maxNewTokens: Int) -> SamplingOptions {
        SamplingOptions(temperature: temperature, maxNewTokens: maxNewTokens, seed: Rollout.seed(settings.seed, step: step))
    }

    /// The learning rate of the current step, shared by all of its updates.
    var rate: Double { settings.schedule.rate(step: step + 1, total: settings.steps, peak: settings.lr, warmup: settings.warmup) }

    /// AdamW's count for update `update` (from 0) of the current step, `updatesPerStep` a step.
    func adamStep(update: Int, of updatesPerStep: Int) -> Int { step * updatesPerStep + update + 1 }

    /// The error that stops a step before it updates the weights with a non-finite loss or gradient.
    func nonFinite(_ what: String, prompts: [Prompt]) -> TrainingError {
        TrainingError("step \(step + 1): \(what); stopped before updating the weights. Lower --lr; prompts: "
            + prompts.map(\.name).joined(separator: ", "))
    }

    /// Ends the step that trained on `samples`; returns the tokens it saw.
    mutating func finish(_ samples: [PolicySample]) -> Int {
        let seen = samples.reduce(0) { $0 + $1.prompt.count + $1.response.count }
        step += 1
        tokensSeen += seen
        return seen
    }

    /// Writes checkpoint-STEP: the policy as a causal LM, `files` beside it, and the trainer state with `extras`.
    func save(objective: String, policy: Llama, tokenizer: Tokenizer, template: ChatTemplate, seqLen: Int, examples: Int,
              optimizer: AdamW, extras: [String: String], files: [Checkpoint.File] = []) throws -> String {
        let state = TrainerState(step: step, tokens: tokensSeen, cursor: order.cursor, seed: settings.seed, objective: objective,
                                 seqLen: seqLen, batchSize: settings.batchSize, gradAccum: settings.gradAccum,
                                 examplesPerEpoch: examples, totalSteps: settings.steps, optimizer: optimizer, extras: extras)
        let policyFiles = try HFCheckpoint.files(model: policy.params, tokenizer: tokenizer, template: template, objective: .sft,
                                                 seqLen: seqLen)
        return try RunCheckpoint.write(policyFiles + files, state: state, optimizer: optimizer, settings: settings)
    }
}
