import LatheIO

/// The form `ThreadLine` reads a thread's texts in: `ResponseText` for pair-prefs, which
/// writes them without decoding them, or `TopMembers.Value` for format-sft, which keeps where
/// they lie in the line.
protocol ThreadText {
    /// The question as the user turn is made of its title and body.
    associatedtype Prompt = Self
    /// The JSON string at `pos`, moving past it; nil for any other value or one left to the parser.
    init?(scanning scan: JSONScanner, _ pos: inout Int)
    /// The question as the user turn: its title, a blank line, its body (either alone when the
    /// other is empty), as `QAThread.prompt(title:body:)` makes it.
    static func prompt(title: Self, body: Self) -> Prompt
}

/// A thread's fields as `QAThread` has them, its texts (prompt, answers' bodies) read as `Text`.
struct ThreadLine<Text: ThreadText> {
    struct Answer {
        var body: Text
        var votes: Int
        var accepted: Bool
    }

    var id: String
    var source: String
    var prompt: Text.Prompt
    var answers: [Answer]
}

extension ThreadLine {
    /// The thread in a JSON line, read from its bytes without building a `JSONValue`: the fast
    /// path of `lathe-pair-prefs`. nil when the line is left to the parser, which then gives
    /// the verdict and any error message.
    ///
    /// Reads `id` (a non-empty string, or a number as written), `source` (a string or null),
    /// `question.title`/`body` and each answer's `body`, `score` (a plain integer of at most
    /// 18 digits) and `accepted` (only `true` counts, as `JSONValue.bool ?? false` has it);
    /// other members are scanned for validity and skipped. Anything else, including what
    /// `JSONScanner` leaves to the parser (escaped or non-ASCII keys, many keys), is nil.
    init?(line: UnsafeRawBufferPointer) {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let scan = JSONScanner(base: base, end: line.count)
        var pos = scan.skipWhitespace(0)
        guard pos < scan.end, base[pos] == UInt8(ascii: "{") else { return nil }
        var id: String?, source: String?, prompt: Text.Prompt?, answers: [Answer]?
        let complete = scan.members(&pos) { name, pos in
            if scan.key(name, is: "id") { return read(scan.recordID(&pos), into: &id) }
            if scan.key(name, is: "source") { return scan.literal("null", &pos) || read(scan.string(&pos), into: &source) }
            if scan.key(name, is: "question") { return read(Self.question(scan, &pos), into: &prompt) }
            if scan.key(name, is: "answers") { return read(Self.answers(scan, &pos), into: &answers) }
            return scan.skipValue(&pos, depth: 1) != nil
        }
        guard complete, scan.skipWhitespace(pos) == scan.end, let id, let prompt, let answers else { return nil }
        self.init(id: id, source: source ?? "thread", prompt: prompt, answers: answers)
    }

    /// The question object at `pos`, moving past it; nil unless its `title` and `body` are
    /// strings `Text` reads. `lathe-format-sft` reads it and `answers` in its own scan of the line.
    static func question(_ scan: JSONScanner, _ pos: inout Int) -> Text.Prompt? {
        guard pos < scan.end, scan.base[pos] == UInt8(ascii: "{") else { return nil }
        var title: Text?, body: Text?
        let complete = scan.members(&pos) { name, pos in
            if scan.key(name, is: "title") { return read(Text(scanning: scan, &pos), into: &title) }
            if scan.key(name, is: "body") { return read(Text(scanning: scan, &pos), into: &body) }
            return scan.skipValue(&pos, depth: 2) != nil
        }
        guard complete, let title, let body else { return nil }
        return Text.prompt(title: title, body: body)
    }

    static func answers(_ scan: JSONScanner, _ pos: inout Int) -> [Answer]? {
        guard pos < scan.end, scan.base[pos] == UInt8(ascii: "[") else { return nil }
        var answers: [Answer] = []
        answers.reserveCapacity(8)  // threads have a handful; spares the growth by 1, 2, 4
        let complete = scan.elements(&pos) { _, pos in
            guard let answer = answer(scan, &pos) else { return false }
            answers.append(answer)
            return true
        }
        return complete ? answers : nil
    }

    static func answer(_ scan: JSONScanner, _ pos: inout Int) -> Answer? {
        guard pos < scan.end, scan.base[pos] == UInt8(ascii: "{") else { return nil }
        var text: Text?, votes: Int?, accepted = false
        let complete = scan.members(&pos) { name, pos in
            if scan.key(name, is: "body") { return read(Text(scanning: scan, &pos), into: &text) }
            if scan.key(name, is: "score") { return read(scan.integer(&pos), into: &votes) }
            if scan.key(name, is: "accepted") {
                accepted = scan.literal("true", &pos)
                if accepted { return true }
            }
            return scan.skipValue(&pos, depth: 3) != nil
        }
        guard complete, let text, let votes else { return nil }
        return Answer(body: text, votes: votes, accepted: accepted)
    }
}

/// Keeps what a reader read in `slot`; false, which stops the walk, when it read nothing.
private func read<T>(_ value: T?, into slot: inout T?) -> Bool {
    slot = value
    return value != nil
}

/// The readers behind `ThreadLine`: each starts at a value and moves past it, or answers nil
/// for a value of another type or one left to the parser.
extension JSONScanner {
    /// A string's content as the parser decodes it.
    func string(_ pos: inout Int) -> String? {
        guard pos < end, base[pos] == UInt8(ascii: "\"") else { return nil }
        let start = pos
        guard let contents = scanString(&pos) else { return nil }
        return decodedString(start, pos, contents)
    }

    /// `recordID`'s reading: a non-empty string, or a number's text as written.
    func recordID(_ pos: inout Int) -> String? {
        guard pos < end else { return nil }
        guard base[pos] != UInt8(ascii: "\"") else {
            guard let id = string(&pos), !id.isEmpty else { return nil }
            return id
        }
        let start = pos
        guard base[pos] == UInt8(ascii: "-") || base[pos] &- UInt8(ascii: "0") < 10, scanNumber(&pos) != nil else { return nil }
        return String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
    }

    /// The integer `JSONNumber.int` reads, for a plain integer short enough that it cannot
    /// overflow; nil for the rest (fractions, exponents, 19 digits and more).
    func integer(_ pos: inout Int) -> Int? {
        guard pos < end, base[pos] == UInt8(ascii: "-") || base[pos] &- UInt8(ascii: "0") < 10 else { return nil }
        let start = pos
        guard scanNumber(&pos) == true else { return nil }
        let negative = base[start] == UInt8(ascii: "-")
        let digits = (negative ? start + 1 : start)..<pos
        guard digits.count <= 18 else { return nil }
        var value = 0
        for i in digits { value = value * 10 + Int(base[i] &- UInt8(ascii: "0")) }
        return negative ? -value : value
    }
}
