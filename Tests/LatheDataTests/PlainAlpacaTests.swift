@testable import LatheData
import LatheIO
import Testing

private let here = SourceLocation(file: "plain.jsonl", line: 1)

/// Alpaca lines mostly of plain text, the kind the plain path writes from the line's bytes,
/// with the cases it must leave to the general path mixed in: escapes, HTML, blank turns,
/// raw DEL, U+2028 and non-ASCII spaces, ids and sources of every kind, system turns.
private struct PlainAlpacaGenerator {
    var random: SplitMix64

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    mutating func text() -> String {
        var pieces: [String] = []
        for _ in 0..<Int(random.next() % 7) {
            pieces.append(chance(85)
                ? pick(["plain words", "Hello", "café", "東京", "данные", "😀", " ", "e\u{301}", "over 9000.", "x/y", "'q'", "{}[]"])
                : pick(["\u{7F}", "\u{2028}", "\u{2003}", "\\n", "\\u00e9", "\\\"", "<b>bold</b>", "&amp;", "a < b", "&", "\\t"]))
        }
        return "\"" + pieces.joined() + "\""
    }

    mutating func line() -> String {
        var members = ["\"instruction\": " + text(), "\"output\": " + text()]
        if chance(70) { members.append("\"input\": " + pick(["\"\"", "null", text(), text()])) }
        if chance(60) { members.append("\"id\": " + pick(["\"r1\"", "\"\"", "17", "-0", "null", "true", "\"s\\u00e9\"", text()])) }
        if chance(30) { members.append("\"source\": " + pick(["null", "\"\"", "\"mine\"", "\"caf\\u00e9\"", text()])) }
        if chance(25) { members.append("\"system\": " + pick(["null", "\"\"", "\"   \"", "\"Be brief.\"", text()])) }
        if chance(10) { members.append("\"meta\": {\"n\": [1, \"<b>\"]}") }
        var order = members
        for i in order.indices.reversed() { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        return "{" + order.joined(separator: pick([",", ", "])) + "}"
    }
}

@Suite struct PlainAlpacaTests {
    /// Settings under which the plain path is tried: the defaults, a forced format, a named
    /// source, a split, and the HTML policies (which the plain path's records never meet).
    static let settings: [SFTSettings] = {
        var all = [SFTSettings()]
        var forced = SFTSettings()
        forced.reader.format = .alpaca
        forced.html = .drop
        all.append(forced)
        var named = SFTSettings()
        named.reader.source = "named"
        named.html = .keep
        named.split = try! SplitSpec(parsing: "train=0.6,valid=0.2,test=0.2")
        named.splitSeed = 11
        all.append(named)
        return all
    }()

    @Test func plainPathWritesWhatTheParsersPathWrites() throws {
        var generator = PlainAlpacaGenerator(random: SplitMix64(seed: 21))
        var plain = 0, general = 0
        for _ in 0..<4000 {
            let line = generator.line()
            let record = try JSONParser.parse(line)
            for settings in Self.settings {
                #expect(settings.writesTurnsAsRead)
                let formatter = SFTFormatter(settings: settings)
                let slow = Result { try formatter.format(record, at: here) }
                let fast = Array(line.utf8).withUnsafeBytes { bytes in
                    settings.reader.scan(line: bytes, maxDepth: JSONParser.defaultMaxDepth).flatMap { $0.0.plainAlpaca(settings) }
                }
                guard let fast else {
                    if case .success = slow { general += 1 }
                    continue
                }
                plain += 1
                guard case .success(let expected) = slow else {
                    Issue.record("the plain path wrote a record the parser's path drops: \(line) \(slow)")
                    continue
                }
                #expect(fast.line == expected.line, "\(line)\n\(String(decoding: fast.line, as: UTF8.self))\n\(String(decoding: expected.line, as: UTF8.self))")
                #expect(fast.id == expected.id && fast.contentKey == expected.contentKey && fast.split == expected.split, "\(line)")
            }
        }
        // Both paths see many records: the plain one those of plain text, the general one the rest.
        #expect(plain > 2000 && general > 1000, "plain \(plain), general \(general)")
    }

    /// Settings that change the written turns keep the plain path away.
    @Test func settingsThatChangeTurnsUseTheGeneralPath() {
        let changes: [(inout SFTSettings) -> Void] = [
            { $0.system = "Be brief." }, { $0.minChars = 2 }, { $0.maxChars = 100 }, { $0.refusals = RefusalDetector() },
            { $0.template = .chatml }, { $0.style = .promptCompletion },
        ]
        for (i, change) in changes.enumerated() {
            var settings = SFTSettings()
            change(&settings)
            #expect(!settings.writesTurnsAsRead, "change \(i)")
        }
        var noMinimum = SFTSettings()
        noMinimum.minChars = 0
        #expect(noMinimum.writesTurnsAsRead)
    }

    /// A record written by hand: the id's digits as a string, the input after a blank line,
    /// non-ASCII text and DEL as they were, the default source.
    @Test func handWrittenRecord() throws {
        let line = #"{"output": "東京 \#u{7F}", "input": "in Japan", "instruction": "Name a city", "id": 7}"#
        let formatted = Array(line.utf8).withUnsafeBytes { SFTFormatter(settings: SFTSettings()).format(line: $0, at: here) }
        guard case .success(let example) = formatted else {
            Issue.record("not written: \(String(describing: formatted))")
            return
        }
        #expect(String(decoding: example.line, as: UTF8.self)
            == #"{"id":"7","messages":[{"role":"user","content":"Name a city\n\nin Japan"},{"role":"assistant","content":"東京 \#u{7F}"}],"source":"alpaca"}"#)
        #expect(example.id == "7")
    }
}
