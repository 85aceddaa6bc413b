import LatheData
import LatheIO
import LatheTrain

/// The tasks lathe-eval runs, each over eval sets of one record kind.
public enum EvalTask: String, CaseIterable, Sendable {
    /// Mean loss over the assistant's tokens of conversations (SFT's masking).
    case loss
    /// Perplexity and bits per byte of documents, rolling windows over long ones.
    case ppl
    /// How often the chosen response of a preference pair gets the higher log-probability.
    case prefs
    /// Multiple-choice accuracy by total and by per-character log-likelihood.
    case choice
    /// Responses to prompts, written to a file.
    case generate
    /// The generated responses scored by a reward model: mean and quantiles.
    case reward
    /// The generated responses against a baseline's, judged by a reward model.
    case winrate

    /// The record kind the task reads.
    public var kind: EvalKind {
        switch self {
        case .loss: .conversation
        case .ppl: .document
        case .prefs: .preference
        case .choice: .choice
        case .generate, .reward, .winrate: .prompt
        }
    }
}

/// The record kinds an eval set may hold (../shared/DESIGN.md), one kind per file.
public enum EvalKind: String, CaseIterable, Sendable {
    case conversation, document, preference, prompt, choice

    /// The task a set of this kind feeds by default (prompts: generate).
    public var task: EvalTask { tasks[0] }

    /// Every task that reads this kind.
    public var tasks: [EvalTask] { EvalTask.allCases.filter { $0.kind == self } }

    /// The kind a record's fields say it is, or nil.
    static func of(_ record: JSONValue) -> EvalKind? {
        guard record.object != nil else { return nil }
        if record["question"] != nil && record["choices"] != nil { return .choice }
        if record["chosen"] != nil && record["rejected"] != nil { return .preference }
        if record["messages"] != nil || (record["prompt"] != nil && record["completion"] != nil) { return .conversation }
        if record["text"] != nil { return .document }
        if record["prompt"] != nil { return .prompt }
        return nil
    }

    var fields: String {
        switch self {
        case .conversation: "{\"messages\": [...]} or {\"prompt\", \"completion\"}"
        case .document: "{\"text\"}"
        case .preference: "{\"prompt\", \"chosen\", \"rejected\"}"
        case .prompt: "{\"prompt\"}"
        case .choice: "{\"question\", \"choices\": [...], \"answer\": index}"
        }
    }
}

/// A prompt or response: plain text (TRL's standard form) or turns (its conversational form).
public enum Turns: Sendable, Equatable {
    case text(String)
    case messages([ChatMessage])

    /// As messages, plain text becoming one turn of `role`.
    func messages(role: String) -> [ChatMessage] {
        switch self {
        case .text(let s): [ChatMessage(role: role, content: s)]
        case .messages(let m): m
        }
    }
}

/// One record of an eval set, read and checked.
public struct EvalItem: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case conversation([ChatMessage])
        case document(String)
        case preference(prompt: Turns, chosen: Turns, rejected: Turns)
        case prompt(Turns)
        case choice(question: String, choices: [String], answer: Int)
    }

    public var id: String
    public var content: Content

    /// A prompt item's turns.
    var promptTurns: Turns {
        guard case .prompt(let turns) = content else { preconditionFailure("\(id) is not a prompt") }
        return turns
    }
}

/// An eval set: one JSONL file of one record kind, read once for the whole run.
public struct EvalSet: Sendable {
    public let path: String
    /// The file name without directory and .jsonl/.gz; tasks are reported as `task:name`.
    public let name: String
    public let kind: EvalKind
    public let items: [EvalItem]
    /// Records read, kept and dropped (with --on-error skip) by reason.
    public let stats: RunStats

    public init(path: String, name: String, kind: EvalKind, items: [EvalItem], stats: RunStats = RunStats()) {
        self.path = path
        self.name = name
        self.kind = kind
        self.items = items
        self.stats = stats
    }

    /// Reads `path`; the first record fixes the kind (unless `kind` is given) and every other
    /// must match it. A bad record stops with file:line, or with `onError` skip is counted
    /// and written to `rejects`.
    public static func load(path: String, kind expected: EvalKind? = nil, onError: OnError = .fail,
                            rejects: OutputSink? = nil) throws -> EvalSet {
        var kind = expected, firstLine: Int?
        var items: [EvalItem] = []
        var stats = RunStats()
        try RecordReader.read(paths: [path], onError: onError, rejects: rejects, stats: &stats) { record, location in
            guard let found = EvalKind.of(record) else {
                throw RecordError(location, "expected an eval record, one of: "
                    + EvalKind.allCases.map { "\($0.rawValue) \($0.fields)" }.joined(separator: "; ")
                    + "; found \(record.object.map { "fields " + $0.map(\.0).joined(separator: ", ") } ?? record.typeName)",
                    reason: "unknown_kind")
            }
            if let kind, found != kind {
                throw RecordError(location, "expected a \(kind.rawValue) record \(kind.fields) "
                    + (firstLine.map { "like line \($0)" } ?? "(this file must hold them)") + ", found a \(found.rawValue) record; "
                    + "an eval set holds one record kind: put \(found.rawValue)s in a file of their own",
                    reason: "wrong_kind")
            }
            let item = try parse(record, kind: found, at: location)
            if kind == nil { (kind, firstLine) = (found, location.line) }
            items.append(item)
        }
        guard let kind, !items.isEmpty else { throw IOFailure("\(path): no usable eval record; nothing to evaluate") }
        return EvalSet(path: path, name: setName(path), kind: kind, items: items, stats: stats)
    }

    static func setName(_ path: String) -> String {
        var name = path == "-" ? "stdin" : String(path.split(separator: "/").last ?? Substring(path))
        for suffix in [".gz", ".jsonl", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    static func parse(_ record: JSONValue, kind: EvalKind, at location: SourceLocation) throws -> EvalItem {
        let id = record["id"]?.string ?? record["id"]?.int.map(String.init) ?? location.description
        func turns(_ field: String) throws -> Turns {
            let value = record[field]!
            if let s = value.string { return .text(s) }
            let wrapped: JSONValue = ["messages": value]
            do {
                return .messages(try ConversationTokens.messages(of: wrapped, at: location))
            } catch let error as RecordError {
                throw RecordError(location, "\"\(field)\" should be a string or a list of {role, content}: "
                    + error.message.replacingOccurrences(of: "\"messages\"", with: "\"\(field)\""), reason: "invalid_\(kind.rawValue)")
            }
        }
        switch kind {
        case .conversation:
            let messages = try ConversationTokens.messages(of: record, at: location)
            guard messages.contains(where: { $0.role == "assistant" }) else {
                throw RecordError(location, "the conversation has no assistant turn, so no token to score", reason: "no_assistant_turn")
            }
            return EvalItem(id: id, content: .conversation(messages))
        case .document:
            guard let text = record["text"]?.string, !text.isEmpty else {
                throw RecordError(location, "\"text\" should be a non-empty string, found \(record["text"]!.typeName)", reason: "invalid_document")
            }
            return EvalItem(id: id, content: .document(text))
        case .preference:
            let prompt = record["prompt"] == nil ? Turns.text("") : try turns("prompt")
            return EvalItem(id: id, content: .preference(prompt: prompt, chosen: try turns("chosen"), rejected: try turns("rejected")))
        case .prompt:
            return EvalItem(id: id, content: .prompt(try turns("prompt")))
        case .choice:
            guard let question = record["question"]?.string else {
                throw RecordError(location, "\"question\" should be a string, found \(record["question"]!.typeName)", reason: "invalid_choice")
            }
            guard let list = record["choices"]?.array, list.count >= 2, list.allSatisfy({ $0.string != nil }) else {
                throw RecordError(location, "\"choices\" should be a list of at least two strings, found \(record["choices"]!)",
                                  reason: "invalid_choice")
            }
            guard let answer = record["answer"]?.int else {
                throw RecordError(location, "\"answer\" should be the index of the right choice (an integer from 0), found "
                    + (record["answer"].map { "\($0)" } ?? "no answer field"), reason: "invalid_choice")
            }
            guard list.indices.contains(answer) else {
                throw RecordError(location, "\"answer\" is \(answer), out of range for \(list.count) choices (0 to \(list.count - 1)); "
                    + "answers count from 0", reason: "answer_out_of_range")
            }
            return EvalItem(id: id, content: .choice(question: question, choices: list.map { $0.string! }, answer: answer))
        }
    }
}
