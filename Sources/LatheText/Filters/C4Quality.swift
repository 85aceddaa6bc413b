// C4's cleaning rules (Raffel et al. 2020) as datatrove's C4QualityFilter applies them: line by
// line, drop lines with a word over 1000 characters, Wikipedia citation marks, lines without
// terminal punctuation, lines of fewer than 3 words, lines mentioning javascript or a cookie
// or terms-of-use phrase; drop the whole page for "lorem ipsum" or a curly bracket, or when
// fewer than 5 sentences remain. A kept page's text is its kept lines, which later filters see.

public struct C4QualityFilter: DocumentFilter {
    public struct Config: Sendable, Equatable {
        public var removeCitations = true
        /// Keep only lines ending in `.`, `?`, `!`, `"` or `'` (and not in `...`).
        public var filterNoTerminalPunctuation = true
        /// Least sentences over the kept lines; nil turns the rule off.
        public var minSentences: Int? = 5
        /// Least words (whitespace-separated) in a kept line; nil turns the rule off.
        public var minWordsPerLine: Int? = 3
        /// Lines with a longer word are dropped; nil turns the rule off.
        public var maxWordLength: Int? = 1000
        public var filterLoremIpsum = true
        public var filterJavascript = true
        public var filterCurlyBracket = true
        public var filterPolicy = true

        public init(removeCitations: Bool = true, filterNoTerminalPunctuation: Bool = true, minSentences: Int? = 5,
                    minWordsPerLine: Int? = 3, maxWordLength: Int? = 1000, filterLoremIpsum: Bool = true,
                    filterJavascript: Bool = true, filterCurlyBracket: Bool = true, filterPolicy: Bool = true) {
            self.removeCitations = removeCitations
            self.filterNoTerminalPunctuation = filterNoTerminalPunctuation
            self.minSentences = minSentences
            self.minWordsPerLine = minWordsPerLine
            self.maxWordLength = maxWordLength
            self.filterLoremIpsum = filterLoremIpsum
            self.filterJavascript = filterJavascript
            self.filterCurlyBracket = filterCurlyBracket
            self.filterPolicy = filterPolicy
        }
    }

    public var config: Config
    public let name = "c4_quality"

    public init(_ config: Config = Config()) { self.config = config }

    static let policyPhrases = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                                "use cookies"].map { Array($0.unicodeScalars.map(\.value)) }
    static let loremIpsum = Array("lorem ipsum".unicodeScalars.map(\.value))
    static let javascript = Array("javascript".unicodeScalars.map(\.value))

    public func check(_ doc: AnalyzedText) -> FilterVerdict {
        let c = config
        var sentences = 0
        var kept: [[UInt32]] = []
        for raw in doc.pythonSplitLines() {
            let span = doc.stripped(raw)
            var line = Array(doc.scalars[span.start..<span.end])
            let (wordCount, longestWord) = whitespaceWords(line)
            if let m = c.maxWordLength, longestWord > m { continue }
            if c.removeCitations { line = removingCitations(line) }
            if c.filterNoTerminalPunctuation {
                guard let last = line.last, last == 0x2E || last == 0x3F || last == 0x21 || last == 0x22 || last == 0x27
                else { continue }
                if line.count >= 3 && line[line.count - 3..<line.count].allSatisfy({ $0 == 0x2E }) { continue }
            }
            if let m = c.minWordsPerLine, wordCount < m { continue }
            let lower = line.map(Self.lowercase)
            if c.filterLoremIpsum && contains(lower, Self.loremIpsum) { return .drop("lorem_ipsum") }
            if c.filterJavascript && contains(lower, Self.javascript) { continue }
            if c.filterCurlyBracket && line.contains(0x7B) { return .drop("curly_bracket") }
            if c.filterPolicy && Self.policyPhrases.contains(where: { contains(lower, $0) }) { continue }
            // Only whether the count reaches the minimum matters, so counting stops there.
            if let m = c.minSentences, sentences < m {
                sentences += WordTokenizer.sentenceCount(line, Span(start: 0, end: line.count))
            }
            kept.append(line)
        }
        if let m = c.minSentences, sentences < m { return .drop("too_few_sentences") }

        // Lines were stripped, so only empty first or last lines can leave outer whitespace.
        var first = 0, last = kept.count
        while first < last && kept[first].isEmpty { first += 1 }
        while last > first && kept[last - 1].isEmpty { last -= 1 }
        var joined: [UInt32] = []
        joined.reserveCapacity(doc.scalars.count)
        for i in first..<last {
            if i > first { joined.append(0x0A) }
            joined.append(contentsOf: kept[i])
        }
        if joined == doc.scalars { return .keep }
        return .rewrite(utf8String(joined))
    }

    private static func lowercase(_ c: UInt32) -> UInt32 {
        if c >= 0x41 && c <= 0x5A { return c + 0x20 }
        if c < 0x80 { return c }
        // Only ASCII phrases are searched for; a non-ASCII letter can lower to ASCII only via
        // the Kelvin sign and dotted capital I, which Python lowers to `k` and `i̇`.
        if c == 0x212A { return 0x6B }
        return c
    }

    private func contains(_ hay: [UInt32], _ needle: [UInt32]) -> Bool {
        guard hay.count >= needle.count else { return false }
        outer: for i in 0...(hay.count - needle.count) {
            for k in 0..<needle.count where hay[i + k] != needle[k] { continue outer }
            return true
        }
        return false
    }

    /// Number of whitespace-separated words and the longest one's length.
    private func whitespaceWords(_ line: [UInt32]) -> (count: Int, longest: Int) {
        var count = 0, longest = 0, n = 0
        for c in line {
            if TextFacts.isSpace(c) {
                if n > 0 { count += 1; longest = max(longest, n); n = 0 }
            } else {
                n += 1
            }
        }
        if n > 0 { count += 1; longest = max(longest, n) }
        return (count, longest)
    }

    /// Removes `[digits]`, `[edit]` and `[citation needed]`, as datatrove's citation regex does.
    private func removingCitations(_ line: [UInt32]) -> [UInt32] {
        guard line.contains(0x5B) else { return line }
        var out: [UInt32] = []
        out.reserveCapacity(line.count)
        var i = 0
        let edit = Array("[edit]".unicodeScalars.map(\.value))
        let needed = Array("[citation needed]".unicodeScalars.map(\.value))
        while i < line.count {
            if line[i] == 0x5B {
                var j = i + 1
                while j < line.count && TextFacts.isUnicodeDigit(line[j]) { j += 1 }
                if j < line.count && line[j] == 0x5D { i = j + 1; continue }
                if startsWith(line, i, edit) { i += edit.count; continue }
                if startsWith(line, i, needed) { i += needed.count; continue }
            }
            out.append(line[i])
            i += 1
        }
        return out
    }

    private func startsWith(_ a: [UInt32], _ i: Int, _ p: [UInt32]) -> Bool {
        guard i + p.count <= a.count else { return false }
        for k in 0..<p.count where a[i + k] != p[k] { return false }
        return true
    }
}

/// A string from scalar values, through UTF-8.
func utf8String(_ scalars: [UInt32]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(scalars.count + scalars.count / 4)
    for v in scalars {
        if v < 0x80 {
            bytes.append(UInt8(v))
        } else if v < 0x800 {
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
