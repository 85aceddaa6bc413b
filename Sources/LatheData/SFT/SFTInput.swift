import LatheIO

/// The input formats `lathe-format-sft` reads; `auto` recognises each record by its fields.
public enum SFTInputFormat: String, CaseIterable, Sendable {
    case auto
    /// Lathe threads: the question, then the accepted answer or the top-scored one.
    case thread
    /// `{instruction, input?, output, system?}`.
    case alpaca
    /// `{conversations: [{from, value}], system?}`.
    case sharegpt
    /// OpenAI / TRL `{messages: [{role, content}]}`.
    case messages
    /// TRL's `{prompt, completion}`, as strings or as message lists.
    case promptCompletion = "prompt-completion"
    /// Any record, through `--prompt-field` / `--response-field` / `--system-field`.
    case fields

    /// The format of `object` by its fields, most specific first; nil when none fits.
    static func detect(_ object: JSONObject) -> SFTInputFormat? {
        if QAThread.isThread(object) { return .thread }
        if object["conversations"] != nil { return .sharegpt }
        if object["messages"] != nil { return .messages }
        if object["instruction"] != nil { return .alpaca }
        if object["prompt"] != nil && object["completion"] != nil { return .promptCompletion }
        return nil
    }
}

/// Dotted paths for `--from fields`.
public struct FieldPaths: Sendable, Equatable {
    public var prompt: String
    public var response: String
    public var system: String?

    public init(prompt: String, response: String, system: String? = nil) {
        self.prompt = prompt
        self.response = response
        self.system = system
    }
}

/// A conversation read from any input format, before cleaning.
public struct SFTExample: Sendable, Equatable {
    public var id: String
    public var source: String
    public var messages: [ChatMessage]
    /// The content key of `messages` when the id was made from it (records with no id), kept
    /// so the formatter need not hash the same turns twice; nil once the turns change.
    var idKey: ContentKey?

    public init(id: String, source: String, messages: [ChatMessage]) {
        self.id = id
        self.source = source
        self.messages = messages
    }
}

/// Turns one input record of any supported format into a conversation.
public struct SFTReader: Sendable {
    public var format: SFTInputFormat = .auto
    public var fields: FieldPaths?
    /// Source written when the record names none (default: the input format's name).
    public var source: String?
    /// A thread's answer is used when it is accepted or has at least this score.
    public var minScore = 1

    public init() {}

    /// The conversation in `record`; throws `RecordError` for a record of the wrong shape and
    /// `Dropped` for one that is well formed but yields no example (a thread with no answers).
    public func read(_ record: JSONValue, at location: SourceLocation) throws -> SFTExample {
        var format = self.format
        if format == .auto {
            guard case .object(let object) = record else {
                throw RecordError(location, "expected a JSON object (a thread, alpaca, sharegpt, messages or prompt/completion record), found \(describe(record))")
            }
            guard let detected = fields != nil ? .fields : SFTInputFormat.detect(object) else {
                throw RecordError(location, "expected a thread {question, answers}, alpaca {instruction, output}, sharegpt {conversations}, messages {messages} or {prompt, completion} record, found \(describe(record)); name the fields with --prompt-field and --response-field")
            }
            format = detected
        }
        switch format {
        case .auto: fatalError("resolved above")
        case .thread: return try readThread(record, location)
        case .alpaca: return try readAlpaca(record, location)
        case .sharegpt: return try readTurns(record, location, kind: "sharegpt", key: "conversations")
        case .messages: return try readTurns(record, location, kind: "messages", key: "messages")
        case .promptCompletion: return try readPromptCompletion(record, location)
        case .fields: return try readFields(record, location)
        }
    }

    private func example(_ fields: Fields, _ messages: [ChatMessage], format: String) throws -> SFTExample {
        example(id: recordID(fields.object), source: try fields.optionalString("source"), messages, format: format)
    }

    /// The example both readers make: `source` is the record's own, `id` its `recordID`; a
    /// record without an id is named by a hash of its turns.
    func example(id: String?, source: String?, _ messages: [ChatMessage], format: String) -> SFTExample {
        let source = source ?? self.source ?? format
        if let id { return SFTExample(id: id, source: source, messages: messages) }
        let key = ContentKey(messages)
        var example = SFTExample(id: key.id(prefix: format), source: source, messages: messages)
        example.idKey = key
        return example
    }

    private func readThread(_ record: JSONValue, _ location: SourceLocation) throws -> SFTExample {
        let thread = try QAThread(record, at: location)
        return try example(thread, source: try Fields(record, location, kind: "thread").optionalString("source"))
    }

    /// The thread's question and the answer chosen for it: the accepted one, else the top-scored
    /// one of at least `minScore` (the first of equals). `source` is the record's own.
    func example(_ thread: QAThread, source: String?) throws(Dropped) -> SFTExample {
        let answer = thread.answers[try chosenAnswer(thread.answers.count, score: { thread.answers[$0].score },
                                                     accepted: { thread.answers[$0].accepted })]
        return SFTExample(id: thread.id, source: source ?? self.source ?? "thread",
                          messages: [ChatMessage(role: "user", content: thread.prompt), ChatMessage(role: "assistant", content: answer.body)])
    }

    /// Which of a thread's `count` answers its conversation uses: the accepted one, else the
    /// top-scored one of at least `minScore` (the first of equals); throws the drop when none.
    func chosenAnswer(_ count: Int, score: (Int) -> Int, accepted: (Int) -> Bool) throws(Dropped) -> Int {
        if count == 0 { throw Dropped("no_answers") }
        if let i = (0..<count).first(where: accepted) { return i }
        var best: Int?
        for i in 0..<count where score(i) >= minScore && best.map({ score(i) > score($0) }) ?? true { best = i }
        guard let best else { throw Dropped("no_answer_above_min_score", "no accepted answer and none scored \(minScore) or more") }
        return best
    }

    private func readAlpaca(_ record: JSONValue, _ location: SourceLocation) throws -> SFTExample {
        let fields = try Fields(record, location, kind: "alpaca")
        let instruction = try fields.string("instruction")
        let input = try fields.optionalString("input")
        let output = try fields.string("output")
        let messages = Self.alpaca(system: try fields.optionalString("system"), user: Self.alpacaUser(instruction: instruction, input: input),
                                   output: output)
        return try example(fields, messages, format: "alpaca")
    }

    /// An Alpaca record's user turn: the instruction, then its input after a blank line.
    static func alpacaUser(instruction: String, input: String?) -> String {
        guard let input, !input.isEmpty else { return instruction }
        return instruction + "\n\n" + input
    }

    static func alpaca(system: String?, user: String, output: String) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        messages.reserveCapacity(3)
        if let system, !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: user))
        messages.append(ChatMessage(role: "assistant", content: output))
        return messages
    }

    /// ShareGPT `{from, value}` and OpenAI `{role, content}` turns, with each other's names accepted.
    private func readTurns(_ record: JSONValue, _ location: SourceLocation, kind: String, key: String, format: String? = nil) throws -> SFTExample {
        let fields = try Fields(record, location, kind: kind)
        var messages: [ChatMessage] = []
        if let system = try fields.optionalString("system"), !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        for (i, item) in try fields.array(key).enumerated() {
            guard case .object(let turn) = item else { throw fields.error("\(key).\(i)", expected: "a turn object", found: item) }
            guard let speaker = (turn["from"] ?? turn["role"])?.string else {
                throw fields.error("\(key).\(i).\(kind == "sharegpt" ? "from" : "role")", expected: "a string", found: turn["from"] ?? turn["role"])
            }
            guard let content = (turn["value"] ?? turn["content"])?.string else {
                throw fields.error("\(key).\(i).\(kind == "sharegpt" ? "value" : "content")", expected: "a string", found: turn["value"] ?? turn["content"])
            }
            guard let role = Self.role(speaker) else { throw Dropped("unsupported_role", "turn \(i) has role '\(speaker)'") }
            messages.append(ChatMessage(role: role, content: content))
        }
        return try example(fields, messages, format: format ?? kind)
    }

    /// Speaker names in the wild mapped to the three roles Lathe trains on; tool and function
    /// turns have no faithful plain-text form, so they are not guessed at.
    static func role(_ speaker: String) -> String? {
        switch speaker.lowercased() {
        case "system": "system"
        case "user", "human", "prompter", "question": "user"
        case "assistant", "gpt", "chatgpt", "bard", "bing", "model", "bot", "answer": "assistant"
        default: nil
        }
    }

    private func readPromptCompletion(_ record: JSONValue, _ location: SourceLocation) throws -> SFTExample {
        let fields = try Fields(record, location, kind: "prompt/completion")
        let prompt = fields.object["prompt"], completion = fields.object["completion"]
        if let p = prompt?.string, let c = completion?.string {
            return try example(fields, [ChatMessage(role: "user", content: p), ChatMessage(role: "assistant", content: c)], format: "prompt-completion")
        }
        guard prompt?.array != nil else { throw fields.error("prompt", expected: "a string or a list of messages", found: prompt) }
        guard completion?.array != nil else { throw fields.error("completion", expected: "a list of messages like the prompt", found: completion) }
        let p = try readTurns(record, location, kind: "prompt/completion", key: "prompt", format: "prompt-completion")
        let c = try readTurns(record, location, kind: "prompt/completion", key: "completion", format: "prompt-completion")
        return SFTExample(id: p.id, source: p.source, messages: p.messages + c.messages)
    }

    private func readFields(_ record: JSONValue, _ location: SourceLocation) throws -> SFTExample {
        guard let paths = fields else { throw RecordError(location, "--from fields needs --prompt-field and --response-field") }
        let fields = try Fields(record, location, kind: "input")
        var messages: [ChatMessage] = []
        if let path = paths.system {
            let system = try fields.string(path)
            if !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        }
        messages.append(ChatMessage(role: "user", content: try fields.string(paths.prompt)))
        messages.append(ChatMessage(role: "assistant", content: try fields.string(paths.response)))
        return try example(fields, messages, format: "fields")
    }
}
