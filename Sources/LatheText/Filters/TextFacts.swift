// Character classes the filters share. They follow Python's `str` semantics (whitespace,
// line breaks, `isalpha`) and datatrove's punctuation tables, because the thresholds were
// tuned on counts made that way: a document is measured in Unicode scalars, as Python's
// `len` does, never in grapheme clusters.

enum TextFacts {
    /// Python's `str.isspace()`: what `split()` and `strip()` split and strip on.
    @inline(__always)
    static func isSpace(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) }
        switch c {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Python's `str.splitlines()` boundaries (`\r\n` is one boundary, handled by the caller).
    @inline(__always)
    static func isLineBreak(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c >= 0x0A && c <= 0x0D) || (c >= 0x1C && c <= 0x1E) }
        return c == 0x85 || c == 0x2028 || c == 0x2029
    }

    /// Python's `str.isalpha()` for one scalar: general categories Lu, Ll, Lt, Lm, Lo.
    @inline(__always)
    static func isAlpha(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        guard let s = Unicode.Scalar(c) else { return false }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always)
    static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Unicode decimal digits (`\d` in Python's `re`).
    static func isUnicodeDigit(_ c: UInt32) -> Bool {
        if c < 0x80 { return isDigit(c) }
        guard let s = Unicode.Scalar(c) else { return false }
        return s.properties.generalCategory == .decimalNumber
    }

    static func isLower(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x61 && c <= 0x7A }
        guard let s = Unicode.Scalar(c) else { return false }
        return s.properties.generalCategory == .lowercaseLetter
    }

    static func isUpper(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x41 && c <= 0x5A }
        guard let s = Unicode.Scalar(c) else { return false }
        return s.properties.generalCategory == .uppercaseLetter || s.properties.generalCategory == .titlecaseLetter
    }

    /// Sentence-ending marks: Unicode's Sentence_Terminal property, adjusted to the table
    /// datatrove ships (it predates a few additions and lists three Khmer signs besides), so
    /// FineWeb's "line ends in punctuation" ratio counts the same lines.
    static func isTerminalPunctuation(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0x21 || c == 0x2E || c == 0x3F }
        switch c {
        case 0x17D6, 0x17D9, 0x17DA: return true
        case 0x1B4E, 0x1B4F, 0x1B7F, 0x2024, 0x2CF9...0x2CFB, 0xFE12, 0xFE15, 0xFE16, 0x113D4, 0x113D5, 0x16D6E, 0x16D6F:
            return false
        default:
            return Unicode.Scalar(c)?.properties.isSentenceTerminal ?? false
        }
    }

    /// datatrove's PUNCTUATION_SET: a fixed list of marks and symbols, the C0/C1 controls
    /// other than tab and newline, and the sentence terminals. Gopher counts a word made only
    /// of these as a symbol, not a word.
    static func isPunctuation(_ c: UInt32) -> Bool {
        if c < 0x80 { return asciiPunctuation[Int(c)] }
        if c >= 0x80 && c < 0xA0 { return true }
        return otherPunctuation.contains(c) || isTerminalPunctuation(c)
    }

    private static let asciiPunctuation: [Bool] = (0..<128).map { (c: Int) -> Bool in
        if c < 32 { return c != 9 && c != 10 }
        if c == 127 { return true }
        return "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars.contains { Int($0.value) == c }
    }

    private static let otherPunctuation: Set<UInt32> =
        Set("—”％１〈、━【「」，】；“《„’∶´．（–？！：～«〉》）。…►»".unicodeScalars.map(\.value))
}

/// A half-open range of scalar offsets into a document.
struct Span: Hashable, Sendable {
    var start: Int
    var end: Int
    var count: Int { end - start }
}
