// Gopher's repetition rules (Rae et al. 2021, table A1) with datatrove's reason names:
// duplicate paragraphs and lines (as a share of elements and of characters), the most
// frequent 2-, 3-, 4-gram's share of characters, and the share of characters in repeated
// 5- to 10-grams. Every share is of the whole text's length in scalars.

public struct GopherRepetitionFilter: DocumentFilter {
    public struct Config: Sendable, Equatable {
        public var dupLineFrac: Double? = 0.3
        public var dupParaFrac: Double? = 0.3
        public var dupLineCharFrac: Double? = 0.2
        public var dupParaCharFrac: Double? = 0.2
        /// (n, most characters the top n-gram may cover).
        public var topNGrams: [NGramLimit] = [.init(2, 0.2), .init(3, 0.18), .init(4, 0.16)]
        /// (n, most characters repeated n-grams may cover).
        public var dupNGrams: [NGramLimit] = [.init(5, 0.15), .init(6, 0.14), .init(7, 0.13), .init(8, 0.12),
                                              .init(9, 0.11), .init(10, 0.10)]
        public init() {}
    }

    public struct NGramLimit: Sendable, Equatable {
        public var n: Int
        public var fraction: Double
        public init(_ n: Int, _ fraction: Double) {
            self.n = n
            self.fraction = fraction
        }
    }

    public var config: Config
    public let name = "gopher_repetition"

    public init(_ config: Config = Config()) { self.config = config }

    public func check(_ doc: AnalyzedText) -> FilterVerdict {
        let c = config
        let length = Double(doc.scalars.count)
        // datatrove divides by the length and fails on an empty text; an empty text repeats nothing.
        guard length > 0 else { return .keep }

        let paragraphs = paragraphSpans(doc)
        let (paraDups, paraDupChars) = findDuplicates(doc, paragraphs)
        if let m = c.dupParaFrac, Double(paraDups) / Double(paragraphs.count) > m { return .drop("dup_para_frac") }
        if let m = c.dupParaCharFrac, Double(paraDupChars) / length > m { return .drop("dup_para_char_frac") }

        let lines = lineSpans(doc)
        let (lineDups, lineDupChars) = findDuplicates(doc, lines)
        if let m = c.dupLineFrac, Double(lineDups) / Double(lines.count) > m { return .drop("dup_line_frac") }
        if let m = c.dupLineCharFrac, Double(lineDupChars) / length > m { return .drop("dup_line_char_frac") }

        let words = doc.words
        let hashes = doc.wordHashes
        for limit in c.topNGrams where words.count >= limit.n {
            if Double(topNGramCharacters(words, hashes, limit.n)) / length > limit.fraction {
                return .drop("top_\(limit.n)_gram")
            }
        }
        for limit in c.dupNGrams {
            if Double(duplicatedNGramCharacters(words, hashes, limit.n)) / length > limit.fraction {
                return .drop("duplicated_\(limit.n)_n_grams")
            }
        }
        return .keep
    }

    /// `re.split(r"\n{2,}", text.strip())`.
    func paragraphSpans(_ doc: AnalyzedText) -> [Span] {
        let body = doc.stripped(Span(start: 0, end: doc.scalars.count))
        let s = doc.scalars
        var out: [Span] = []
        var start = body.start, i = body.start
        while i < body.end {
            if s[i] == 0x0A && i + 1 < body.end && s[i + 1] == 0x0A {
                out.append(Span(start: start, end: i))
                var j = i
                while j < body.end && s[j] == 0x0A { j += 1 }
                start = j
                i = j
            } else {
                i += 1
            }
        }
        out.append(Span(start: start, end: body.end))
        return out
    }

    /// `re.split("\n+", text)`: empty first and last pieces when the text starts or ends with `\n`.
    func lineSpans(_ doc: AnalyzedText) -> [Span] {
        let s = doc.scalars
        var out: [Span] = []
        var start = 0, i = 0
        while i < s.count {
            if s[i] == 0x0A {
                out.append(Span(start: start, end: i))
                while i < s.count && s[i] == 0x0A { i += 1 }
                start = i
            } else {
                i += 1
            }
        }
        out.append(Span(start: start, end: s.count))
        return out
    }

    /// Characters of the most frequent n-gram (words joined by spaces) times its count; among
    /// equally frequent ones, the first to appear, as `Counter.most_common(1)` picks.
    func topNGramCharacters(_ words: [Span], _ hashes: [(hash: UInt64, power: UInt64)], _ n: Int) -> Int {
        var counts = HashCounter(capacity: words.count)
        var firstSeen: [Int] = []
        firstSeen.reserveCapacity(words.count)
        for i in 0...(words.count - n) {
            var h: UInt64 = 0
            for k in i..<(i + n) { h = (h &* hashes[k].power &+ hashes[k].hash) &* TextHash.base &+ 0x20 }
            if counts.add(h) == 0 { firstSeen.append(i) }
        }
        // Keys are in order of first appearance, so the first maximum is Counter's pick.
        var best = (count: 0, first: 0)
        for (slot, count) in counts.counts.enumerated() where Int(count) > best.count {
            best = (Int(count), firstSeen[slot])
        }
        var chars = n - 1
        for k in best.first..<(best.first + n) { chars += words[k].count }
        return chars * best.count
    }

    /// Characters in n-grams (words concatenated without separator, as datatrove keys them)
    /// already seen earlier; after a repeat the scan jumps past it, so no character counts twice.
    func duplicatedNGramCharacters(_ words: [Span], _ hashes: [(hash: UInt64, power: UInt64)], _ n: Int) -> Int {
        guard words.count >= n else { return 0 }
        var seen = HashCounter(capacity: words.count)
        var repeated = 0, i = 0
        while i <= words.count - n {
            var h: UInt64 = 0, chars = 0
            for k in i..<(i + n) {
                h = h &* hashes[k].power &+ hashes[k].hash
                chars += words[k].count
            }
            if seen.add(lengthKey(h, chars)) == 0 {
                i += 1
            } else {
                repeated += chars
                i += n
            }
        }
        return repeated
    }
}
