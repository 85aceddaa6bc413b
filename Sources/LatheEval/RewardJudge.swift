import LatheData
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

/// A reward model (`LlamaForSequenceClassification`, one label) scoring responses to prompts:
/// each prompt and response rendered with the chat template through the reward model's own
/// tokenizer, as preference pairs are for its training, and read at the last token.
public final class RewardJudge {
    public let checkpoint: LoadedCheckpoint
    public let template: ChatTemplate?
    let batchSize: Int

    public init(_ checkpoint: LoadedCheckpoint, template: ChatTemplate?, batchSize: Int) throws {
        guard checkpoint.params.head == .scalar else {
            throw IOFailure("\(checkpoint.ref.path): not a reward model (\(checkpoint.params.head.architecture)); --reward-model needs "
                + "a LlamaForSequenceClassification checkpoint with one label, as lathe-train --objective reward writes")
        }
        try checkpoint.checkMarkers(of: template)
        self.checkpoint = checkpoint
        self.template = template
        self.batchSize = batchSize
    }

    public var path: String { checkpoint.ref.path }

    /// The tokens the reward model reads for `response` to `prompt`: through the response's
    /// end of turn, as lathe-train --objective reward scores pairs (`PreferencePair.scored`).
    public func tokens(prompt: Turns, response: Turns) -> [Int32] {
        var c = EncodedSet.pair(prompt, response, template: template, tokenizer: checkpoint.tokenizer,
                                endOfText: ConversationTokens.endOfTextId(checkpoint.tokenizer))
        if let bos = checkpoint.bos {
            c.tokens.insert(bos, at: 0)
            c.labelled.insert(false, at: 0)
        }
        return PreferencePair.scored(c)
    }

    /// One reward per sequence, in order; sequences longer than the model's positions keep their start.
    public func rewards(_ sequences: [[Int32]]) -> [Double] {
        let limit = checkpoint.params.config.maxPositionEmbeddings
        let cut = sequences.map { $0.count > limit ? Array($0.prefix(limit)) : ($0.isEmpty ? [0] : $0) }
        let model = RewardModel(params: checkpoint.params, maxBatch: max(1, min(batchSize, cut.count)),
                                maxSeq: cut.map(\.count).max() ?? 1)
        return model.rewards(cut).map(Double.init)
    }

    public func rewards(prompts: [Turns], responses: [String]) -> [Double] {
        rewards(zip(prompts, responses).map { tokens(prompt: $0, response: .text($1)) })
    }
}
