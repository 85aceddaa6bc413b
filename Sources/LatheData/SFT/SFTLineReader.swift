import LatheIO

extension SFTReader {
    /// The conversation in a JSON line, read from its bytes without building a `JSONValue`:
    /// the fast path of `lathe-format-sft`.
    ///
    /// nil whenever it is not certain (a record of the wrong shape, escaped or non-ASCII keys,
    /// duplicate keys, a field of an unexpected type, a turn of a role Lathe does not train,
    /// `--from fields`): the parser's path (`read(_:at:)`) then gives the verdict and any error.
    /// An example it returns equals what that path makes of the same line, and it throws the
    /// `Dropped` that path would throw for a thread with no answer to use.
    public func read(line: UnsafeRawBufferPointer, at location: SourceLocation,
                     maxDepth: Int = JSONParser.defaultMaxDepth) throws(Dropped) -> SFTExample? {
        guard let (members, format) = scan(line: line, maxDepth: maxDepth) else { return nil }
        return try read(members, format: format, line: line, at: location)
    }

    /// The line's top-level members and the format they are read in; nil when the line is
    /// left to the parser.
    @inline(__always)  // spares copying the members out and back
    func scan(line: UnsafeRawBufferPointer, maxDepth: Int) -> (TopMembers, SFTInputFormat)? {
        guard fields == nil, let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let scan = JSONScanner(base: base, end: line.count, maxDepth: maxDepth)
        guard let members = TopMembers.scan(scan) else { return nil }
        guard format == .auto else { return (members, format) }
        return members.format.map { (members, $0) }
    }

    /// `read(line:at:)` of a scanned line.
    func read(_ members: TopMembers, format: SFTInputFormat, line: UnsafeRawBufferPointer,
              at location: SourceLocation) throws(Dropped) -> SFTExample? {
        if format == .thread {
            guard let thread = members.thread else { return nil }
            let source: String?
            do { source = try members.optionalString(members.source) } catch { return nil }
            return try example(thread, source: source)
        }
        do throws(Unsure) {
            switch format {
            case .auto, .fields, .thread:
                return nil
            case .alpaca:
                let messages = Self.alpaca(system: try members.optionalString(members.system), user: try members.alpacaUser(),
                                           output: try members.string(members.output))
                return try example(members, messages, format: "alpaca")
            case .sharegpt:
                return try example(members, try members.turns(members.conversations), format: "sharegpt")
            case .messages:
                return try example(members, try members.turns(members.messages), format: "messages")
            case .promptCompletion:
                let prompt = try members.string(members.prompt), completion = try members.string(members.completion)
                return try example(members, [ChatMessage(role: "user", content: prompt), ChatMessage(role: "assistant", content: completion)],
                                   format: "prompt-completion")
            }
        } catch {
            return nil
        }
    }

    private func example(_ members: TopMembers, _ messages: [ChatMessage], format: String) throws(Unsure) -> SFTExample {
        example(id: members.recordID, source: try members.optionalString(members.source), messages, format: format)
    }
}

/// A field the line reader cannot be sure of: the parser's path decides.
struct Unsure: Error {}

/// Where the members of a record's top-level object that some input format reads lie in its
/// line, found in one pass that also checks the whole line is valid JSON.
struct TopMembers {
    let scan: JSONScanner
    var id, source, system: Value?
    var instruction, input, output: Value?
    var conversations, messages, prompt, completion: Value?
    /// Whether the record has these members, of any type: together they make it a thread.
    var hasQuestion = false, hasAnswers = false
    /// A thread's question and answers as `ThreadLine` reads them, read in the same pass; nil
    /// when the member is missing or of a shape left to the parser.
    var question: Question?
    var answers: [ThreadLine<Value>.Answer]?

    struct Value {
        var start: Int
        var end: Int
        var contents: JSONScanner.Contents
    }

    struct Question {
        var title: Value
        var body: Value
    }

    private init(scan: JSONScanner) {
        self.scan = scan
    }

    /// nil when the line is not one JSON object the scanner is certain of.
    static func scan(_ scan: JSONScanner) -> TopMembers? {
        var members = TopMembers(scan: scan)
        var pos = scan.skipWhitespace(0)
        guard pos < scan.end, scan.base[pos] == UInt8(ascii: "{"), scan.maxDepth >= 1 else { return nil }
        // A thread's answer objects lie at depth 3: below that limit they are only skipped.
        let readsThreads = scan.maxDepth >= 3
        let complete = scan.members(&pos) { key, valuePos in
            if readsThreads && members.readThreadPart(key, &valuePos) { return true }
            let start = valuePos
            guard let contents = scan.skipValue(&valuePos, depth: 1) else { return false }
            members.note(key, Value(start: start, end: valuePos, contents: contents))
            return true
        }
        guard complete, scan.skipWhitespace(pos) == scan.end else { return nil }
        return members
    }

    /// Reads the member `key` at `pos` when it is a thread's `question` or `answers` of the
    /// shape `ThreadLine` reads, moving `pos` past it; false, `pos` unmoved, for any other.
    private mutating func readThreadPart(_ key: Range<Int>, _ pos: inout Int) -> Bool {
        var end = pos
        if scan.key(key, is: "question") {
            hasQuestion = true
            question = ThreadLine<Value>.question(scan, &end)
            guard question != nil else { return false }
        } else if scan.key(key, is: "answers") {
            hasAnswers = true
            answers = ThreadLine<Value>.answers(scan, &end)
            guard answers != nil else { return false }
        } else {
            return false
        }
        pos = end
        return true
    }

    /// Notes where the member `key` lies when it is one of these; any other is only checked.
    private mutating func note(_ key: Range<Int>, _ value: Value) {
        if scan.key(key, is: "id") { id = value } else if scan.key(key, is: "source") { source = value } else if scan.key(key, is: "system") { system = value }
        else if scan.key(key, is: "instruction") { instruction = value } else if scan.key(key, is: "input") { input = value }
        else if scan.key(key, is: "output") { output = value } else if scan.key(key, is: "conversations") { conversations = value }
        else if scan.key(key, is: "messages") { messages = value } else if scan.key(key, is: "prompt") { prompt = value }
        else if scan.key(key, is: "completion") { completion = value } else if scan.key(key, is: "question") { hasQuestion = true }
        else if scan.key(key, is: "answers") { hasAnswers = true }
    }

    /// The format `SFTInputFormat.detect` gives the parsed record: a member counts when present,
    /// even as null.
    var format: SFTInputFormat? {
        if hasQuestion && hasAnswers { return .thread }
        if conversations != nil { return .sharegpt }
        if messages != nil { return .messages }
        if instruction != nil { return .alpaca }
        if prompt != nil && completion != nil { return .promptCompletion }
        return nil
    }

    /// The record's id as `recordID` reads it: a non-empty string, or a number's digits as written.
    var recordID: String? {
        guard let value = id else { return nil }
        switch scan.base[value.start] {
        case UInt8(ascii: "\""):
            let text = decoded(value)
            return text.isEmpty ? nil : text
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return String(decoding: UnsafeBufferPointer(start: scan.base + value.start, count: value.end - value.start), as: UTF8.self)
        default:
            return nil
        }
    }

    /// The thread `ThreadLine` reads, from the members read in the scan; nil when the line is
    /// left to the parser.
    var thread: QAThread? {
        guard let id = recordID, let question, let answers else { return nil }
        let source: String?
        do { source = try optionalString(self.source) } catch { return nil }
        return QAThread(id: id, source: source ?? "thread", prompt: QAThread.prompt(title: decoded(question.title), body: decoded(question.body)),
                        answers: answers.map { QAThread.Answer(body: decoded($0.body), score: $0.votes, accepted: $0.accepted) })
    }

    func string(_ value: Value?) throws(Unsure) -> String {
        decoded(try stringValue(value))
    }

    /// nil for a member that is missing or null.
    func optionalString(_ value: Value?) throws(Unsure) -> String? {
        guard let value, scan.base[value.start] != UInt8(ascii: "n") else { return nil }
        return try string(value)
    }

    private func stringValue(_ value: Value?) throws(Unsure) -> Value {
        guard let value, scan.base[value.start] == UInt8(ascii: "\"") else { throw Unsure() }
        return value
    }

    /// `SFTReader.alpacaUser` of the instruction and input members, made in one allocation
    /// when neither has escapes (an empty input is `""`: no escape stands for nothing).
    func alpacaUser() throws(Unsure) -> String {
        let instruction = try stringValue(instruction)
        guard let input, scan.base[input.start] != UInt8(ascii: "n") else { return decoded(instruction) }
        let inputValue = try stringValue(input)
        if inputValue.end - inputValue.start == 2 { return decoded(instruction) }
        guard !instruction.contents.contains(.escapes), !inputValue.contents.contains(.escapes) else {
            return SFTReader.alpacaUser(instruction: decoded(instruction), input: decoded(inputValue))
        }
        let first = raw(instruction), second = raw(inputValue)
        return String(unsafeUninitializedCapacity: first.count + 2 + second.count) { out in
            _ = UnsafeMutableBufferPointer(rebasing: out[..<first.count]).initialize(fromContentsOf: first)
            out[first.count] = 0x0A
            out[first.count + 1] = 0x0A
            _ = UnsafeMutableBufferPointer(rebasing: out[(first.count + 2)...]).initialize(fromContentsOf: second)
            return first.count + 2 + second.count
        }
    }

    /// The bytes between the quotes of the string `value`.
    func raw(_ value: Value) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: scan.base + value.start + 1, count: value.end - value.start - 2)
    }

    /// The string the parser makes of the scanned string `value`: its bytes, escapes decoded.
    func decoded(_ value: Value) -> String {
        scan.decodedString(value.start, value.end, value.contents)
    }

    /// The `system` turn, then the ShareGPT `{from, value}` or OpenAI `{role, content}` turns
    /// of the array `value`, read as `SFTReader.readTurns` reads them.
    func turns(_ value: Value?) throws(Unsure) -> [ChatMessage] {
        guard let value, scan.base[value.start] == UInt8(ascii: "[") else { throw Unsure() }
        var messages: [ChatMessage] = []
        if let system = try optionalString(system), !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        var pos = value.start
        var certain = true
        _ = scan.elements(&pos) { _, turnPos in
            guard let turn = turn(&turnPos) else {
                certain = false
                return false
            }
            messages.append(turn)
            return true
        }
        guard certain else { throw Unsure() }
        return messages
    }

    /// The turn object at `pos`, moving `pos` past it; nil when its speaker or text is not a
    /// string or its speaker names no role Lathe trains.
    private func turn(_ pos: inout Int) -> ChatMessage? {
        guard scan.base[pos] == UInt8(ascii: "{") else { return nil }
        var from, role, text, content: Value?
        let complete = scan.members(&pos) { key, valuePos in
            let start = valuePos
            guard let contents = scan.skipValue(&valuePos, depth: 3) else { return false }
            let value = Value(start: start, end: valuePos, contents: contents)
            if scan.key(key, is: "from") { from = value } else if scan.key(key, is: "role") { role = value }
            else if scan.key(key, is: "value") { text = value } else if scan.key(key, is: "content") { content = value }
            return true
        }
        guard complete, let speaker = try? string(from ?? role), let role = SFTReader.role(speaker),
              let content = try? string(text ?? content) else { return nil }
        return ChatMessage(role: role, content: content)
    }
}

extension TopMembers.Value: ThreadText {
    init?(scanning scan: JSONScanner, _ pos: inout Int) {
        let start = pos
        guard pos < scan.end, scan.base[pos] == UInt8(ascii: "\""), let contents = scan.scanString(&pos) else { return nil }
        self.init(start: start, end: pos, contents: contents)
    }

    static func prompt(title: Self, body: Self) -> TopMembers.Question { TopMembers.Question(title: title, body: body) }
}
