import LatheData
import LatheIO
import Testing

private let here = SourceLocation(file: "test.jsonl", line: 1)

/// Random JSON lines of every shape `lathe-format-sft` meets, written by hand rather than by
/// `JSONWriter` so the syntax varies too: escapes (`\u`, surrogate pairs, `\/`), non-ASCII and
/// HTML text, empty and blank fields, ids of every type, extra and nested keys, wrong types,
/// duplicate, escaped and non-ASCII keys, turns of odd roles, and broken JSON.
private struct LineGenerator {
    var random: SplitMix64

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    /// The JSON text of a string, quotes included; with `broken`, sometimes not valid JSON.
    mutating func string(broken: Bool = true) -> String {
        var pieces: [String] = []
        for _ in 0..<Int(random.next() % 6) {
            pieces.append(pick([
                "plain words", "Hello", " ", "  ", "\\n", "\\t", "\\\"quoted\\\"", "back\\\\slash", "\\/", "caf\\u00e9", "café",
                "東京", "данные", "😀", "\\ud83d\\ude00", "\\u0041", "\\u2003", "\u{2003}", "<p>para</p>", "&amp;", "&lt;b&gt;",
                "<br>", "<pre><code>x &lt; y</code></pre>", "a < b", "As an AI language model", "I'm sorry, but I cannot",
                "\\u0000", "e\\u0301", "e\u{301}", "\u{212A}",
            ]))
        }
        if broken && chance(3) { pieces.append(pick(["\\x", "\\ud800", "\u{1}", "\\u12", "\\udc00\\ud800"])) }
        return "\"" + pieces.joined() + "\""
    }

    mutating func scalar() -> String {
        pick(["null", "true", "false", "0", "-12", "3.5", "1e3", "42", string(), "[]", "{}"])
    }

    mutating func nested(_ depth: Int) -> String {
        guard depth > 0, chance(60) else { return scalar() }
        if chance(50) { return "[" + (0..<Int(random.next() % 3)).map { _ in nested(depth - 1) }.joined(separator: ", ") + "]" }
        return "{" + (0..<Int(random.next() % 3)).map { i in "\"k\(i)\": " + nested(depth - 1) }.joined(separator: ",") + "}"
    }

    /// A text field's value: mostly a string, sometimes another type or null.
    mutating func text() -> String { chance(92) ? string() : scalar() }

    mutating func turn() -> String {
        let role = pick(["user", "assistant", "system", "human", "gpt", "Human", "GPT", "USER", "tool", "function", "bing", "chatgpt", "ｕser"])
        let speakerKey = pick(["role", "from", "role", "from", "speaker"])
        let textKey = pick(["content", "value", "content", "value", "text"])
        var members = ["\"\(speakerKey)\": " + (chance(95) ? "\"\(role)\"" : scalar()), "\"\(textKey)\": " + text()]
        if chance(10) { members.append("\"weight\": " + scalar()) }
        if chance(5) { members.append("\"\(speakerKey)\": \"user\"") }
        if chance(5) { members.append("\"role\": \"assistant\"") }
        if chance(50) { members.reverse() }
        return chance(97) ? "{" + members.joined(separator: ", ") + "}" : scalar()
    }

    mutating func turns() -> String {
        guard chance(95) else { return scalar() }
        var items: [String] = []
        let count = Int(random.next() % 5)
        for i in 0..<count {
            // Mostly user/assistant alternating, so many records pass the cleaning rules.
            items.append(chance(70) ? "{\"role\": \"\(i % 2 == 0 ? "user" : "assistant")\", \"content\": \(string())}" : turn())
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    mutating func line() -> String {
        var members: [String] = []
        switch random.next() % 6 {
        case 0:
            members = ["\"instruction\": " + text(), "\"output\": " + text()]
            if chance(60) { members.append("\"input\": " + (chance(40) ? "\"\"" : text())) }
        case 1:
            members = ["\"conversations\": " + turns()]
        case 2:
            members = ["\"messages\": " + turns()]
        case 3:
            members = ["\"prompt\": " + (chance(85) ? text() : turns()), "\"completion\": " + (chance(85) ? text() : turns())]
        case 4:
            members = ["\"question\": {\"title\": \(text()), \"body\": \(text())}",
                       "\"answers\": [{\"body\": \(text()), \"score\": 3, \"accepted\": \(pick(["true", "false"]))}]"]
        default:
            members = ["\"text\": " + text()]
            if chance(30) { members.append("\"instruction\": " + text()) }
        }
        if chance(50) { members.append("\"id\": " + pick(["\"r1\"", "\"\"", "7", "-0", "12.50", "1E+2", "null", "true", "[1]", "{\"a\": 1}", string()])) }
        if chance(30) { members.append("\"source\": " + (chance(80) ? string() : scalar())) }
        if chance(25) { members.append("\"system\": " + pick(["\"\"", "\"   \"", "null", string(), scalar()])) }
        if chance(20) { members.append("\"meta\": " + nested(3)) }
        if chance(4) { members.append(members[Int(random.next() % UInt64(members.count))]) }
        if chance(3) { members.append("\"inp\\u0075t\": \"escaped key\"") }
        if chance(3) { members.append("\"tëxt\": \"non-ASCII key\"") }
        if chance(3) { members.append("\"messages\": null") }
        if chance(2) { members.append(contentsOf: (0..<16).map { "\"x\($0)\": 1" }) }
        var order = members
        for i in order.indices.reversed() { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        let object = "{" + order.joined(separator: pick([",", ", ", " ,\t"])) + "}"
        switch random.next() % 40 {
        case 0: return "  " + object + " "
        case 1: return object + " x"
        case 2: return "[" + object + "]"
        case 3: return String(object.dropLast())
        default: return object
        }
    }
}

@Suite struct SFTLineReaderTests {
    /// The readers and formatters compared: every input format, and the settings that change
    /// what is written after reading.
    static let settings: [SFTSettings] = {
        var all: [SFTSettings] = []
        for format in SFTInputFormat.allCases where format != .fields {
            var settings = SFTSettings()
            settings.reader.format = format
            all.append(settings)
        }
        var named = SFTSettings()
        named.reader.source = "named"
        named.system = "Be brief."
        named.html = .drop
        named.template = .chatml
        named.split = try! SplitSpec(parsing: "train=0.5,test=0.5")
        named.splitSeed = 3
        all.append(named)
        var limited = SFTSettings()
        limited.minChars = 3
        limited.maxChars = 60
        limited.html = .keep
        limited.refusals = RefusalDetector()
        limited.style = .promptCompletion
        all.append(limited)
        return all
    }()

    @Test func lineReaderEqualsTheParsersPathOrLeavesTheLine() throws {
        var generator = LineGenerator(random: SplitMix64(seed: 5))
        var answered = 0, written = 0, parsed = 0, total = 0
        for _ in 0..<3000 {
            let line = generator.line()
            let record = try? JSONParser.parse(line)
            if record != nil { parsed += 1 }
            for settings in Self.settings {
                total += 1
                let formatter = SFTFormatter(settings: settings)
                let fast = Array(line.utf8).withUnsafeBytes { formatter.format(line: $0, at: here) }
                let example = Array(line.utf8).withUnsafeBytes { bytes in Result { try settings.reader.read(line: bytes, at: here) } }
                guard let fast else {
                    if case .success(.some) = example { Issue.record("the reader answered but the formatter did not: \(line)") }
                    if case .failure = example { Issue.record("the reader dropped but the formatter did not: \(line)") }
                    continue
                }
                answered += 1
                guard let record else {
                    Issue.record("the line reader answered for a line the parser rejects: \(line)")
                    continue
                }
                let slow = Result { try formatter.format(record, at: here) }
                switch (fast, slow) {
                case (.success(let a), .success(let b)):
                    written += 1
                    #expect(a.line == b.line, "\(line)\n\(String(decoding: a.line, as: UTF8.self))\n\(String(decoding: b.line, as: UTF8.self))")
                    #expect(a.id == b.id && a.contentKey == b.contentKey && a.split == b.split, "\(line)")
                case (.failure(let a), .failure(let b)):
                    #expect(a == b as? Dropped, "\(line): \(a) vs \(b)")
                default:
                    Issue.record("\(line): line reader \(fast), parser \(slow)")
                }
                let read = Result { try settings.reader.read(record, at: here) }
                switch (example, read) {
                case (.success(let a?), .success(let b)): #expect(a == b, "\(line)")
                case (.failure(let a), .failure(let b)): #expect(a as? Dropped == b as? Dropped, "\(line)")
                default: Issue.record("\(line): line reader \(example), parser \(read)")
                }
            }
        }
        // Not a vacuous comparison: most lines are valid, and the line reader takes many of them
        // (most settings force a format that most lines are not), and many of those pass the
        // cleaning rules and are compared byte for byte.
        #expect(parsed > 2000)
        #expect(answered > total / 8 && written > 500, "the line reader answered \(answered) of \(total), wrote \(written)")
    }

    @Test func handWrittenLinesTheReaderMustLeaveOrRead() throws {
        let reader = SFTReader()
        func read(_ line: String) -> SFTExample? {
            Array(line.utf8).withUnsafeBytes { try? reader.read(line: $0, at: here) }
        }
        let alpaca = read(#"{"instruction": "Add", "input": "2 and 2", "output": "4", "id": 17, "system": "Be exact."}"#)
        #expect(alpaca == SFTExample(id: "17", source: "alpaca", messages: [
            ChatMessage(role: "system", content: "Be exact."), ChatMessage(role: "user", content: "Add\n\n2 and 2"),
            ChatMessage(role: "assistant", content: "4"),
        ]))
        let shareGPT = read(#"{"id": "s\u00e9", "source": null, "conversations": [{"from": "Human", "value": "Hi \ud83d\ude00"}, {"value": "Hello\/there", "from": "gpt"}]}"#)
        #expect(shareGPT == SFTExample(id: "sé", source: "sharegpt", messages: [
            ChatMessage(role: "user", content: "Hi 😀"), ChatMessage(role: "assistant", content: "Hello/there"),
        ]))
        // `from` present but null is not a fallback to `role`; the parser's path reports it.
        #expect(read(#"{"messages": [{"from": null, "role": "user", "content": "Hi"}]}"#) == nil)
        #expect(read(#"{"messages": [{"role": "tool", "content": "Hi"}]}"#) == nil)
        #expect(read(#"{"instruction": "a", "output": "b", "output": "c"}"#) == nil)
        #expect(read(#"{"instruction": "a", "outp\u0075t": "b"}"#) == nil)
        #expect(read(#"{"instruction": "a", "output": 4}"#) == nil)
        #expect(read(#"{"instruction": "a", "output": "b"} {}"#) == nil)
        #expect(read(#"{"prompt": [{"role": "user", "content": "a"}], "completion": [{"role": "assistant", "content": "b"}]}"#) == nil)
        #expect(read(#"{"instruction": "a", "output": "b", "meta": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#) == nil)
        // An empty-string id is none: the record is named by its turns, as the parser's path names it.
        let unnamed = read(#"{"id": "", "prompt": "a", "completion": "b"}"#)
        let parsed = try reader.read(JSONParser.parse(#"{"id": "", "prompt": "a", "completion": "b"}"#), at: here)
        #expect(unnamed == parsed && parsed.id.hasPrefix("prompt-completion-"))
    }
}

@Suite struct FirstWithContentTests {
    /// The table answers as a dictionary of first ids does, across its growth from 1024 slots.
    @Test func answersAsADictionaryDoes() throws {
        let formatter = SFTFormatter(settings: SFTSettings())
        var table = FirstWithContent()
        var reference: [ContentKey: String] = [:]
        var random = SplitMix64(seed: 9)
        for i in 0..<4000 {
            let record: JSONValue = ["id": .string("r\(i)"), "instruction": .string("question \(random.next() % 1500)"), "output": "answer"]
            let example = try formatter.format(record, at: SourceLocation(file: "t.jsonl", line: i + 1))
            let first = table.insert(example)
            #expect(first == reference[example.contentKey], "record \(i)")
            if reference[example.contentKey] == nil { reference[example.contentKey] = example.id }
        }
        #expect(reference.count > 1000)
    }
}
