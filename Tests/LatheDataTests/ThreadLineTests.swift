@testable import LatheData
import LatheIO
import Testing

private let here = SourceLocation(file: "threads.jsonl", line: 1)

/// Seeded random thread lines of every shape the byte-level reader meets: escapes (`\u`,
/// surrogate pairs), non-ASCII and HTML text, ids of every type, extra and nested members,
/// wrong types, duplicate, escaped and non-ASCII keys, scores written every way JSON allows
/// and some it does not, `accepted` missing or not a bool, empty answers, broken syntax.
/// `plain` says the line has nothing the reader may leave to the parser.
struct ThreadLineGenerator {
    var random: SplitMix64
    /// Whether the line being made has something the reader may leave to the parser.
    var odd = false
    /// The chance that a text is made of plain pieces only (no escape or HTML), which the
    /// plain path of `lathe-format-sft` writes as they lie.
    var plainTexts = 0.0
    /// Scores are drawn from `-20..<(scoreRange - 20)`: a small range makes ties.
    var scoreRange: UInt64 = 200

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func chance(_ p: Double) -> Bool { random.nextOpenUnitDouble() < p }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    /// A JSON string literal, with the pieces text is made of in threads.
    mutating func text() -> String {
        let pieces = [
            "word", "Swift", " ", "  ", "café", "naïve", "東京", "😀", "e\u{301}", #"\""#, #"\\"#, #"\/"#, #"\n"#, #"\t"#,
            #"\r\n"#, #"\u00e9"#, #"\u6771"#, #"\ud83d\ude00"#, #"\u0000"#, #"\b\f"#, "<p>a &amp; b</p>", "<code>x &lt; y</code>",
            "a < b", "{", "}", "[", "]", ",", ":", "true", "null", "123",
        ]
        let plain = plainTexts > 0 && chance(plainTexts)
        var out = "\""
        for _ in 0..<Int(random.next() % 12) { out += plain ? pick(Self.plainPieces) : pick(pieces) }
        return out + "\""
    }

    static let plainPieces = ["word", "Swift", " ", "  ", "café", "naïve", "東京", "😀", "e\u{301}", "\u{7F}", "\u{2028}", "{", "}", ",", "123"]

    /// A value that may be anything, nested a little.
    mutating func anyValue(depth: Int = 0) -> String {
        switch random.next() % (depth > 2 ? 5 : 7) {
        case 0: return text()
        case 1: return pick(["0", "-1", "3.25", "1e9", "-0.5E-3", "12345678901234567890"])
        case 2: return pick(["true", "false"])
        case 3: return "null"
        case 4: return text()
        case 5: return "[" + (0..<Int(random.next() % 3)).map { _ in anyValue(depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            return "{" + (0..<Int(random.next() % 3)).map { "\"x\($0)\": " + anyValue(depth: depth + 1) }.joined(separator: ", ") + "}"
        }
    }

    /// A value usually of the expected kind (`good`), sometimes a wrong one (and the line odd).
    mutating func maybeWrong(_ good: String) -> String {
        guard chance(0.03) else { return good }
        odd = true
        return pick(["null", "true", "7", "[]", "{}", "\"7\"", "1.5"])
    }

    /// An object's members in a random order, with extras, and now and then a duplicate,
    /// escaped or non-ASCII key, or one missing member.
    mutating func object(_ members: [(key: String, value: String)], required: Set<String>) -> String {
        var all = members.filter { member in
            guard required.contains(member.key), chance(0.03) else { return true }
            odd = true
            return false
        }
        for i in 0..<Int(random.next() % 3) { all.append(("extra\(i)", anyValue())) }
        if chance(0.02), let first = all.first {
            odd = true
            all.append((first.key, anyValue()))
        }
        if chance(0.02), let i = all.indices.randomElement(using: &random) {
            odd = true
            all[i].key = pick([#"\u0069d"#, "scöre", #"bo\u0064y"#, "sc\u{f6}re"])
        }
        if chance(0.01) {
            odd = true
            for i in 0..<17 { all.append(("k\(i)", "\(i)")) }
        }
        let order = all.indices.shuffled(using: &random)
        let space = chance(0.3) ? " " : ""
        return "{" + space + order.map { "\"\(all[$0].key)\":\(space)\(all[$0].value)" }.joined(separator: "," + space) + space + "}"
    }

    mutating func score() -> String {
        if chance(0.96) { return String(Int(random.next() % scoreRange) - 20) }
        odd = true
        return pick(["-0", "3.0", "1e2", "-2.5", "\"5\"", "null", "99999999999999999999", "123456789012345678", "-9223372036854775808", "true"])
    }

    mutating func answer() -> String {
        var members: [(key: String, value: String)] = [("body", maybeWrong(text())), ("score", score())]
        switch random.next() % 6 {
        case 0: break
        case 1: members.append(("accepted", pick(["null", "1", "\"true\"", "[true]"])))
        case 2, 3: members.append(("accepted", "true"))
        default: members.append(("accepted", "false"))
        }
        guard chance(0.98) else {
            odd = true
            return pick(["null", "\"answer\"", "[]"])
        }
        return object(members, required: ["body", "score"])
    }

    mutating func id() -> String {
        if chance(0.6) { return "\"t/\(random.next() % 1000)\"" }
        if chance(0.5) {
            let id = text()
            return id == "\"\"" ? "\"e\"" : id
        }
        if chance(0.8) { return pick(["42", "-7", "0", "1.50", "2e3", "-0"]) }
        odd = true
        return pick(["\"\"", "null", "true", "[1]", "{}"])
    }

    /// One line, and whether it is plain (the reader must read it).
    mutating func line() -> (text: String, plain: Bool) {
        odd = false
        var members: [(key: String, value: String)] = [("id", id()), ("question", maybeWrong(object([("title", maybeWrong(text())), ("body", maybeWrong(text())),
                                                                                                   ("score", score())], required: ["title", "body"])))]
        let answers = "[" + (0..<Int(random.next() % 6)).map { _ in answer() }.joined(separator: ",") + "]"
        members.append(("answers", maybeWrong(answers)))
        if chance(0.7) { members.append(("source", chance(0.1) ? "null" : maybeWrong(text()))) }
        var line = object(members, required: ["id", "question", "answers"])
        if chance(0.1) { line = " \t" + line + " \r" }
        if chance(0.03) {
            odd = true
            line = String(decoding: Array(line.utf8.prefix(Int(random.next() % UInt64(line.utf8.count)))), as: UTF8.self)
        }
        if chance(0.02) {
            odd = true
            line += pick([" x", "}", ",", "{}"])
        }
        return (line, !odd)
    }
}

/// Whether two threads are equal byte for byte (`==` on strings is canonical equivalence).
private func sameBytes(_ a: QAThread, _ b: QAThread) -> Bool {
    a.id.utf8.elementsEqual(b.id.utf8) && a.source.utf8.elementsEqual(b.source.utf8) && a.prompt.utf8.elementsEqual(b.prompt.utf8)
        && a.answers.count == b.answers.count
        && zip(a.answers, b.answers).allSatisfy { $0.body.utf8.elementsEqual($1.body.utf8) && $0.score == $1.score && $0.accepted == $1.accepted }
}

/// The thread `lathe-format-sft`'s line reader makes of `line`, read in its scan of the line.
private func threadFromLine(_ line: String) -> QAThread? {
    Array(line.utf8).withUnsafeBufferPointer { bytes in
        bytes.baseAddress.flatMap { TopMembers.scan(JSONScanner(base: $0, end: bytes.count))?.thread }
    }
}

private func threadFromParser(_ line: String) -> QAThread? {
    guard let record = try? JSONParser.parse(line) else { return nil }
    return try? QAThread(record, at: here)
}

@Suite struct ThreadLineTests {
    @Test func readsWhatTheParserReads() {
        let line = #"{"id":"t1","source":"se/cooking","question":{"title":"Caf\u00e9 \ud83d\ude00?","body":"A \"b\"\n<p>c</p>","score":2},"answers":[{"body":"Yes.","score":3,"accepted":true},{"score":-1,"body":"東京","extra":{"a":[1,null]}}]}"#
        let thread = threadFromLine(line)
        #expect(thread == QAThread(id: "t1", source: "se/cooking", prompt: "Café 😀?\n\nA \"b\"\n<p>c</p>",
                                   answers: [.init(body: "Yes.", score: 3, accepted: true), .init(body: "東京", score: -1, accepted: false)]))
        #expect(threadFromLine(#"{"id":17,"question":{"title":"","body":"B"},"answers":[]}"#)
                == QAThread(id: "17", source: "thread", prompt: "B", answers: []))
        #expect(threadFromLine(#"{"id":"x","source":null,"question":{"title":"T","body":""},"answers":[{"body":"a","score":-0,"accepted":1}]}"#)
                == QAThread(id: "x", source: "thread", prompt: "T", answers: [.init(body: "a", score: 0, accepted: false)]))
    }

    @Test func leavesOddLinesToTheParser() {
        for line in [
            #"{"id":"","question":{"title":"T","body":"B"},"answers":[]}"#,
            #"{"id":"x","question":{"title":"T","body":"B"},"answers":[{"body":"a","score":1.0}]}"#,
            #"{"id":"x","question":{"title":"T","body":"B"},"answers":[{"body":"a","score":"1"}]}"#,
            #"{"id":"x","question":{"title":"T","body":"B"},"answers":[{"body":"a"}]}"#,
            #"{"id":"x","question":{"title":"T"},"answers":[]}"#,
            #"{"id":"x","question":{"title":"T","body":"B"},"answers":[],"id":"y"}"#,
            #"{"\u0069d":"x","question":{"title":"T","body":"B"},"answers":[]}"#,
            #"{"id":"x","question":{"title":"T","body":"B"},"answers":{}}"#,
            #"{"id":"x","question":{"title":"T","body":"B"},"answers":[]} x"#,
            #"{"id":"x","source":7,"question":{"title":"T","body":"B"},"answers":[]}"#,
        ] {
            #expect(threadFromLine(line) == nil, "\(line)")
        }
    }

    /// The differential check: on seeded random lines the reader answers nil or exactly the
    /// parser path's thread, reads every plain line, and its pairs are byte-identical.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func agreesWithTheParserOnRandomLines(seed: UInt64) throws {
        var generator = ThreadLineGenerator(seed: seed)
        var read = 0, left = 0, plain = 0
        var builders = [PreferenceBuilder(), PreferenceBuilder()]
        builders[1].pairing.strategy = .allPairs
        builders[1].style = .standard
        for _ in 0..<3000 {
            let (line, isPlain) = generator.line()
            let parsed = threadFromParser(line)
            guard let fast = threadFromLine(line) else {
                #expect(!isPlain, "a plain line left to the parser: \(line)")
                left += 1
                continue
            }
            read += 1
            if isPlain { plain += 1 }
            guard let parsed else {
                Issue.record("read a line the parser rejects: \(line)")
                continue
            }
            #expect(sameBytes(fast, parsed), "\(line)")
            for builder in builders { try expectSameItems(builder, line) }
        }
        #expect(read > 900 && left > 900 && plain > 800, "read \(read), left \(left), plain \(plain)")
    }

    /// `build(line:)` makes byte for byte what `build` makes of the parsed line.
    func expectSameItems(_ builder: PreferenceBuilder, _ line: String) throws {
        var bytes = Array(line.utf8)
        let fast = bytes.withUnsafeMutableBytes { builder.build(line: UnsafeRawBufferPointer($0), at: here) }
        let parsed: Result<PreferenceItem, Dropped>
        do {
            parsed = .success(try builder.build(JSONParser.parse(line), at: here))
        } catch let dropped as Dropped {
            parsed = .failure(dropped)
        }
        switch (fast, parsed) {
        case (.success(.pairs(let a))?, .success(.pairs(let b))):
            #expect(a.map(\.line) == b.map(\.line), "\(line)")
            #expect(a.map { Array($0.splitKey.utf8) } == b.map { Array($0.splitKey.utf8) })
        case (.failure(let a)?, .failure(let b)):
            #expect(a == b, "\(line)")
        default:
            Issue.record("fast path \(String(describing: fast)), parser path \(parsed): \(line)")
        }
    }
}
