import Foundation
import LatheData
import LatheModel
import LatheTokenizer

/// A reward model as PPO's and GRPO's reward: the score head read at the last token of prompt +
/// response. When its tokenizer is the policy's, the policy's own tokens are scored; otherwise (only
/// with `retokenize`) the prompt turns and the decoded response are rendered with the reward
/// model's template and tokenised with its tokenizer.
public final class RewardModelScorer: RewardFunction {
    public let model: RewardModel
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    /// Whether responses are scored from their text rather than the policy's tokens.
    public let retokenize: Bool

    /// Re-tokenising needs `template`'s markers to be single tokens of `tokenizer`.
    public init(model: RewardModel, tokenizer: Tokenizer, template: ChatTemplate, retokenize: Bool) throws {
        if retokenize { try TrainingData.checkMarkers(of: template, tokenizer: tokenizer) }
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.retokenize = retokenize
    }

    /// Whether two tokenizers encode every text alike: the same tokenizer.json.
    public static func sameTokenizer(_ a: Tokenizer, _ b: Tokenizer) -> Bool { a.jsonBytes() == b.jsonBytes() }

    /// The tokens the reward model reads for one rollout: prompt + response through its end of turn,
    /// as reward training scores a pair (`PreferencePair.scored`); the start is cut if it exceeds the context.
    public func sequence(_ rollout: Rollout) -> [Int32] {
        guard retokenize else { return rollout.prompt.tokens + rollout.response }
        let messages = rollout.prompt.messages + [ChatMessage(role: "assistant", content: rollout.text)]
        var tokens = PreferencePair.scored(ConversationTokens.encode(messages, template: template, tokenizer: tokenizer,
                                                                     labelFrom: rollout.prompt.messages.filter { $0.role == "assistant" }.count))
        // A response cut by --max-new-tokens has no end of turn in the policy's tokens; nor should its re-rendering.
        if !rollout.finished, tokens.last == tokenizer.tokenToId(template.endOfTurn) { tokens.removeLast() }
        return Array(tokens.suffix(model.maxSeq))
    }

    public func rewards(_ rollouts: [Rollout]) throws -> [Double] {
        model.rewards(rollouts.map(sequence)).map(Double.init)
    }
}
