import LatheData
import LatheIO
import LatheTensor
import LatheTokenizer

/// What the model learns from the records.
public enum Objective: String, CaseIterable, Sendable {
    /// Next-token prediction on documents, joined with end-of-text and cut into windows.
    case pretrain
    /// The same loss on conversations, counted only on the assistant's tokens.
    case sft
}

/// One row of a batch: input tokens, the token each position must predict (-1: no loss
/// there), and segment ids that keep attention inside each packed piece.
public struct Example: Sendable, Equatable {
    public var tokens: [Int32] = []
    public var targets: [Int32] = []
    public var segments: [Int32] = []
    /// The records the row came from (id, else file:line), for error messages.
    public var records: [String] = []
}

/// How records become examples.
public struct DataSettings: Sendable {
    public var objective: Objective
    public var seqLen: Int
    public var packing = false
    public var template = ChatTemplate.chatml
    public var maxLineBytes = LineBatcher.defaultMaxLineBytes
    public var onError = OnError.fail
    /// Threads that tokenise (records still join the data in input order).
    public var jobs = 1

    public init(objective: Objective, seqLen: Int) {
        self.objective = objective
        self.seqLen = seqLen
    }
}

/// A training set tokenised in memory: documents as one token stream cut into windows of
/// seqLen (pretrain), or conversations as rows, one each or packed (sft).
public final class TrainingData: @unchecked Sendable {
    public let settings: DataSettings
    /// Examples per epoch.
    public var count: Int { settings.objective == .pretrain ? max(0, (stream.count - 1) / settings.seqLen) : rows.count }
    public private(set) var stats = RunStats()
    /// Conversations cut to seqLen + 1 tokens.
    public private(set) var truncated = 0
    /// Tokens carrying loss in one epoch.
    public private(set) var labelledTokens = 0

    // pretrain: every document's tokens then end-of-text, and where each document starts.
    private var stream: [Int32] = []
    private var documentStarts: [Int] = []
    // sft: each conversation's tokens and which carry loss; rows list conversations.
    private var conversations: [(tokens: [Int32], labelled: [Bool])] = []
    private var rows: [[Int]] = []
    private var names: [String] = []

    /// Reads and tokenises `paths` (JSON Lines, plain or gzip; `-` is stdin). Malformed or
    /// unusable records stop the run with file:line, or with `onError` skip are counted and
    /// written to `rejects`.
    public init(paths: [String], tokenizer: Tokenizer, settings: DataSettings, rejects: OutputSink? = nil) throws {
        self.settings = settings
        let endOfText = try Self.endOfTextId(tokenizer)
        if settings.objective == .sft { try Self.checkMarkers(of: settings.template, tokenizer: tokenizer) }
        var stats = RunStats()
        try RecordReader.read(paths: paths, maxLineBytes: settings.maxLineBytes, onError: settings.onError, rejects: rejects,
                              stats: &stats, jobs: settings.jobs, prepare: { [settings] record, location in
            try Self.tokenise(record, at: location, settings: settings, tokenizer: tokenizer)
        }) { piece, location in
            switch piece {
            case .document(let tokens, let name):
                documentStarts.append(stream.count)
                names.append(name)
                stream += tokens
                stream.append(endOfText)
                labelledTokens = stream.count - 1
            case .conversation(let tokens, let labelled, let name):
                try addConversation(tokens, labelled, name: name, at: location)
            }
        }
        self.stats = stats
        if settings.objective == .sft { packRows() }
        guard count > 0 else {
            throw IOFailure(settings.objective == .pretrain
                ? "the training data holds \(stream.count) tokens, fewer than --seq-len + 1 (\(settings.seqLen + 1)): nothing to train on"
                : "the training data holds no usable conversation: nothing to train on")
        }
    }

    /// The template's markers must be single tokens, or turns cannot be told apart.
    static func checkMarkers(of template: ChatTemplate, tokenizer: Tokenizer) throws {
        for marker in template.specialTokens where tokenizer.encode(marker, addSpecialTokens: false).count != 1 {
            throw IOFailure("the tokenizer does not keep \(marker) whole, which the \(template.rawValue) template needs; "
                + "train one with `lathe-train tokenizer --chat-template \(template.rawValue)` or pick another --chat-template")
        }
    }

    static func endOfTextId(_ tokenizer: Tokenizer) throws -> Int32 {
        for name in ["<|endoftext|>", "<|end_of_text|>", "</s>"] {
            if let id = tokenizer.tokenToId(name) { return id }
        }
        throw IOFailure("the tokenizer has no end-of-text token (<|endoftext|>, <|end_of_text|> or </s>) to join documents with")
    }

    /// A record tokenised, before it joins the data (this part runs on several threads).
    enum Piece {
        case document(tokens: [Int32], name: String)
        case conversation(tokens: [Int32], labelled: [Bool], name: String)
    }

    static func tokenise(_ record: JSONValue, at location: SourceLocation, settings: DataSettings, tokenizer: Tokenizer) throws -> Piece {
        let name = record["id"]?.string ?? location.description
        switch settings.objective {
        case .pretrain:
            guard let text = record["text"]?.string else {
                throw RecordError(location, "expected a document record with a string \"text\", found \(record["text"]?.typeName ?? "no text field")"
                    + (record["messages"] != nil ? "; conversations train with --objective sft" : ""), reason: "missing_text")
            }
            return .document(tokens: tokenizer.encode(text, addSpecialTokens: false), name: name)
        case .sft:
            let messages = try messages(of: record, at: location)
            guard messages.contains(where: { $0.role == "assistant" }) else {
                throw RecordError(location, "the conversation has no assistant turn, so nothing to learn from", reason: "no_assistant_turn")
            }
            let encoded = ConversationTokens.encode(messages, template: settings.template, tokenizer: tokenizer)
            return .conversation(tokens: encoded.tokens, labelled: encoded.labelled, name: name)
        }
    }

    // MARK: sft

    private func addConversation(_ tokens: [Int32], _ labelled: [Bool], name: String, at location: SourceLocation) throws {
        var (tokens, labelled) = (tokens, labelled)
        if tokens.count > settings.seqLen + 1 {
            truncated += 1
            tokens.removeLast(tokens.count - settings.seqLen - 1)
            labelled.removeLast(labelled.count - settings.seqLen - 1)
        }
        // Position i predicts token i+1, so the first token's label never counts.
        let labels = labelled.dropFirst().filter { $0 }.count
        guard labels > 0 else {
            throw RecordError(location, "no assistant token falls within the first \(settings.seqLen + 1) tokens; raise --seq-len",
                              reason: "too_long")
        }
        labelledTokens += labels
        conversations.append((tokens, labelled))
        names.append(name)
    }

    /// The turns of a conversation record: `messages`, or `prompt` + `completion` as strings
    /// (one user and one assistant turn) or as message lists.
    static func messages(of record: JSONValue, at location: SourceLocation) throws -> [ChatMessage] {
        func turns(_ value: JSONValue, _ field: String) throws -> [ChatMessage] {
            guard let list = value.array else {
                throw RecordError(location, "\"\(field)\" should be a list of {role, content}, found \(value.typeName)", reason: "invalid_conversation")
            }
            return try list.enumerated().map { k, turn in
                guard let role = turn["role"]?.string, ["system", "user", "assistant"].contains(role),
                      let content = turn["content"]?.string else {
                    throw RecordError(location, "\(field)[\(k)] should have a role (system, user or assistant) and string content, found \(turn)",
                                      reason: "invalid_conversation")
                }
                return ChatMessage(role: role, content: content)
            }
        }
        if let messages = record["messages"] { return try turns(messages, "messages") }
        if let prompt = record["prompt"], let completion = record["completion"] {
            if let p = prompt.string, let c = completion.string {
                return [ChatMessage(role: "user", content: p), ChatMessage(role: "assistant", content: c)]
            }
            return try turns(prompt, "prompt") + turns(completion, "completion")
        }
        throw RecordError(location, "expected a conversation record with \"messages\" (or \"prompt\" and \"completion\")"
            + (record["text"] != nil ? "; documents train with --objective pretrain" : ""), reason: "invalid_conversation")
    }

    /// One conversation per row, or with packing as many as fit in seqLen inputs, in input order.
    private func packRows() {
        guard settings.packing else {
            rows = conversations.indices.map { [$0] }
            return
        }
        var row: [Int] = [], used = 0
        for (k, conversation) in conversations.enumerated() {
            let length = conversation.tokens.count - 1
            if used + length > settings.seqLen && !row.isEmpty {
                rows.append(row)
                row = []
                used = 0
            }
            row.append(k)
            used += length
        }
        if !row.isEmpty { rows.append(row) }
    }

    // MARK: examples

    /// Example `i` of an epoch (0 ..< count).
    public func example(_ i: Int) -> Example {
        var example = Example()
        switch settings.objective {
        case .pretrain:
            let start = i * settings.seqLen, end = start + settings.seqLen
            example.tokens = Array(stream[start..<end])
            example.targets = Array(stream[(start + 1)...end])
            example.segments = Array(repeating: 0, count: settings.seqLen)
            // The documents the window overlaps: the last starting at or before it, and those after.
            var lo = 0, hi = documentStarts.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if documentStarts[mid] <= start { lo = mid } else { hi = mid - 1 }
            }
            var d = lo
            while d < documentStarts.count && documentStarts[d] < end {
                example.records.append(names[d])
                d += 1
            }
        case .sft:
            for (segment, k) in rows[i].enumerated() {
                let conversation = conversations[k]
                let n = conversation.tokens.count
                example.tokens += conversation.tokens[0..<(n - 1)]
                for j in 1..<n { example.targets.append(conversation.labelled[j] ? conversation.tokens[j] : -1) }
                example.segments += Array(repeating: Int32(segment), count: n - 1)
                example.records.append(names[k])
            }
        }
        return example
    }
}

/// Where the data order stands: epoch e visits examples in a permutation drawn from
/// SplitMix64(seed, e); `position` examples of it are used. Saved for exact resume.
public struct DataCursor: Sendable, Equatable {
    public var epoch = 0
    public var position = 0
    public init(epoch: Int = 0, position: Int = 0) {
        self.epoch = epoch
        self.position = position
    }
}

/// The shuffled order of examples, epoch by epoch, from a seed alone.
public struct DataOrder: Sendable {
    public let count: Int
    public let seed: UInt64
    public private(set) var cursor: DataCursor
    private var permutation: [Int]

    public init(count: Int, seed: UInt64, cursor: DataCursor = DataCursor()) {
        self.count = count
        self.seed = seed
        self.cursor = cursor
        permutation = Self.permutation(count: count, seed: seed, epoch: cursor.epoch)
    }

    /// Fisher–Yates over 0..<count with a generator seeded by (seed, epoch).
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return order
    }

    /// The next example index, moving to the next epoch's order at the end of one.
    public mutating func next() -> Int {
        if cursor.position == count {
            cursor = DataCursor(epoch: cursor.epoch + 1, position: 0)
            permutation = Self.permutation(count: count, seed: seed, epoch: cursor.epoch)
        }
        defer { cursor.position += 1 }
        return permutation[cursor.position]
    }
}
