import Testing
@testable import LatheIO

private func find(_ line: [UInt8], _ paths: [String], maxDepth: Int = JSONParser.defaultMaxDepth) -> [JSONScanner.Found?]? {
    line.withUnsafeBufferPointer { bytes in
        JSONScanner(base: bytes.baseAddress!, end: bytes.count, maxDepth: maxDepth).find(JSONPaths(paths)!)
    }
}

private func find(_ text: String, _ paths: [String]) -> [JSONScanner.Found?]? { find(Array(text.utf8), paths) }

/// A record of the shapes JSON Lines data has: short and long strings with escapes and
/// non-ASCII text, numbers, literals, nested objects and arrays.
private func randomRecord(_ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
    let pieces = ["a", "text", "Ünï", "\"q\"", "\\", "\n", "\t", "😀", "/", " ", "ß", "\u{1F}", "x y z"]
    func string() -> String { (0..<Int(rng.next() % 6)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined() }
    switch rng.next() % (depth > 3 ? 4 : 7) {
    case 0: return .string(string())
    case 1: return .number(JSONNumber(Int(rng.next() % 2000) - 1000))
    case 2: return [.bool(true), .bool(false), .null][Int(rng.next() % 3)]
    case 3: return .number(JSONNumber(Double(rng.next() % 1000) / 8)!)
    case 4, 5:
        let keys = ["id", "text", "meta", "body", "0", "1", "role", "content"]
        var object = JSONObject()
        for _ in 0..<Int(rng.next() % 5) {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            if object[key] == nil { object[key] = randomRecord(&rng, depth: depth + 1) }
        }
        return .object(object)
    default:
        return .array((0..<Int(rng.next() % 4)).map { _ in randomRecord(&rng, depth: depth + 1) })
    }
}

private let paths = ["text", "meta.body", "meta.0", "0.1", "id", "meta", "meta.text.1.role", ""]

@Suite struct JSONScannerTests {
    /// On valid lines the finder agrees with `JSONValue.value(at:)` (the values it finds
    /// parse to the same), and says what the strings held.
    @Test func foundValuesAreThoseTheParsedRecordHolds() throws {
        var rng = SplitMix64(seed: 11)
        var checked = 0
        for _ in 0..<3000 {
            let record = randomRecord(&rng)
            var line = Array(JSONWriter.string(record).utf8)
            if rng.next() % 2 == 0 { line = [0x20] + line + [0x09] }
            guard let found = find(line, paths) else { continue }
            checked += 1
            for (path, value) in zip(paths, found) {
                let expected = record.value(at: path)
                guard let value else {
                    #expect(expected == nil, "\(path) in \(record)")
                    continue
                }
                let span = Array(line[value.start..<value.end])
                let parsed = try JSONParser.parse(span)
                #expect(parsed == expected, "\(path) in \(record)")
                let text = String(decoding: span, as: UTF8.self)
                #expect(value.contents.contains(.escapes) == text.contains("\\"))
                #expect(value.contents.contains(.nonASCII) == span.contains { $0 >= 0x80 })
            }
        }
        // Only objects with a repeated key are left out by the generator, so nearly all pass.
        #expect(checked > 2900)
    }

    /// A yes is certain: every line the scanner accepts, the parser accepts, over valid lines
    /// with random bytes changed, inserted or deleted.
    @Test func everyLineItAcceptsTheParserAccepts() {
        var rng = SplitMix64(seed: 12)
        let alphabet: [UInt8] = Array("{}[]\",:\\/ \t\nu0aeE.+-123truefalsn".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]
        var accepted = 0, rejected = 0
        for _ in 0..<20000 {
            var line = Array(JSONWriter.string(randomRecord(&rng)).utf8)
            for _ in 0..<Int(1 + rng.next() % 3) where !line.isEmpty {
                let at = Int(rng.next() % UInt64(line.count))
                let byte = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                switch rng.next() % 3 {
                case 0: line[at] = byte
                case 1: line.insert(byte, at: at)
                default: line.remove(at: at)
                }
            }
            guard !line.isEmpty else { continue }
            let parses = (try? JSONParser.parse(line)) != nil
            if find(line, paths) != nil {
                accepted += 1
                #expect(parses, "\(String(decoding: line, as: UTF8.self))")
            } else if !parses {
                rejected += 1
            }
        }
        #expect(accepted > 1000 && rejected > 5000)
    }

    /// `scanString` answers as the parser does for strings whose special bytes (quotes,
    /// escapes, controls, valid and broken UTF-8) fall at every offset of its eight-byte words:
    /// nil only where the parser rejects the text, else the end of a string the parser reads,
    /// with what it held.
    @Test func scanStringAgreesWithTheParserAtEveryOffset() throws {
        var rng = SplitMix64(seed: 31)
        let plain = ["a", "bc", "word ", "12345678", "x/y", "{}", "\u{7F}"].map { Array($0.utf8) }
        let special: [[UInt8]] = [[0x22], [0x5C, 0x6E], [0x5C, 0x22], Array("\\u00e9".utf8), Array("\\ud83d\\ude00".utf8), [0x5C, 0x78],
                                  [0x1F], [0x7F], Array("é".utf8), Array("東京".utf8), Array("😀".utf8), [0x80], [0xC3], [0xED, 0xA0, 0x80],
                                  [0xF4, 0x90, 0x80, 0x80], [0xE6, 0x9D]]
        var accepted = 0, rejected = 0
        for _ in 0..<20000 {
            var text: [UInt8] = [0x22]
            for _ in 0..<Int(rng.next() % 12) {
                text += rng.next() % 4 == 0 ? special[Int(rng.next() % UInt64(special.count))] : plain[Int(rng.next() % UInt64(plain.count))]
            }
            if rng.next() % 4 != 0 { text.append(0x22) }
            let scanned: (JSONScanner.Contents?, Int) = text.withUnsafeBufferPointer { bytes in
                var pos = 0
                return (JSONScanner(base: bytes.baseAddress!, end: bytes.count).scanString(&pos), pos)
            }
            let shown = String(decoding: text, as: UTF8.self)
            guard let contents = scanned.0 else {
                rejected += 1
                #expect((try? JSONParser.parse(text)) == nil, "\(shown)")
                continue
            }
            accepted += 1
            let string = Array(text[..<scanned.1])
            #expect(try JSONParser.parse(string).string != nil, "\(shown)")
            #expect(contents.contains(.escapes) == string.contains(0x5C) && contents.contains(.nonASCII) == string.contains { $0 >= 0x80 }, "\(shown)")
        }
        #expect(accepted > 5000 && rejected > 5000, "accepted \(accepted), rejected \(rejected)")
    }

    @Test func casesLeftToTheParser() {
        #expect(find(#"{"a": 1, "a": 2}"#, ["a"]) == nil)
        #expect(find(#"{"\u0061": 1}"#, ["a"]) == nil)
        #expect(find(#"{"é": 1}"#, ["a"]) == nil)
        #expect(find("{" + (0..<17).map { "\"k\($0)\": 0" }.joined(separator: ",") + "}", ["k0"]) == nil)
        #expect(find("{" + (0..<16).map { "\"k\($0)\": 0" }.joined(separator: ",") + "}", ["k0"]) != nil)
        #expect(find(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), ["0"]) == nil)
        #expect(find(String(repeating: "[", count: 64) + String(repeating: "]", count: 64), ["0"]) != nil)
        #expect(find(Array("[[1]]".utf8), ["0"], maxDepth: 1) == nil)
        #expect(find(#"{"a": 1} {"#, ["a"]) == nil)
        #expect(JSONPaths(["tëxt"]) == nil)
    }

    @Test func pathsFollowObjectsAndArrayIndices() throws {
        let line = #" {"messages": [{"role": "user", "content": "Hi"}, {"content": "Yo\n", "role": "assistant"}], "id": 7} "#
        let found = try #require(find(line, ["messages.1.content", "messages.0", "id", "messages.2", "id.x", "messages.+1.role"]))
        let bytes = Array(line.utf8)
        let text = { (f: JSONScanner.Found?) in f.map { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) } }
        #expect(text(found[0]) == #""Yo\n""#)
        #expect(found[0]?.contents == .escapes)
        #expect(text(found[1]) == #"{"role": "user", "content": "Hi"}"#)
        #expect(text(found[2]) == "7")
        #expect(found[3] == nil && found[4] == nil)
        // `Int("+1")` is 1, as `JSONValue.value(at:)` reads it.
        #expect(text(found[5]) == #""assistant""#)
    }
}
