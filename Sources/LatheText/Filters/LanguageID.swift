import Foundation

// Language identification in two steps. First the script: the share of letters in each
// Unicode script decides languages that have a script to themselves (Greek, Hebrew, Thai,
// Korean, ...), and Japanese against Chinese by the share of kana among CJK letters. Then,
// within a script shared by several languages (Latin, Cyrillic, Arabic), a naive Bayes
// classifier over character trigrams and whole stop words, trained at start-up on
// LanguageData's word lists and sentences. The score is the winning language's share of the
// evidence (a softmax over the per-language log-likelihoods, tempered so that a long text
// does not count as more independent evidence than its first few hundred letters), times the
// share of letters in its script: it reads like fastText's probability, in [0, 1].

enum Script: String, Sendable, CaseIterable {
    case latin, cyrillic, greek, armenian, hebrew, arabic, devanagari, bengali, tamil, thai, georgian, hangul, kana, han

    static func of(_ c: UInt32) -> Script? {
        switch c {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x24F, 0x1E00...0x1EFF: .latin
        case 0x370...0x3FF, 0x1F00...0x1FFF: .greek
        case 0x400...0x52F: .cyrillic
        case 0x531...0x58F: .armenian
        case 0x5D0...0x5FF: .hebrew
        case 0x620...0x64A, 0x66E...0x6D3, 0x6FA...0x6FF, 0x750...0x77F, 0xFB50...0xFDFF, 0xFE70...0xFEFF: .arabic
        case 0x900...0x97F: .devanagari
        case 0x980...0x9FF: .bengali
        case 0xB80...0xBFF: .tamil
        case 0xE00...0xE7F: .thai
        case 0x10A0...0x10FF: .georgian
        case 0x1100...0x11FF, 0x3130...0x318F, 0xAC00...0xD7AF: .hangul
        case 0x3040...0x30FF: .kana
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF: .han
        default: nil
        }
    }

    /// The language a script alone identifies.
    var soleLanguage: String? {
        switch self {
        case .greek: "el"
        case .armenian: "hy"
        case .hebrew: "he"
        case .devanagari: "hi"
        case .bengali: "bn"
        case .tamil: "ta"
        case .thai: "th"
        case .georgian: "ka"
        case .hangul: "ko"
        default: nil
        }
    }
}

public struct LanguageIdentifier: Sendable {
    public static let shared = LanguageIdentifier()

    /// Letters read from the start of a text; more changes no decision worth its time.
    public var maxLetters = 1000

    private struct Profile: Sendable {
        let code: String
        let trigrams: [UInt64: Float]
        let unseen: Float
        let stopWords: Set<String>
        let letters: Set<UInt32>?
        let foreign: Set<UInt32>
    }

    private let groups: [Script: [Profile]]
    /// Per script: each trigram's log-probability under every language of the group (one
    /// lookup per trigram), and each stop word's languages as a bit mask.
    private let trigramTables: [Script: [UInt64: [Float]]]
    private let stopWordTables: [Script: [String: UInt32]]

    /// Every language this identifier can return, as ISO 639-1 codes.
    public var languages: [String] {
        (groups.values.flatMap { $0.map(\.code) } + Script.allCases.compactMap(\.soleLanguage) + ["ja", "zh"]).sorted()
    }

    public init() {
        var groups: [Script: [Profile]] = [:]
        for d in LanguageData.profiles {
            var counts: [UInt64: Int] = [:]
            let training = d.sample + " " + d.stopWords + " " + d.stopWords
            let text = Self.normalized(Array(training.unicodeScalars.map(\.value)), limit: Int.max)
            Self.forEachTrigram(text) { counts[$0, default: 0] += 1 }
            let total = Float(counts.values.reduce(0, +))
            let vocabulary = Float(counts.count)
            let alpha: Float = 0.3
            var logp: [UInt64: Float] = [:]
            for (t, n) in counts { logp[t] = log((Float(n) + alpha) / (total + alpha * vocabulary * 4)) }
            let unseen = log(alpha / (total + alpha * vocabulary * 4))
            let stops = Set(d.stopWords.split(separator: " ").map(String.init))
            let own = d.letters.map { Set($0.unicodeScalars.map(\.value)) }
            let foreign = Set(d.foreign.unicodeScalars.map(\.value))
            groups[d.script, default: []].append(Profile(code: d.code, trigrams: logp, unseen: unseen, stopWords: stops,
                                                         letters: own, foreign: foreign))
        }
        self.groups = groups
        var trigramTables: [Script: [UInt64: [Float]]] = [:]
        var stopWordTables: [Script: [String: UInt32]] = [:]
        for (script, profiles) in groups {
            var table: [UInt64: [Float]] = [:]
            for (i, p) in profiles.enumerated() {
                for (t, lp) in p.trigrams {
                    if table[t] == nil { table[t] = profiles.map(\.unseen) }
                    table[t]![i] = lp
                }
            }
            trigramTables[script] = table
            var stops: [String: UInt32] = [:]
            for (i, p) in profiles.enumerated() { for w in p.stopWords { stops[w, default: 0] |= 1 << UInt32(i) } }
            stopWordTables[script] = stops
        }
        self.trigramTables = trigramTables
        self.stopWordTables = stopWordTables
    }

    /// The most likely language (ISO 639-1, or `und` for a text without letters) and its score in [0, 1].
    public func identify(_ text: String) -> (lang: String, score: Double) {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(min(text.utf8.count, maxLetters * 2))
        var seen = 0
        // `allCases` builds a new array at each use: once here, not once per letter.
        let scripts = Script.allCases
        var counts = [Int](repeating: 0, count: scripts.count)
        var letters = 0
        for u in text.unicodeScalars {
            scalars.append(u.value)
            if let s = Script.of(u.value) {
                counts[scripts.firstIndex(of: s)!] += 1
                letters += 1
                seen += 1
                if seen >= maxLetters { break }
            }
        }
        guard letters > 0 else { return ("und", 0) }
        let cjk = counts[scripts.firstIndex(of: .han)!] + counts[scripts.firstIndex(of: .kana)!]
        var best = scripts.indices.max { counts[$0] < counts[$1] }!
        var script = scripts[best]
        if cjk > counts[best] { script = .han; best = scripts.firstIndex(of: .han)! }
        let share = Double(script == .han || script == .kana ? cjk : counts[best]) / Double(letters)

        if script == .han || script == .kana {
            let kana = counts[scripts.firstIndex(of: .kana)!]
            return Double(kana) >= 0.05 * Double(cjk) ? ("ja", share) : ("zh", share)
        }
        if let sole = script.soleLanguage { return (sole, share) }
        guard let profiles = groups[script] else { return ("und", 0) }
        let (code, p) = classify(scalars, profiles, trigramTables[script]!, stopWordTables[script]!)
        return (code, p * share)
    }

    private func classify(_ scalars: [UInt32], _ profiles: [Profile], _ trigrams: [UInt64: [Float]],
                          _ stopWords: [String: UInt32]) -> (String, Double) {
        let letters = Self.normalized(scalars, limit: maxLetters)
        var scores = [Double](repeating: 0, count: profiles.count)
        var features = 0
        Self.forEachTrigram(letters) { t in
            features += 1
            if let row = trigrams[t] {
                for i in row.indices { scores[i] += Double(row[i]) }
            } else {
                for (i, p) in profiles.enumerated() { scores[i] += Double(p.unseen) }
            }
        }
        // Whole stop words: strong evidence no trigram model this small gives.
        var word = String.UnicodeScalarView()
        func endWord() {
            guard !word.isEmpty else { return }
            let w = String(word)
            features += 1
            if let mask = stopWords[w] {
                for i in profiles.indices where mask & (1 << UInt32(i)) != 0 { scores[i] += 2.5 }
            }
            word = String.UnicodeScalarView()
        }
        for c in letters {
            if c == 0x20 { endWord(); continue }
            word.append(Unicode.Scalar(c)!)
            guard c >= 0x80 else { continue }
            // A letter the language does not write is strong evidence against it.
            for (i, p) in profiles.enumerated() {
                if let own = p.letters, !own.contains(c), Script.of(c) != nil { scores[i] -= 6 }
                if p.foreign.contains(c) { scores[i] -= 6 }
            }
        }
        endWord()
        guard features > 0 else { return (profiles[0].code, 0) }
        // Evidence beyond about 150 features is not independent enough to sharpen further.
        let temper = min(1.0, 150.0 / Double(features))
        let top = scores.max()!
        let weights = scores.map { exp(($0 - top) * temper) }
        let total = weights.reduce(0, +)
        let i = scores.firstIndex(of: top)!
        return (profiles[i].code, weights[i] / total)
    }

    /// Lower-cased letters with every run of non-letters as one space, padded with spaces.
    private static func normalized(_ s: [UInt32], limit: Int) -> [UInt32] {
        var out: [UInt32] = [0x20]
        var n = 0
        for c in s {
            if TextFacts.isAlpha(c) || (c >= 0x64B && c <= 0x652) || c == 0x670 || c == 0x6C1 || c == 0x6BE {
                let lower = c < 0x80 ? (c >= 0x41 && c <= 0x5A ? c + 0x20 : c) : (Unicode.Scalar(c)?.properties.lowercaseMapping.unicodeScalars.first?.value ?? c)
                out.append(lower)
                n += 1
                if n >= limit { break }
            } else if out.last != 0x20 && c != 0x27 && c != 0x2019 {
                out.append(0x20)
            }
        }
        if out.last != 0x20 { out.append(0x20) }
        return out
    }

    private static func forEachTrigram(_ s: [UInt32], _ body: (UInt64) -> Void) {
        guard s.count >= 3 else { return }
        for i in 0..<(s.count - 2) where !(s[i + 1] == 0x20) {
            body(UInt64(s[i]) << 42 | UInt64(s[i + 1]) << 21 | UInt64(s[i + 2]))
        }
    }
}

/// Keeps documents whose identified language is one of `languages` with at least `minScore`.
/// Drops with reason `language` (datatrove's LanguageFilter gives none).
public struct LanguageFilter: DocumentFilter {
    public let languages: Set<String>
    public let minScore: Double
    public let name = "language"

    public init(languages: Set<String>, minScore: Double = 0.65) {
        self.languages = languages
        self.minScore = minScore
    }

    public func check(_ doc: AnalyzedText) -> FilterVerdict {
        let (lang, score) = LanguageIdentifier.shared.identify(doc.text)
        return languages.contains(lang) && score >= minScore ? .keep : .drop("language")
    }
}
