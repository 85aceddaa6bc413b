import LatheIO

/// What to do with HTML left in the text.
public enum HTMLPolicy: String, CaseIterable, Sendable {
    /// Decode entities and turn tags into text and Markdown (the default).
    case clean
    /// Drop the record as `html_remnants`.
    case drop
    /// Leave the text as it is.
    case keep
}

/// The form conversation records are written in.
public enum SFTStyle: String, CaseIterable, Sendable {
    /// `{id, messages, source}`, the form TRL, axolotl and `lathe-train` read.
    case messages
    /// TRL's standard `{id, prompt, completion, source}` with text; only single-turn examples fit.
    case promptCompletion = "prompt-completion"
}

/// Everything `lathe-format-sft` decides per record, from reading to the written record.
public struct SFTSettings: Sendable {
    public var reader = SFTReader()
    /// Added as the first turn of every conversation that has no system turn.
    public var system: String?
    public var html = HTMLPolicy.clean
    /// Assistant turns must have at least / at most this many characters (Unicode scalars).
    public var minChars = 1
    public var maxChars: Int?
    public var refusals: RefusalDetector?
    public var style = SFTStyle.messages
    /// Adds `text` and `assistant_spans` rendered with this template.
    public var template: ChatTemplate?
    /// With a token counter: conversations whose rendered text has more tokens are dropped, or
    /// with `truncate` lose whole earlier exchanges until they fit.
    public var maxTokens: Int?
    public var truncate = false
    /// With `--split`: each conversation's split, by a hash of its first user turn under
    /// `splitSeed`, decided where the record is made.
    public var split: SplitSpec?
    public var splitSeed: UInt64 = 0

    public init() {}
}

/// A conversation ready to write, with the keys the ordered part of the stage needs.
public struct FormattedExample: Sendable {
    /// The record as a JSON line (without its newline), serialised where it was made; it
    /// starts with its id, `{"id":"...",`.
    public var line: [UInt8]
    /// Identifies the (prompt, response) content for exact-duplicate removal.
    public var contentKey: ContentKey
    /// The position in `SFTSettings.split`'s names of the split the conversation lands in;
    /// nil without a split.
    public var split: Int?
    /// The id's JSON string in `line`, quotes included: the id travels in the line, not as a
    /// String of its own.
    let idJSON: Range<Int>

    init(line: [UInt8], contentKey: ContentKey, split: Int?) {
        let start = Self.idStart.utf8CodeUnitCount
        var end = start
        _ = line.withUnsafeBufferPointer { JSONScanner(base: $0.baseAddress!, end: $0.count).scanString(&end) }
        (self.line, self.contentKey, self.split, idJSON) = (line, contentKey, split, start..<end)
    }

    /// What the line starts with before the id's opening quote.
    static let idStart: StaticString = #"{"id":"#

    public var id: String { Self.decode(line[idJSON]) }

    /// The text of a JSON string written by `JSONWriter`, quotes included.
    static func decode(_ json: ArraySlice<UInt8>) -> String {
        json.withUnsafeBufferPointer { bytes in
            JSONScanner(base: bytes.baseAddress!, end: bytes.count).decodedString(0, bytes.count, .escapes)
        }
    }

    /// The record as a value, for a reader that wants its fields.
    public var record: JSONValue { (try? JSONParser.parse(line)) ?? .null }
}

/// 128 bits standing for a conversation's content; two different conversations share one with
/// probability about 2⁻¹²⁸.
public struct ContentKey: Hashable, Sendable {
    let a: UInt64
    let b: UInt64

    /// The role and content of every turn, in order: what two conversations must share to be
    /// equal.
    init(_ messages: [ChatMessage]) {
        var hasher = Hasher()
        for message in messages {
            hasher.add(message.role)
            hasher.add(message.content)
        }
        self = hasher.finish()
    }

    /// Feeds `Hash128.Stream` the parts of a conversation (each role, each content) as UTF-8,
    /// each ended by 0xFF, a byte UTF-8 never holds, so no two lists of parts feed the same
    /// bytes.
    struct Hasher {
        private var stream = Hash128.Stream()

        mutating func add(_ part: String) {
            var part = part
            part.withUTF8 { stream.append($0) }
            endPart()
        }

        mutating func add(_ part: StaticString) {
            stream.append(UnsafeRawBufferPointer(start: part.utf8Start, count: part.utf8CodeUnitCount))
            endPart()
        }

        /// Feeds bytes of a part, which may come in several pieces; `endPart` closes it.
        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            stream.append(bytes)
        }

        mutating func endPart() {
            withUnsafeBytes(of: UInt8(0xFF)) { stream.append($0) }
        }

        func finish() -> ContentKey {
            let hash = stream.finish()
            return ContentKey(a: hash.high, b: hash.low)
        }
    }

    private init(a: UInt64, b: UInt64) {
        self.a = a
        self.b = b
    }

    /// `prefix`, a dash and the key's 32 hex digits: the id of a
    /// record that has none.
    func id(prefix: String) -> String {
        var id: [UInt8] = []
        appendID(prefix: prefix, to: &id)
        return String(decoding: id, as: UTF8.self)
    }

    /// Appends the UTF-8 of `id(prefix:)`, which needs no escaping in JSON when `prefix` needs
    /// none.
    func appendID(prefix: String, to out: inout [UInt8]) {
        out.append(contentsOf: prefix.utf8)
        out.append(UInt8(ascii: "-"))
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { hex in
            for i in 0..<16 {
                hex[i] = Self.hexDigit(a >> UInt64(60 - 4 * i))
                hex[16 + i] = Self.hexDigit(b >> UInt64(60 - 4 * i))
            }
        }
        withUnsafeBytes(of: digits) { out.append(contentsOf: $0) }
    }

    /// The lowest four bits of `bits` as a lowercase hex digit.
    @inline(__always)
    private static func hexDigit(_ bits: UInt64) -> UInt8 {
        let nibble = UInt8(truncatingIfNeeded: bits & 0xF)
        return nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }}

/// The first record's id for each content key, the duplicate check of `lathe-format-sft`: a
/// `FirstSeenTable` keyed by its bits, which are already a hash.
public struct FirstWithContent {
    private var table = FirstSeenTable<Int32>()
    /// The ids' JSON strings one after another, each ending where `idEnds` says: one buffer
    /// rather than a String per record.
    private var ids: [UInt8] = []
    private var idEnds: [Int] = []

    public init() {}

    /// The id of the earlier record with the content of `example`; nil when there was none,
    /// and `example`'s id is noted as the first.
    public mutating func insert(_ example: FormattedExample) -> String? {
        let key = example.contentKey
        if let first = table.firstOrInsert(high: key.b, low: key.a, Int32(idEnds.count)) {
            let i = Int(first)
            return FormattedExample.decode(ids[(i == 0 ? 0 : idEnds[i - 1])..<idEnds[i]])
        }
        ids.append(contentsOf: example.line[example.idJSON])
        idEnds.append(ids.count)
        return nil
    }
}

/// Reads, cleans, renders and counts one record: the per-record part of `lathe-format-sft`,
/// safe to run on several threads at once.
public struct SFTFormatter: Sendable {
    public let settings: SFTSettings
    let countTokens: (@Sendable (String) -> Int)?

    /// `countTokens` gives the token count of a rendered text (from `--tokenizer`).
    public init(settings: SFTSettings, countTokens: (@Sendable (String) -> Int)? = nil) {
        self.settings = settings
        self.countTokens = countTokens
    }

    /// The record's conversation ready to write; throws `Dropped` with the cleaning rule that
    /// removed it, or `RecordError` for a record of the wrong shape.
    public func format(_ record: JSONValue, at location: SourceLocation) throws -> FormattedExample {
        try format(settings.reader.read(record, at: location))
    }

    /// `format(_:at:)` of the parsed line, made from its bytes (`SFTReader.read(line:at:)`);
    /// nil when the reader leaves the line to the parser.
    public func format(line: UnsafeRawBufferPointer, at location: SourceLocation,
                       maxDepth: Int = JSONParser.defaultMaxDepth) -> Result<FormattedExample, Dropped>? {
        guard let (members, format) = settings.reader.scan(line: line, maxDepth: maxDepth) else { return nil }
        if settings.writesTurnsAsRead {
            if format == .alpaca, let formatted = members.plainAlpaca(settings) { return .success(formatted) }
            if format == .thread, let result = members.plainThread(settings) { return result }
        }
        do throws(Dropped) {
            guard let example = try settings.reader.read(members, format: format, line: line, at: location) else { return nil }
            return .success(try self.format(example))
        } catch {
            return .failure(error)
        }
    }

    /// Everything after reading, the same for both readers: the system turn, cleaning,
    /// rendering and the written line.
    func format(_ example: SFTExample) throws(Dropped) -> FormattedExample {
        var example = example
        if let system = settings.system, example.messages.first?.role != "system" {
            example.messages.insert(ChatMessage(role: "system", content: system), at: 0)
            example.idKey = nil
        }
        if settings.html != .keep {
            for i in example.messages.indices {
                let cleaned = HTMLRemnants.clean(example.messages[i].content)
                guard cleaned != example.messages[i].content else { continue }
                if settings.html == .drop { throw Dropped("html_remnants", "turn \(i)") }
                example.messages[i].content = cleaned
                example.idKey = nil
            }
        }
        try check(example.messages)

        var rendered: RenderedChat?
        var tokens: Int?
        if let template = settings.template {
            let (fitted, chat, count) = try fit(example.messages, template)
            (rendered, tokens) = (chat, count)
            if fitted.count != example.messages.count {
                example.messages = fitted
                example.idKey = nil
            }
        }

        var object = JSONObjectWriter(capacity: 64 + 2 * example.messages.reduce(0) { $0 + $1.content.utf8.count }
                                          + 2 * (rendered?.text.utf8.count ?? 0))
        object.string("id", example.id)
        switch settings.style {
        case .messages:
            object.field("messages") { Self.writeMessages(example.messages, into: &$0) }
        case .promptCompletion:
            guard example.messages.count == 2 else {
                throw Dropped("not_single_turn", "\(example.messages.count) turns; --style prompt-completion writes one user turn and one answer")
            }
            object.string("prompt", example.messages[0].content)
            object.string("completion", example.messages[1].content)
        }
        object.string("source", example.source)
        if let rendered {
            object.string("text", rendered.text)
            object.value("assistant_spans", .array(rendered.assistantSpans.map {
                .array([.number(JSONNumber($0.lowerBound)), .number(JSONNumber($0.upperBound))])
            }))
            if let tokens { object.value("num_tokens", .number(JSONNumber(tokens))) }
        }
        let split = settings.split.map { spec in spec.assign(example.messages.first { $0.role == "user" }?.content ?? "", seed: settings.splitSeed) }
        return FormattedExample(line: object.finish(), contentKey: example.idKey ?? ContentKey(example.messages), split: split)
    }

    /// The cleaning rules, each a drop reason, in the order they are checked.
    func check(_ messages: [ChatMessage]) throws(Dropped) {
        if let i = messages.firstIndex(where: { $0.content.isBlank }) { throw Dropped("empty_turn", "turn \(i) is empty") }
        // An optional system turn first, then user and assistant alternating from the user.
        var expectUser = true
        for (i, message) in messages.enumerated() {
            if message.role == "system" && i == 0 { continue }
            let expected = expectUser ? "user" : "assistant"
            guard message.role == expected else { throw Dropped("roles_out_of_order", "turn \(i) is \(message.role), expected \(expected)") }
            expectUser.toggle()
        }
        guard messages.last?.role == "assistant" else { throw Dropped("no_final_assistant") }
        // A turn that is not blank has a character, so the default limits need no count.
        let counts = settings.minChars > 1 || settings.maxChars != nil
        for (i, message) in messages.enumerated() where message.role == "assistant" {
            if counts {
                let length = message.content.scalarCount
                if length < settings.minChars { throw Dropped("response_too_short", "turn \(i) has \(length) characters") }
                if let max = settings.maxChars, length > max { throw Dropped("response_too_long", "turn \(i) has \(length) characters") }
            }
            if let refusals = settings.refusals, let phrase = refusals.match(message.content) {
                throw Dropped("refusal", "turn \(i) says '\(phrase)'")
            }
        }
    }

    /// The conversation rendered, within `--max-tokens` when a counter is given: with
    /// `truncate`, the earliest user/assistant exchanges go first, whole, keeping the system
    /// turn and the last exchange.
    func fit(_ messages: [ChatMessage], _ template: ChatTemplate) throws(Dropped) -> ([ChatMessage], RenderedChat, Int?) {
        var messages = messages
        while true {
            let rendered = template.render(messages)
            guard let countTokens else { return (messages, rendered, nil) }
            let count = countTokens(rendered.text)
            guard let max = settings.maxTokens, count > max else { return (messages, rendered, count) }
            let first = messages.first?.role == "system" ? 1 : 0
            guard settings.truncate, messages.count - first > 2 else {
                throw Dropped("too_many_tokens", "\(count) tokens, more than --max-tokens \(max)")
            }
            messages.removeSubrange(first..<(first + 2))
        }
    }

    /// `[{"role": ..., "content": ...}, ...]`, as `JSONWriter` would write the message objects.
    static func writeMessages(_ messages: [ChatMessage], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, message) in messages.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeMessage(into: &out, role: { JSONWriter.writeString(message.role, into: &$0) },
                         content: { JSONWriter.writeString(message.content, into: &$0) })
        }
        out.append(UInt8(ascii: "]"))
    }

    /// One message object; `role` and `content` write theirs as JSON strings.
    static func writeMessage(into out: inout [UInt8], role: (inout [UInt8]) -> Void, content: (inout [UInt8]) -> Void) {
        out.append(contentsOf: #"{"role":"#.utf8)
        role(&out)
        out.append(contentsOf: #","content":"#.utf8)
        content(&out)
        out.append(UInt8(ascii: "}"))
    }
}
