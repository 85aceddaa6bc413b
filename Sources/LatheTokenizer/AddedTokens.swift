/// A token matched in raw text before pre-tokenisation and never split: special tokens such as
/// `<|endoftext|>` and user-added words. The fields are those of `tokenizer.json`'s
/// `added_tokens`.
public struct AddedToken: Sendable, Equatable {
    public var id: Int32
    public var content: String
    /// Only matched when not touching word characters on either side.
    public var singleWord: Bool = false
    /// Swallows the whitespace before it.
    public var lstrip: Bool = false
    /// Swallows the whitespace after it.
    public var rstrip: Bool = false
    /// Matched against the normalised text rather than the raw text.
    public var normalized: Bool = false
    /// Control tokens: skipped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool = true

    public init(id: Int32, content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, special: Bool = true) {
        self.id = id
        self.content = content
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }
}

/// Finds added tokens leftmost-longest, the way `tokenizers` runs its Aho-Corasick automaton:
/// at the first position where some token matches, the longest one wins, and the search
/// resumes after it (also after a match that `single_word` then discards).
struct AddedTokenMatcher: Sendable {
    private let tokens: [AddedToken]
    private let contents: [[UInt8]]
    /// For each first byte, indices into `tokens`, longest content first.
    private let byFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        let usable = tokens.filter { !$0.content.isEmpty }
        let bytes = usable.map { Array($0.content.utf8) }
        var table = [[Int]](repeating: [], count: 256)
        for (k, content) in bytes.enumerated() { table[Int(content[0])].append(k) }
        for b in 0..<256 {
            table[b].sort { bytes[$0].count != bytes[$1].count ? bytes[$0].count > bytes[$1].count : $0 < $1 }
        }
        self.tokens = usable
        contents = bytes
        byFirstByte = table
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Splits `range` into parts: an added token's id with its range, or -1 for plain text.
    /// Mirrors `AddedVocabulary::find_matches`.
    func split(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, into out: inout [(id: Int32, range: Range<Int>)]) {
        var startOffset = range.lowerBound
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let candidates = byFirstByte[Int(p[i])]
            var matched = -1
            for k in candidates {
                let c = contents[k]
                if c.count <= end - i && c.withUnsafeBufferPointer({ memcmp(p + i, $0.baseAddress!, c.count) == 0 }) {
                    matched = k
                    break
                }
            }
            guard matched >= 0 else {
                i += 1
                continue
            }
            let token = tokens[matched]
            var start = i
            var stop = i + contents[matched].count
            i = stop
            if token.singleWord {
                let wordBefore = start > range.lowerBound && Self.lastScalarClass(p, range.lowerBound, start).contains(.word)
                let wordAfter = stop < end && CharClass.of(decodeScalar(p, stop).value).contains(.word)
                if wordBefore || wordAfter { continue }
            }
            if token.lstrip {
                var s = start
                while s > range.lowerBound {
                    let (from, c) = Self.lastScalar(p, range.lowerBound, s)
                    guard CharClass.of(c).contains(.space) else { break }
                    s = from
                }
                start = max(s, startOffset)
            }
            if token.rstrip {
                while stop < end {
                    let (c, n) = decodeScalar(p, stop)
                    guard CharClass.of(c).contains(.space) else { break }
                    stop += n
                }
            }
            // An rstrip can swallow the start of the next match; `tokenizers` would then emit
            // overlapping parts, here the later match is dropped.
            guard start >= startOffset else { continue }
            if startOffset < start { out.append((-1, startOffset..<start)) }
            out.append((token.id, start..<stop))
            startOffset = stop
            i = max(i, stop)
        }
        if startOffset < end { out.append((-1, startOffset..<end)) }
    }

    @inline(__always)
    private static func lastScalar(_ p: UnsafePointer<UInt8>, _ floor: Int, _ before: Int) -> (start: Int, value: UInt32) {
        var s = before - 1
        while s > floor && p[s] & 0xC0 == 0x80 { s -= 1 }
        return (s, decodeScalar(p, s).value)
    }

    private static func lastScalarClass(_ p: UnsafePointer<UInt8>, _ floor: Int, _ before: Int) -> CharClass {
        CharClass.of(lastScalar(p, floor, before).value)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
