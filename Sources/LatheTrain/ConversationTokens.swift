import LatheData
import LatheIO
import LatheTokenizer

// Public doors onto SFT's record reading and masking, for lathe-eval's `loss` and `prefs`
// (they must mask exactly as training does). TrainingData.addConversation calls `encode`, so
// the masking rule lives in this one function.

/// A conversation's tokens and which of them are the assistant's (the ones SFT trains on).
public struct ConversationTokens: Sendable, Equatable {
    public var tokens: [Int32] = []
    public var labelled: [Bool] = []

    public init() {}

    /// Renders `messages` with `template` and tokenises each span on its own, so a token never
    /// straddles the boundary of an assistant turn. With `labelFrom`,
    /// only assistant turns from that index on (counting assistant turns) are labelled.
    public static func encode(_ messages: [ChatMessage], template: ChatTemplate, tokenizer: Tokenizer,
                              labelFrom firstLabelledTurn: Int = 0) -> ConversationTokens {
        let rendered = template.render(messages)
        let bytes = Array(rendered.text.utf8)
        var out = ConversationTokens()
        var cursor = 0
        func piece(_ range: Range<Int>, label: Bool) {
            guard !range.isEmpty else { return }
            let before = out.tokens.count
            tokenizer.encode(String(decoding: bytes[range], as: UTF8.self), addSpecialTokens: false, into: &out.tokens)
            out.labelled += Array(repeating: label, count: out.tokens.count - before)
        }
        for (k, span) in rendered.assistantSpans.enumerated() {
            piece(cursor..<span.lowerBound, label: false)
            piece(span, label: k >= firstLabelledTurn)
            cursor = span.upperBound
        }
        piece(cursor..<bytes.count, label: false)
        return out
    }

    /// The turns of a conversation record, as `lathe-train --objective sft` reads them.
    public static func messages(of record: JSONValue, at location: SourceLocation) throws -> [ChatMessage] {
        try TrainingData.messages(of: record, at: location)
    }

    /// The id documents are joined with in pretraining, if the tokenizer has one.
    public static func endOfTextId(_ tokenizer: Tokenizer) -> Int32? {
        try? TrainingData.endOfTextId(tokenizer)
    }
}
