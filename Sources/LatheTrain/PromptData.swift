import Foundation
import LatheData
import LatheIO
import LatheModel
import LatheTokenizer

/// One prompt of an RL run, rendered with the chat template up to the opening of the
/// assistant's turn, ready for the policy to continue.
public struct Prompt: Sendable, Equatable {
    public var messages: [ChatMessage]
    public var tokens: [Int32]
    /// The record's id, else file:line.
    public var name: String

    public init(messages: [ChatMessage], tokens: [Int32], name: String) {
        self.messages = messages
        self.tokens = tokens
        self.name = name
    }
}

/// Prompt records for PPO and GRPO: any record with a `prompt` that is a string (one user turn)
/// or a message list (TRL's prompt-only form, standard or conversational), so preference and
/// candidates records serve too.
public final class PromptData: @unchecked Sendable {
    public let prompts: [Prompt]
    public let stats: RunStats
    public var count: Int { prompts.count }

    /// Reads `paths` (JSON Lines, plain or gzip; `-` is stdin). A prompt of more than
    /// `maxPromptTokens` tokens (the context minus the new tokens) or a malformed record stops the
    /// run with file:line, or with `onError` skip is counted and written to `rejects`.
    public init(paths: [String], tokenizer: Tokenizer, template: ChatTemplate, maxPromptTokens: Int,
                onError: OnError = .fail, rejects: OutputSink? = nil) throws {
        try TrainingData.checkMarkers(of: template, tokenizer: tokenizer)
        var prompts: [Prompt] = [], stats = RunStats()
        try RecordReader.read(paths: paths, onError: onError, rejects: rejects, stats: &stats) { record, location in
            prompts.append(try Self.prompt(record, at: location, tokenizer: tokenizer, template: template, maxTokens: maxPromptTokens))
        }
        guard !prompts.isEmpty else { throw IOFailure("the training data holds no usable prompt: nothing to train on") }
        self.prompts = prompts
        self.stats = stats
    }

    /// The prompt turns of a record.
    public static func messages(of record: JSONValue, at location: SourceLocation) throws -> [ChatMessage] {
        guard let prompt = record["prompt"] else {
            throw RecordError(location, "expected a prompt record with \"prompt\" (a string or a list of {role, content}), found keys "
                + (record.object?.keys.joined(separator: ", ") ?? record.typeName), reason: "invalid_prompt")
        }
        if let text = prompt.string { return [ChatMessage(role: "user", content: text)] }
        let turns = try ConversationTokens.messages(of: JSONValue.object(JSONObject([("messages", prompt)])), at: location)
        guard let last = turns.last, last.role != "assistant" else {
            throw RecordError(location, "the prompt is empty or ends with an assistant turn; it should end with the turn to answer",
                              reason: "invalid_prompt")
        }
        return turns
    }

    static func prompt(_ record: JSONValue, at location: SourceLocation, tokenizer: Tokenizer, template: ChatTemplate,
                       maxTokens: Int) throws -> Prompt {
        let messages = try messages(of: record, at: location)
        let tokens = encode(messages, template: template, tokenizer: tokenizer)
        guard tokens.count <= maxTokens else {
            throw RecordError(location, "the prompt is \(tokens.count) tokens, more than --seq-len minus --max-new-tokens (\(maxTokens)); "
                + "raise --seq-len, lower --max-new-tokens or shorten the prompt", reason: "prompt_too_long")
        }
        return Prompt(messages: messages, tokens: tokens, name: record["id"]?.string ?? location.description)
    }

    /// The tokens of `messages` rendered up to the assistant's opening, as the policy continues them.
    public static func encode(_ messages: [ChatMessage], template: ChatTemplate, tokenizer: Tokenizer) -> [Int32] {
        tokenizer.encode(template.render(messages, addGenerationPrompt: true).text, addSpecialTokens: false)
    }
}

/// One sampled response to a prompt, as rewards see it.
public struct Rollout: Sendable {
    public var prompt: Prompt
    public var response: [Int32]
    /// The response decoded (special tokens such as the end of turn dropped).
    public var text: String
    /// Whether the response ended with the end-of-turn token rather than running out of --max-new-tokens.
    public var finished: Bool

    public init(prompt: Prompt, response: [Int32], text: String, finished: Bool) {
        self.prompt = prompt
        self.response = response
        self.text = text
        self.finished = finished
    }

    public var sample: PolicySample { PolicySample(prompt: prompt.tokens, response: response) }
}

/// What scores a response for PPO or GRPO: a reward model, or a rule.
public protocol RewardFunction {
    /// One score per rollout, higher is better.
    func rewards(_ rollouts: [Rollout]) throws -> [Double]
}

extension Rollout {
    /// The sampling seed of optimizer step `step` (from 0) of a run seeded `seed`: a resumed run
    /// draws what the uninterrupted one would have drawn.
    public static func seed(_ seed: UInt64, step: Int) -> UInt64 { seed ^ (UInt64(step + 1) &* 0x9E37_79B9_7F4A_7C15) }

    /// `reward`'s scores of `rollouts`, or an error naming the step and prompts if it gave a wrong count or a non-finite score.
    public static func score(_ rollouts: [Rollout], with reward: any RewardFunction, step: Int) throws -> [Double] {
        let scores = try reward.rewards(rollouts)
        guard scores.count == rollouts.count, scores.allSatisfy(\.isFinite) else {
            throw TrainingError("step \(step + 1): the reward gave \(scores.count) scores for \(rollouts.count) responses or a score "
                + "that is not finite; prompts: " + Set(rollouts.map(\.prompt.name)).sorted().joined(separator: ", "))
        }
        return scores
    }

    /// `copies` responses to each prompt from `generator` (prompt i's copies are consecutive),
    /// decoded with `tokenizer`; generation stops at `endOfTurn`.
    public static func generate(_ generator: Generator, prompts: [Prompt], copies: Int, options: SamplingOptions,
                                tokenizer: Tokenizer, endOfTurn: Int32) throws -> [Rollout] {
        var options = options
        options.stopTokens = [endOfTurn]
        let repeated = prompts.flatMap { Array(repeating: $0, count: copies) }
        let generated: [Generation]
        do { generated = try generator.generate(prompts: repeated.map(\.tokens), options: options) } catch {
            throw TrainingError("generating responses: \(error)")
        }
        return zip(repeated, generated).map { prompt, g in
            Rollout(prompt: prompt, response: g.tokens, text: tokenizer.decode(g.tokens, skipSpecialTokens: true),
                    finished: g.finish == .stopToken(endOfTurn))
        }
    }
}
