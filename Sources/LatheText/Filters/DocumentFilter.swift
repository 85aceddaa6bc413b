// The filter contract, after datatrove's: a filter looks at one document and says keep, or
// drop with a reason name. A filter may also rewrite the text it keeps (C4 removes lines), and
// the filters after it see the new text. Counting, rejects and the summary live in the stage
// that runs the chain, not here.

/// What one filter decided about one document.
public enum FilterVerdict: Equatable, Sendable {
    case keep
    /// Drop, with datatrove's reason name (`gopher_short_doc`, `top_2_gram`, ...).
    case drop(String)
    /// Keep this text in place of the one given.
    case rewrite(String)
}

public protocol DocumentFilter: Sendable {
    /// The filter's name, for summaries: `gopher_quality`, `c4_quality`, ...
    var name: String { get }
    func check(_ doc: AnalyzedText) -> FilterVerdict
}

extension DocumentFilter {
    /// The reason this filter drops `text`, or nil when it keeps it (rewrites count as keeps).
    public func check(_ text: String) -> String? {
        if case .drop(let reason) = check(AnalyzedText(text)) { return reason }
        return nil
    }
}

/// One document's text with what the filters measure, each computed once on first use and
/// shared between them. Lengths are in Unicode scalars, as Python's `len` counts.
public final class AnalyzedText {
    public let text: String
    /// The text's Unicode scalar values.
    let scalars: [UInt32]

    public init(_ text: String) {
        self.text = text
        var s: [UInt32] = []
        s.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars { s.append(u.value) }
        scalars = s
    }

    /// Words as datatrove's English `split_into_words` yields them (punctuation tokens included).
    private(set) lazy var words: [Span] = WordTokenizer.words(scalars)

    public var wordCount: Int { words.count }

    /// Polynomial hash of each word and the base raised to its length, so the hash of a
    /// concatenation of words is a fold over them (see `hashConcatenation`).
    private(set) lazy var wordHashes: [(hash: UInt64, power: UInt64)] = words.map { w in
        var h: UInt64 = 0, p: UInt64 = 1
        for k in w.start..<w.end {
            h = h &* TextHash.base &+ UInt64(scalars[k]) &+ 1
            p = p &* TextHash.base
        }
        return (h, p)
    }

    /// The text of a span, for messages and tests.
    func string(_ span: Span) -> String {
        var v = String.UnicodeScalarView()
        for k in span.start..<span.end { v.append(Unicode.Scalar(scalars[k])!) }
        return String(v)
    }

    /// Python's `text.splitlines()`.
    func pythonSplitLines() -> [Span] {
        var out: [Span] = []
        var start = 0, i = 0
        let s = scalars, n = s.count
        while i < n {
            let c = s[i]
            if TextFacts.isLineBreak(c) {
                out.append(Span(start: start, end: i))
                if c == 0x0D && i + 1 < n && s[i + 1] == 0x0A { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < n { out.append(Span(start: start, end: n)) }
        return out
    }

    /// `text.split("\n")`.
    func splitNewlines() -> [Span] {
        var out: [Span] = []
        var start = 0
        for (i, c) in scalars.enumerated() where c == 0x0A {
            out.append(Span(start: start, end: i))
            start = i + 1
        }
        out.append(Span(start: start, end: scalars.count))
        return out
    }

    /// The span with Python whitespace stripped from both ends.
    func stripped(_ sp: Span) -> Span {
        var a = sp.start, b = sp.end
        while a < b && TextFacts.isSpace(scalars[a]) { a += 1 }
        while b > a && TextFacts.isSpace(scalars[b - 1]) { b -= 1 }
        return Span(start: a, end: b)
    }

    func hash(_ sp: Span) -> UInt64 {
        var h: UInt64 = 0
        for k in sp.start..<sp.end { h = h &* TextHash.base &+ UInt64(scalars[k]) &+ 1 }
        return h
    }

    /// Occurrences of `needle` (ASCII) in `span`, not overlapping, as `str.count` counts.
    func count(_ needle: [UInt32], in sp: Span? = nil) -> Int {
        let range = sp ?? Span(start: 0, end: scalars.count)
        guard !needle.isEmpty else { return 0 }
        var n = 0, i = range.start
        let last = range.end - needle.count
        while i <= last {
            var match = true
            for k in 0..<needle.count where scalars[i + k] != needle[k] { match = false; break }
            if match { n += 1; i += needle.count } else { i += 1 }
        }
        return n
    }

    func hasPrefix(_ sp: Span, _ c: UInt32) -> Bool { sp.count > 0 && scalars[sp.start] == c }
    func hasSuffix(_ sp: Span, _ needle: [UInt32]) -> Bool {
        guard sp.count >= needle.count else { return false }
        for k in 0..<needle.count where scalars[sp.end - needle.count + k] != needle[k] { return false }
        return true
    }
}

enum TextHash {
    static let base: UInt64 = 0x100000001B3 | 1
}

/// Counts exact duplicates in a list of spans the way Gopher does: every occurrence after
/// the first counts, as one element and as its length in characters.
func findDuplicates(_ doc: AnalyzedText, _ spans: [Span]) -> (elements: Int, characters: Int) {
    var seen = HashCounter(capacity: spans.count)
    var elements = 0, characters = 0
    for sp in spans where seen.add(lengthKey(doc.hash(sp), sp.count)) > 0 {
        elements += 1
        characters += sp.count
    }
    return (elements, characters)
}

/// Filters run in order on each document; the first drop ends the run.
public struct FilterChain: Sendable {
    public var filters: [any DocumentFilter]

    public init(_ filters: [any DocumentFilter]) { self.filters = filters }

    public enum Outcome: Equatable, Sendable {
        /// Kept, with its text after any rewrites.
        case keep(String)
        /// Dropped by the filter named `filter`, for `reason`.
        case drop(reason: String, filter: String)
    }

    public func apply(_ text: String) -> Outcome {
        var doc = AnalyzedText(text)
        for f in filters {
            switch f.check(doc) {
            case .keep: continue
            case .drop(let reason): return .drop(reason: reason, filter: f.name)
            case .rewrite(let newText): doc = AnalyzedText(newText)
            }
        }
        return .keep(doc.text)
    }
}

/// The named filter sets of `--filters`.
public enum FilterPreset: String, CaseIterable, Sendable {
    case none, gopher, c4, fineweb

    /// The filters of a preset by name, or nil for an unknown name.
    public static func named(_ name: String) -> [any DocumentFilter]? {
        FilterPreset(rawValue: name.lowercased())?.filters
    }

    public var filters: [any DocumentFilter] {
        switch self {
        case .none: []
        case .gopher: [GopherRepetitionFilter(), GopherQualityFilter()]
        case .c4: [C4QualityFilter()]
        // FineWeb's recipe: C4 without its terminal-punctuation line rule, then FineWeb's own.
        case .fineweb:
            [GopherRepetitionFilter(), GopherQualityFilter(),
             C4QualityFilter(C4QualityFilter.Config(filterNoTerminalPunctuation: false)), FineWebQualityFilter()]
        }
    }
}

extension AnalyzedText {
    /// The words as strings (for tests and tools; the filters work on spans).
    public var wordStrings: [String] { words.map(string) }
}

/// Counts of 64-bit keys that are already hashes, in insertion order; open addressing, so no
/// rehashing of the keys (Swift's `Set` would SipHash each one again).
struct HashCounter {
    private var slots: [Int32]
    private var mask: Int
    private(set) var keys: [UInt64] = []
    private(set) var counts: [Int32] = []

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        keys.reserveCapacity(capacity)
        counts.reserveCapacity(capacity)
    }

    /// Adds one to `key`'s count and returns its count before (0 for a new key).
    @discardableResult
    mutating func add(_ key: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: key ^ (key >> 31)) & mask
        while true {
            let slot = Int(slots[i])
            if slot < 0 {
                if keys.count * 2 >= slots.count { grow(); return add(key) }
                slots[i] = Int32(keys.count)
                keys.append(key)
                counts.append(1)
                return 0
            }
            if keys[slot] == key {
                counts[slot] += 1
                return Int(counts[slot] - 1)
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        for (n, key) in keys.enumerated() {
            var i = Int(truncatingIfNeeded: key ^ (key >> 31)) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(n)
        }
    }
}

/// A span's hash with its length folded in, as one key.
@inline(__always)
func lengthKey(_ hash: UInt64, _ length: Int) -> UInt64 {
    (hash ^ UInt64(truncatingIfNeeded: length)) &* 0x9E37_79B9_7F4A_7C15
}
