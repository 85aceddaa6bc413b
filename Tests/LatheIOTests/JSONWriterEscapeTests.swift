import Foundation
import LatheIO
import Testing

/// `JSONWriter.writeString` skips eight bytes at a time; a plain byte-by-byte escaper is the
/// reference, over strings where the bytes that need escapes fall at every offset of a word.
@Suite struct JSONWriterEscapeTests {
    static func plainEscape(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for b in text.utf8 {
            switch b {
            case 0x22: out += Array(#"\""#.utf8)
            case 0x5C: out += Array(#"\\"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
            default: out.append(b)
            }
        }
        out.append(0x22)
        return out
    }

    @Test func escapesEqualAPlainEscaper() {
        var random = SplitMix64(seed: 11)
        let pieces = ["a", "bc", "plain text ", "é", "東京", "😀", "\"", "\\", "\n", "\t", "\u{1}", "\u{1F}", "\u{7F}", " ", "/", "!#", "\u{0}"]
        for _ in 0..<5000 {
            var text = ""
            for _ in 0..<Int(random.next() % 24) { text += pieces[Int(random.next() % UInt64(pieces.count))] }
            var out: [UInt8] = []
            JSONWriter.writeString(text, into: &out)
            #expect(out == Self.plainEscape(text), "\(text.debugDescription)")
        }
    }
}
