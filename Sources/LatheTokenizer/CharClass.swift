/// The Unicode classes the byte-level pre-tokeniser regexes ask about, as bit flags.
///
/// `\p{L}` and `\p{N}` are general categories L* and N*; `\s` is the White_Space property
/// (which is what Oniguruma, the regex engine behind Hugging Face `tokenizers`, matches: U+0085
/// and U+2028 are spaces, U+001C and U+200B are not). `word` is the Rust `regex` crate's `\w`,
/// used only by added tokens with `single_word`.
struct CharClass: OptionSet {
    let rawValue: UInt8
    static let letter = CharClass(rawValue: 1)
    static let number = CharClass(rawValue: 2)
    static let space = CharClass(rawValue: 4)
    static let word = CharClass(rawValue: 8)

    /// Classes of the Basic Multilingual Plane, computed once: a table lookup is an order of
    /// magnitude cheaper than asking the standard library for a scalar's properties, and the
    /// pipeline asks for every scalar of gigabytes of text.
    private static let bmp: [CharClass] = (0..<0x10000).map { v in
        guard let scalar = Unicode.Scalar(UInt32(v)) else { return [] }
        return compute(scalar)
    }

    static func compute(_ scalar: Unicode.Scalar) -> CharClass {
        let p = scalar.properties
        var c: CharClass = []
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            c.insert(.number)
        default:
            break
        }
        if p.isWhitespace { c.insert(.space) }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            c.insert(.word)
        default:
            if p.isAlphabetic || scalar.value == 0x200C || scalar.value == 0x200D { c.insert(.word) }
        }
        return c
    }

    @inline(__always)
    static func of(_ v: UInt32) -> CharClass {
        // ASCII, most of the text, without touching the table (whose lazy initialisation
        // check would cost more than this arithmetic).
        if v < 0x80 {
            if (v | 0x20) &- 0x61 < 26 { return [.letter, .word] }
            if v &- 0x30 < 10 { return [.number, .word] }
            if v == 0x20 || v &- 0x09 < 5 { return .space }
            return v == 0x5F ? .word : []
        }
        if v < 0x10000 { return bmp.withUnsafeBufferPointer { $0[Int(v)] } }
        return Unicode.Scalar(v).map(compute) ?? []
    }
}

/// Decodes the scalar at `i` of valid UTF-8 (the bytes of a Swift String), returning it and its
/// length in bytes.
@inline(__always)
func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1]) & 0x3F, 2) }
    if b0 < 0xF0 {
        return ((b0 & 0x0F) << 12 | (UInt32(p[i + 1]) & 0x3F) << 6 | UInt32(p[i + 2]) & 0x3F, 3)
    }
    return ((b0 & 0x07) << 18 | (UInt32(p[i + 1]) & 0x3F) << 12 | (UInt32(p[i + 2]) & 0x3F) << 6
        | UInt32(p[i + 3]) & 0x3F, 4)
}
