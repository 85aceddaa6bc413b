// FineWeb's own rules (Penedo et al. 2024) as datatrove's FineWebQualityFilter applies them,
// over the non-blank lines of `text.split("\n")`: enough lines ending in terminal punctuation,
// not too many short lines, few characters in duplicated lines, not too many newlines per word.

public struct FineWebQualityFilter: DocumentFilter {
    public struct Config: Sendable, Equatable {
        /// Least share of lines ending in a sentence terminal.
        public var linePunctThreshold = 0.12
        /// When true, a document with no such line at all passes that rule.
        public var linePunctExcludeZero = false
        /// Most share of lines of at most `shortLineLength` characters.
        public var shortLineThreshold = 0.67
        public var shortLineLength = 30
        /// Most characters in repeated lines, as a share of the text without newlines.
        public var charDuplicatesRatio = 0.01
        /// Most newlines per word.
        public var newLineRatio = 0.3
        public init() {}
    }

    public var config: Config
    public let name = "fineweb_quality"

    public init(_ config: Config = Config()) { self.config = config }

    public func check(_ doc: AnalyzedText) -> FilterVerdict {
        let c = config
        let s = doc.scalars
        let lines = doc.splitNewlines().filter { doc.stripped($0).count > 0 }
        guard !lines.isEmpty else { return .drop("empty") }
        let n = Double(lines.count)

        let punctuated = lines.filter { TextFacts.isTerminalPunctuation(s[$0.end - 1]) }.count
        let punctRatio = Double(punctuated) / n
        if punctRatio < c.linePunctThreshold && !(punctRatio == 0 && c.linePunctExcludeZero) {
            return .drop("line_punct_ratio")
        }
        let short = lines.filter { $0.count <= c.shortLineLength }.count
        if Double(short) / n > c.shortLineThreshold { return .drop("short_line_ratio") }

        let newlines = s.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        let dupChars = findDuplicates(doc, lines).characters
        if Double(dupChars) / Double(s.count - newlines) > c.charDuplicatesRatio { return .drop("char_dup_ratio") }

        if Double(newlines) / Double(doc.wordCount) > c.newLineRatio { return .drop("list_ratio") }
        return .keep
    }
}
