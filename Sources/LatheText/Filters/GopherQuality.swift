// Gopher's quality rules (Rae et al. 2021, appendix A1), with datatrove's thresholds and
// reason names: word counts and mean word length over words that are not pure punctuation,
// `#` and ellipsis per word, bullet and ellipsis lines, the share of words with a letter,
// and at least two distinct English stop words (matched case-sensitively, as datatrove does).

public struct GopherQualityFilter: DocumentFilter {
    /// Every rule's threshold; nil turns that rule off.
    public struct Config: Sendable, Equatable {
        public var minDocWords: Int? = 50
        public var maxDocWords: Int? = 100_000
        public var minAvgWordLength: Double? = 3
        public var maxAvgWordLength: Double? = 10
        /// Most `#` (and, separately, `...`/`…`) per word.
        public var maxSymbolWordRatio: Double? = 0.1
        /// Most lines starting with `•` or `-`.
        public var maxBulletLinesRatio: Double? = 0.9
        /// Most lines ending with `...` or `…`.
        public var maxEllipsisLinesRatio: Double? = 0.3
        /// Least share of words with at least one letter (datatrove's `max_non_alpha_words_ratio`).
        public var minAlphaWordsRatio: Double? = 0.8
        public var minStopWords: Int? = 2
        public var stopWords: Set<String> = ["the", "be", "to", "of", "and", "that", "have", "with"]
        public init() {}
    }

    public var config: Config
    public let name = "gopher_quality"

    public init(_ config: Config = Config()) { self.config = config }

    public func check(_ doc: AnalyzedText) -> FilterVerdict {
        let s = doc.scalars
        let words = doc.words
        let nWords = words.count
        var nonSymbolWords = 0, nonSymbolChars = 0, alphaWords = 0
        for w in words {
            var symbolOnly = true, hasAlpha = false
            for k in w.start..<w.end {
                let c = s[k]
                if symbolOnly && !TextFacts.isPunctuation(c) { symbolOnly = false }
                if !hasAlpha && TextFacts.isAlpha(c) { hasAlpha = true }
                if !symbolOnly && hasAlpha { break }
            }
            if !symbolOnly {
                nonSymbolWords += 1
                nonSymbolChars += w.count
            }
            if hasAlpha { alphaWords += 1 }
        }
        let c = config
        if let m = c.minDocWords, nonSymbolWords < m { return .drop("gopher_short_doc") }
        if let m = c.maxDocWords, nonSymbolWords > m { return .drop("gopher_long_doc") }
        // An empty word list gives NaN in datatrove, which fails no comparison.
        if nonSymbolWords > 0 {
            let avg = Double(nonSymbolChars) / Double(nonSymbolWords)
            if let m = c.minAvgWordLength, avg < m { return .drop("gopher_below_avg_threshold") }
            if let m = c.maxAvgWordLength, avg > m { return .drop("gopher_above_avg_threshold") }
        }
        guard nWords > 0 else { return .keep }
        if let m = c.maxSymbolWordRatio {
            if Double(doc.count([0x23])) / Double(nWords) > m { return .drop("gopher_too_many_hashes") }
            let ellipses = doc.count([0x2E, 0x2E, 0x2E]) + doc.count([0x2026])
            if Double(ellipses) / Double(nWords) > m { return .drop("gopher_too_many_ellipsis") }
        }
        if c.maxBulletLinesRatio != nil || c.maxEllipsisLinesRatio != nil {
            let lines = doc.pythonSplitLines()
            if !lines.isEmpty {
                var bullets = 0, ellipsisEnds = 0
                for line in lines {
                    let t = doc.stripped(line)
                    if doc.hasPrefix(t, 0x2022) || doc.hasPrefix(t, 0x2D) { bullets += 1 }
                    if doc.hasSuffix(t, [0x2E, 0x2E, 0x2E]) || doc.hasSuffix(t, [0x2026]) { ellipsisEnds += 1 }
                }
                let n = Double(lines.count)
                if let m = c.maxBulletLinesRatio, Double(bullets) / n > m { return .drop("gopher_too_many_bullets") }
                if let m = c.maxEllipsisLinesRatio, Double(ellipsisEnds) / n > m {
                    return .drop("gopher_too_many_end_ellipsis")
                }
            }
        }
        if let m = c.minAlphaWordsRatio, Double(alphaWords) / Double(nWords) < m {
            return .drop("gopher_below_alpha_threshold")
        }
        if let m = c.minStopWords, distinctStopWords(doc, limit: m) < m { return .drop("gopher_enough_stop_words") }
        return .keep
    }

    private func distinctStopWords(_ doc: AnalyzedText, limit: Int) -> Int {
        let maxLength = config.stopWords.map { $0.unicodeScalars.count }.max() ?? 0
        var found = Set<String>()
        for w in doc.words where w.count <= maxLength {
            let word = doc.string(w)
            if config.stopWords.contains(word) {
                found.insert(word)
                if found.count >= limit { break }
            }
        }
        return found.count
    }
}
