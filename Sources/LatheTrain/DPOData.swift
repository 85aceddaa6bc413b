import Foundation
import LatheData
import LatheIO
import LatheTokenizer

/// One preference pair rendered with the chat template: prompt + chosen and prompt + rejected,
/// each labelled on the response's tokens (end of turn included), as SFT labels an assistant turn.
public struct PreferencePair: Sendable, Equatable {
    public var chosen: ConversationTokens
    public var rejected: ConversationTokens
    /// The record's id, else file:line.
    public var name: String
    /// The record's optional `margin` (TRL's RewardTrainer field): how far the chosen reward
    /// should exceed the rejected one; 0 when absent.
    public var margin: Double = 0

    /// The tokens a reward model scores: the sequence through its last labelled token, the
    /// response's end of turn (a template's closing newline after it is not part of the response).
    public static func scored(_ sequence: ConversationTokens) -> [Int32] {
        let last = sequence.labelled.lastIndex(of: true) ?? sequence.tokens.count - 1
        return Array(sequence.tokens[0...last])
    }

    /// Input tokens (n−1), and targets where position i predicts token i+1 or −1 outside the response.
    public static func row(_ sequence: ConversationTokens) -> (tokens: [Int32], targets: [Int32]) {
        let n = sequence.tokens.count
        return (Array(sequence.tokens[0..<(n - 1)]), (1..<n).map { sequence.labelled[$0] ? sequence.tokens[$0] : -1 })
    }
}

/// Preference records (schemas/preference.schema.json, TRL's standard or conversational form)
/// tokenised in memory for DPO.
public final class PreferenceData: @unchecked Sendable {
    public let pairs: [PreferencePair]
    public let stats: RunStats
    /// Bytes read, for the reference cache's header: a changed data file invalidates it.
    public let bytesRead: Int
    public var count: Int { pairs.count }

    /// Reads `paths` (JSON Lines, plain or gzip; `-` is stdin). A pair that cannot be trained on
    /// (malformed, identical responses, longer than seqLen + 1 tokens) stops the run with
    /// file:line, or with `onError` skip is counted and written to `rejects`.
    public init(paths: [String], tokenizer: Tokenizer, template: ChatTemplate, seqLen: Int, onError: OnError = .fail,
                rejects: OutputSink? = nil, maxLineBytes: Int = LineBatcher.defaultMaxLineBytes) throws {
        try TrainingData.checkMarkers(of: template, tokenizer: tokenizer)
        var pairs: [PreferencePair] = [], stats = RunStats()
        try RecordReader.read(paths: paths, maxLineBytes: maxLineBytes, onError: onError, rejects: rejects, stats: &stats) { record, location in
            pairs.append(try Self.pair(record, at: location, tokenizer: tokenizer, template: template, seqLen: seqLen))
        }
        guard !pairs.isEmpty else { throw IOFailure("the training data holds no usable preference pair: nothing to train on") }
        self.pairs = pairs
        self.stats = stats
        bytesRead = stats.bytesIn
    }

    /// The prompt turns and the two responses' turns of a preference record.
    public static func messages(of record: JSONValue, at location: SourceLocation) throws
        -> (prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage]) {
        guard let prompt = record["prompt"], let chosen = record["chosen"], let rejected = record["rejected"] else {
            throw RecordError(location, "expected a preference record with \"prompt\", \"chosen\" and \"rejected\", found keys "
                + (record.object?.keys.joined(separator: ", ") ?? record.typeName) + "; pair-prefs writes them", reason: "invalid_preference")
        }
        if let p = prompt.string, let c = chosen.string, let r = rejected.string {
            return ([ChatMessage(role: "user", content: p)], [ChatMessage(role: "assistant", content: c)],
                    [ChatMessage(role: "assistant", content: r)])
        }
        guard prompt.array != nil, chosen.array != nil, rejected.array != nil else {
            throw RecordError(location, "prompt, chosen and rejected should be all strings or all message lists, found "
                + "\(prompt.typeName), \(chosen.typeName) and \(rejected.typeName)", reason: "invalid_preference")
        }
        func turns(_ field: String) throws -> [ChatMessage] {
            try ConversationTokens.messages(of: JSONValue.object(JSONObject([("messages", record[field]!)])), at: location)
        }
        return (try turns("prompt"), try turns("chosen"), try turns("rejected"))
    }

    static func pair(_ record: JSONValue, at location: SourceLocation, tokenizer: Tokenizer, template: ChatTemplate,
                     seqLen: Int) throws -> PreferencePair {
        let (prompt, chosen, rejected) = try messages(of: record, at: location)
        var margin = 0.0
        if let value = record["margin"], value != .null {
            guard let number = value.double, number.isFinite else {
                throw RecordError(location, "margin should be a number (how far chosen's reward should exceed rejected's), found "
                    + value.typeName, reason: "invalid_preference")
            }
            margin = number
        }
        guard chosen != rejected else {
            throw RecordError(location, "chosen equals rejected, so the pair prefers nothing; drop it or fix the pairing",
                              reason: "identical_responses")
        }
        guard chosen.contains(where: { $0.role == "assistant" }) && rejected.contains(where: { $0.role == "assistant" }) else {
            throw RecordError(location, "chosen and rejected should each hold an assistant turn", reason: "invalid_preference")
        }
        // Only the response's assistant turns carry loss, not any the prompt already holds.
        let promptTurns = prompt.filter { $0.role == "assistant" }.count
        func encode(_ response: [ChatMessage], _ field: String) throws -> ConversationTokens {
            let tokens = ConversationTokens.encode(prompt + response, template: template, tokenizer: tokenizer, labelFrom: promptTurns)
            guard tokens.tokens.count <= seqLen + 1 else {
                throw RecordError(location, "prompt + \(field) is \(tokens.tokens.count) tokens, more than --seq-len + 1 (\(seqLen + 1)); "
                    + "raise --seq-len or shorten the pair (a preference cannot be judged on a cut response)", reason: "too_long")
            }
            return tokens
        }
        return PreferencePair(chosen: try encode(chosen, "chosen"), rejected: try encode(rejected, "rejected"),
                              name: record["id"]?.string ?? location.description, margin: margin)
    }
}
