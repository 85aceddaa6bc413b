import Testing
@testable import LatheIO

private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }
private func parseBytes(_ bytes: [UInt8]) throws -> JSONValue { try JSONParser.parse(bytes) }

private func parseError(_ bytes: [UInt8]) -> JSONError? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String) -> JSONError? { parseError(Array(text.utf8)) }

@Suite struct JSONReaderTests {
    @Test func everyEscapeForm() throws {
        let value = try parse(#""q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u4e2d""#)
        #expect(value == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t Aé中"))
    }

    @Test func surrogatePairsDecodeToOneScalar() throws {
        #expect(try parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try parse(#""a\ud834\udd1eb""#) == .string("a𝄞b"))
    }

    @Test func loneSurrogatesAreRejected() {
        #expect(parseError(#""\uD83D""#)?.message.contains("lone high surrogate") == true)
        #expect(parseError(#""\uD83Dx""#)?.message.contains("lone high surrogate") == true)
        #expect(parseError(#""\uDE00""#)?.message.contains("lone low surrogate") == true)
        #expect(parseError(#""\uD83D\u0041""#)?.message.contains("not a low surrogate") == true)
        #expect(parseError(#""ab\uD83D""#)?.offset == 3)
    }

    @Test func badEscapesAreRejected() {
        #expect(parseError(#""\x""#)?.message.contains("invalid escape") == true)
        #expect(parseError(#""\u12G4""#)?.message.contains("four hex digits") == true)
        #expect(parseError(#""\u12"#) != nil)
    }

    @Test func invalidUTF8IsRejectedWithItsOffset() {
        // `"é` then a lone continuation byte at offset 3.
        #expect(parseError([0x22, 0xC3, 0xA9, 0x80, 0x22])?.offset == 3)
        // Overlong encoding of '/', a UTF-16 surrogate encoded in UTF-8, a code point past U+10FFFF.
        #expect(parseError([0x22, 0xC0, 0xAF, 0x22])?.offset == 1)
        #expect(parseError([0x22, 0x61, 0xED, 0xA0, 0x80, 0x22])?.offset == 2)
        #expect(parseError([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22])?.offset == 1)
        // A sequence cut by the closing quote, and invalid UTF-8 after an escape (slow path).
        #expect(parseError([0x22, 0xE4, 0xB8, 0x22])?.offset == 1)
        #expect(parseError([0x22, 0x5C, 0x6E, 0x61, 0xFF, 0x22])?.offset == 4)
        #expect(parseError([0x22, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0xFE, 0x22])?.offset == 10)
    }

    @Test func validMultibyteTextPasses() throws {
        let text = "naïve café — 中文 日本語 한국어 العربية 😀👩‍👩‍👧"
        #expect(try parse("\"" + text + "\"") == .string(text))
    }

    @Test func rawControlCharactersAreRejected() {
        let error = parseError([0x22, 0x61, 0x0A, 0x22])
        #expect(error?.offset == 2)
        #expect(error?.message.contains("control character") == true)
        #expect(parseError([0x22, 0x09, 0x22]) != nil)
    }

    @Test func nestingIsLimited() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(parseError(deep)?.message.contains("nesting deeper than 512") == true)
        // Far past the limit must fail cleanly, not overflow the stack.
        #expect(parseError(String(repeating: "{\"a\":", count: 100_000)) != nil)
        #expect(throws: JSONError.self) { try JSONParser.parse(Array("[[[1]]]".utf8), maxDepth: 2) }
    }

    @Test(arguments: ["0", "-0", "1", "-12", "1.0", "1.50", "0.1", "1e5", "1E+5", "2.5e-10", "-0.0e0",
                      "12345678901234567890123456789", "9007199254740993", "1.7976931348623157e308"])
    func numbersKeepTheirText(text: String) throws {
        let value = try parse(text)
        #expect(value.number?.text == text)
        #expect(JSONWriter.string(value) == text)
    }

    @Test func integersAndDoublesReadBack() throws {
        #expect(try parse("9007199254740993").int == 9_007_199_254_740_993)
        #expect(try parse("2.5").double == 2.5)
        #expect(try parse("2.5").int == nil)
    }

    @Test(arguments: ["01", "-", "1.", ".5", "1e", "1e+", "+1", "NaN", "Infinity", "0x10", "1.e3", "--1"])
    func badNumbersAreRejected(text: String) {
        #expect(parseError(text) != nil)
    }

    @Test func literalsAndStructure() throws {
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("null") == .null)
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object(JSONObject()))
        #expect(try parse(#"{"a":[1,{"b":null}],"c":"d"}"#) == ["a": [1, ["b": nil]], "c": "d"])
        for bad in ["tru", "nul", "[1,]", "{\"a\":1,}", "{a:1}", "[1 2]", "{\"a\" 1}", "1 2", "", "   ", "[", "{\"a\":", "'a'", "/* */1"] {
            #expect(parseError(bad) != nil, "accepted \(bad)")
        }
    }

    @Test func keyOrderIsKeptAndDuplicatesRejected() throws {
        let value = try parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(value.object?.keys == ["z", "a", "m"])
        #expect(JSONWriter.string(value) == #"{"z":1,"a":2,"m":3}"#)
        let error = parseError(#"{"a":1,"b":2,"a":3}"#)
        #expect(error?.message == "duplicate key \"a\"")
        #expect(error?.offset == 13)
        // Large objects check duplicates by hashing: the same answers on both sides of the switch.
        let many = (0..<40).map { "\"k\($0)\":\($0)" }
        #expect(try parse("{" + many.joined(separator: ",") + "}").object?.count == 40)
        #expect(parseError("{" + (many + [#""k3":0"#]).joined(separator: ",") + "}")?.message == "duplicate key \"k3\"")
        #expect(parseError("{" + (Array(many.prefix(10)) + [#""k3":0"#]).joined(separator: ",") + "}") != nil)
    }

    @Test func errorOffsetsPointAtTheProblem() {
        #expect(parseError(#"{"a": tru}"#)?.offset == 6)
        #expect(parseError(#"[1, 2, x]"#)?.offset == 7)
        #expect(parseError(#"{"a":1} x"#)?.offset == 8)
    }

    @Test func dottedPaths() throws {
        let value = try parse(#"{"question":{"title":"T"},"messages":[{"content":"x"},{"content":"y"}]}"#)
        #expect(value.value(at: "question.title") == "T")
        #expect(value.value(at: "messages.1.content") == "y")
        #expect(value.value(at: "messages.2.content") == nil)
        #expect(value.value(at: "question.body") == nil)
    }
}

@Suite struct JSONWriterTests {
    @Test func escapesOnlyWhatItMust() {
        let value: JSONValue = .string("a\"b\\c\n\t\r\u{08}\u{0C}\u{01}\u{1F}/é😀\u{7F}")
        #expect(JSONWriter.string(value) == #""a\"b\\c\n\t\r\b\f\u0001\u001f/é😀"# + "\u{7F}\"")
    }

    @Test func compactOutputOfNestedValues() {
        let value: JSONValue = ["id": "x", "n": [1, 2.5, true, nil], "o": [:]]
        #expect(JSONWriter.string(value) == #"{"id":"x","n":[1,2.5,true,null],"o":{}}"#)
    }

    @Test func doublesWithoutAJSONFormAreRefused() {
        #expect(JSONNumber(Double.nan) == nil)
        #expect(JSONNumber(Double.infinity) == nil)
        #expect(JSONNumber(3.0)?.text == "3")
        #expect(JSONNumber(0.1)?.text == "0.1")
    }
}

/// A seeded generator of arbitrary JSON values, for the round-trip property.
private struct ValueGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func string() -> String {
        // Control characters, quotes, backslashes, every UTF-8 length, and the surrogate edges.
        let pool: [Unicode.Scalar] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "ß",
                                      "中", "\u{FFFD}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "😀", "\u{10FFFF}", "\u{2028}"]
        var s = String.UnicodeScalarView()
        for _ in 0..<below(12) { s.append(pool[below(pool.count)]) }
        return String(s)
    }

    mutating func number() -> JSONNumber {
        switch below(4) {
        case 0: return JSONNumber(Int(truncatingIfNeeded: next()))
        case 1: return JSONNumber(Double(bitPattern: next() & 0x7FEF_FFFF_FFFF_FFFF) * (below(2) == 0 ? 1 : -1))!
        case 2: return JSONNumber(Double(below(1000)) / 8)!
        default: return JSONNumber(unchecked: "\(below(100))e\(below(2) == 0 ? "-" : "+")\(below(300))")
        }
    }

    mutating func value(depth: Int) -> JSONValue {
        switch below(depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(below(2) == 0)
        case 2: return .number(number())
        case 3: return .string(string())
        case 4: return .array((0..<below(5)).map { _ in value(depth: depth + 1) })
        default:
            var object = JSONObject()
            for i in 0..<below(5) { object[string() + "\(i)"] = value(depth: depth + 1) }
            return .object(object)
        }
    }
}

@Suite struct JSONRoundTripTests {
    @Test func writeThenParseGivesTheSameValueAndBytes() throws {
        var generator = ValueGenerator(state: 42)
        for _ in 0..<3000 {
            let value = generator.value(depth: 0)
            var bytes: [UInt8] = []
            JSONWriter.write(value, into: &bytes)
            let parsed = try JSONParser.parse(bytes)
            #expect(parsed == value)
            var again: [UInt8] = []
            JSONWriter.write(parsed, into: &again)
            #expect(again == bytes)
        }
    }

    @Test func compactInputRoundTripsByteForByte() throws {
        let line = #"{"id":"doc-1","text":"Caf\u00e9 is written \"caf\u00e9\"","score":1.50,"big":12345678901234567890,"tags":["a","b"],"meta":{"ok":true,"n":null}}"#
        let value = try parse(line)
        // Escapes of printable characters come back as the characters themselves.
        #expect(JSONWriter.string(value) == #"{"id":"doc-1","text":"Café is written \"café\"","score":1.50,"big":12345678901234567890,"tags":["a","b"],"meta":{"ok":true,"n":null}}"#)
    }
}

/// Semantics and costs fixed in the speed work: escapes amid long runs, large objects, and
/// JSON's own equality.
@Suite struct JSONValueSemanticsTests {
    @Test func escapesAmidLongPlainAndNonASCIIRuns() throws {
        let plain = String(repeating: "plain words, café and 東京 ", count: 40)
        let json = "\"" + plain + "\\n" + plain + "\\u00e9\\\"\\\\" + plain + "\\t\""
        #expect(try parse(json) == .string(plain + "\n" + plain + "é\"\\" + plain + "\t"))
        // After an escape, a raw control character and invalid UTF-8 are still found where they are.
        let head = "\"" + String(repeating: "a", count: 37) + "\\n" + String(repeating: "b", count: 20)
        let control = parseError(Array(head.utf8) + [0x01, 0x22])
        #expect(control?.offset == head.utf8.count)
        #expect(control?.message.contains("control character") == true)
        let invalid = parseError(Array(head.utf8) + [0x63, 0xC3, 0x28, 0x22])
        #expect(invalid?.message == "invalid UTF-8")
        #expect(invalid?.offset == head.utf8.count + 1)
    }

    @Test func largeObjectsLookUpAndRejectDuplicates() throws {
        let keys = (0..<1000).map { "key\($0)" }
        let body = keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",")
        var object = try #require(try parse("{" + body + "}").object)
        #expect(object.keys == keys)
        for (i, key) in keys.enumerated() { #expect(object[key] == .number(JSONNumber(i))) }
        #expect(object["key1000"] == nil)
        let duplicate = "{" + body + ",\"key500\":0}"
        let error = parseError(duplicate)
        #expect(error?.message == "duplicate key \"key500\"")
        #expect(error?.offset == duplicate.utf8.count - 11)
        // Replace, remove and append keep order and lookup right.
        object["key10"] = "ten"
        object["key0"] = nil
        object["new"] = true
        #expect(object.count == 1000)
        #expect(object.keys.first == "key1")
        #expect(object.keys.last == "new")
        #expect(object["key10"] == "ten")
        #expect(object["key999"] == 999)
        #expect(object["new"] == true)
        #expect(object.index(of: "key999") == 998)
        // Shrinking back below the table's threshold keeps lookups right.
        for key in keys.dropFirst().dropLast(5) { object[key] = nil }
        #expect(object.keys == ["key995", "key996", "key997", "key998", "key999", "new"])
        #expect(object["key997"] == 997)
    }

    @Test func numbersCompareByValue() throws {
        let one = try parse("1")
        for same in ["1.0", "1e0", "10e-1", "0.1E1", "1.000"] {
            #expect(try parse(same) == one, "\(same)")
            #expect(try parse(same).hashValue == one.hashValue, "\(same)")
        }
        #expect(try parse("-0") == parse("0.0"))
        #expect(try parse("1.5") != one)
        #expect(try parse("-1") != one)
        // Above 2^53, where a Double would merge them.
        #expect(try parse("9007199254740993") != parse("9007199254740992"))
        #expect(Set([one, try parse("1.0"), try parse("100e-2"), try parse("2")]).count == 2)
    }

    @Test func objectsCompareAsSetsAndStringsByCodePoints() throws {
        let a = try parse(#"{"a":1,"b":[true,null],"c":{"x":"y","z":2.0}}"#)
        let b = try parse(#"{"c":{"z":2,"x":"y"},"b":[true,null],"a":1.0}"#)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(try parse(#"{"b":[null,true],"a":1}"#) != parse(#"{"a":1,"b":[true,null]}"#))
        #expect(try parse(#"{"a":1}"#) != parse(#"{"a":1,"b":2}"#))
        // Canonically equivalent to Swift, different to JSON.
        #expect(JSONValue.string("\u{E9}") != .string("e\u{301}"))
        #expect(JSONValue.object(JSONObject([("\u{E9}", 1)])) != .object(JSONObject([("e\u{301}", 1)])))
    }

    @Test(arguments: [("1", "integer"), ("-3", "integer"), ("1.0", "integer"), ("1e2", "integer"), ("2.50e1", "integer"),
                      ("1.5", "number"), ("1e-2", "number"), ("0.001", "number"), ("\"1\"", "string"), ("null", "null")])
    func typeNamesFollowJSONSchema(text: String, type: String) throws {
        #expect(try parse(text).typeName == type)
    }
}
