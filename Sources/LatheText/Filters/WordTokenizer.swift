// English word tokenizer with the behaviour of spaCy's blank English tokenizer, which is
// what datatrove's `split_into_words` runs for English: split on whitespace, then peel
// prefixes and suffixes (punctuation, quotes, currency, units after a number, a final
// period), keep special cases whole or split them their way (contractions, abbreviations,
// emoticons), keep URL-like chunks whole, and split the rest on infixes (hyphens between
// letters, `.` between a lower- and an upper-case letter, `,` between letters, arithmetic
// between digits). Gopher's word counts, mean word length and n-grams all depend on it.
//
// Written from spaCy's documented rules and its observed output, not from its tables: the
// exception list here is the part of spaCy's that web text actually hits.

enum WordTokenizer {
    /// Word spans of `s` (scalar values), whitespace never included.
    static func words(_ s: [UInt32]) -> [Span] {
        var out: [Span] = []
        out.reserveCapacity(s.count / 5)
        words(s, Span(start: 0, end: s.count), into: &out)
        return out
    }

    static func words(_ s: [UInt32], _ range: Span, into out: inout [Span]) {
        var i = range.start
        let end = range.end
        while i < end {
            while i < end && TextFacts.isSpace(s[i]) { i += 1 }
            var j = i
            while j < end && !TextFacts.isSpace(s[j]) { j += 1 }
            if j > i { chunk(s, i, j, &out) }
            i = j
        }
    }

    /// spaCy's sentencizer over the tokens of `range`: a sentence ends at a sentence
    /// terminal token, once a token follows that is neither a terminal nor punctuation.
    static func sentenceCount(_ s: [UInt32], _ range: Span) -> Int {
        var tokens: [Span] = []
        words(s, range, into: &tokens)
        var count = 1
        var seenTerminal = false
        for t in tokens {
            let terminal = t.count == 1 && isSentencizerPunct(s[t.start])
            if seenTerminal && !terminal && !isPunctToken(s, t) {
                count += 1
                seenTerminal = false
            } else if terminal {
                seenTerminal = true
            }
        }
        return count
    }

    // MARK: - one whitespace-free chunk

    private static func chunk(_ s: [UInt32], _ a: Int, _ b: Int, _ out: inout [Span]) {
        // Most chunks are plain words or numbers: no affix, infix or URL rule can apply to
        // all-letter or all-digit ASCII, and only letters can be a special case ("dont").
        var letters = true, digits = true
        for k in a..<b {
            let c = s[k] | 0x20
            if !(c >= 0x61 && c <= 0x7A) { letters = false }
            if !(s[k] >= 0x30 && s[k] <= 0x39) { digits = false }
            if !letters && !digits { break }
        }
        if digits || letters {
            if letters, let pieces = special(s, a, b) {
                var p = a
                for n in pieces {
                    out.append(Span(start: p, end: p + n))
                    p += n
                }
            } else {
                out.append(Span(start: a, end: b))
            }
            return
        }
        var start = a, end = b
        var prefixes: [Span] = []
        var suffixes: [Span] = []
        var lastSize = -1
        while start < end && end - start != lastSize {
            if special(s, start, end) != nil { break }
            lastSize = end - start
            let pre = prefixLength(s, start, end)
            if pre > 0 && start + pre < end && special(s, start + pre, end) != nil {
                prefixes.append(Span(start: start, end: start + pre))
                start += pre
                break
            }
            let suf = suffixLength(s, start + pre, end)
            if suf > 0 && end - suf > start && special(s, start, end - suf) != nil {
                suffixes.append(Span(start: end - suf, end: end))
                end -= suf
                break
            }
            if pre > 0 && suf > 0 && pre + suf <= end - start {
                prefixes.append(Span(start: start, end: start + pre))
                suffixes.append(Span(start: end - suf, end: end))
                start += pre
                end -= suf
            } else if pre > 0 {
                prefixes.append(Span(start: start, end: start + pre))
                start += pre
            } else if suf > 0 {
                suffixes.append(Span(start: end - suf, end: end))
                end -= suf
            }
            if start < end && special(s, start, end) != nil { break }
        }
        out.append(contentsOf: prefixes)
        if start < end {
            if let pieces = special(s, start, end) {
                var p = start
                for n in pieces {
                    out.append(Span(start: p, end: p + n))
                    p += n
                }
            } else if isURL(s, start, end) {
                out.append(Span(start: start, end: end))
            } else {
                splitInfixes(s, start, end, &out)
            }
        }
        out.append(contentsOf: suffixes.reversed())
    }

    // MARK: - prefixes and suffixes

    private static let prefixChars: Set<UInt32> = Set(
        "§%=—–…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿"
            .unicodeScalars.map(\.value))
    private static let asciiPrefix: [Bool] = (0..<128).map { prefixChars.contains(UInt32($0)) }
    private static let punctChars: Set<UInt32> = Set("…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪".unicodeScalars.map(\.value))
    private static let quoteChars: Set<UInt32> = Set("'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧".unicodeScalars.map(\.value))
    private static let currencyChars: Set<UInt32> = Set("$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿".unicodeScalars.map(\.value))
    private static let units: Set<String> = Set(
        ("km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h kmh "
            + "mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см см² см³ мм мм² "
            + "мм³ нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тб")
            .split(separator: " ").map(String.init))
    private static let unitTable = ScalarTable(Dictionary(uniqueKeysWithValues: units.map { ($0, true) }))

    private static func isIcon(_ c: UInt32) -> Bool {
        if c < 0xA6 || c == 0xB0 { return false }
        return Unicode.Scalar(c)?.properties.generalCategory == .otherSymbol
    }

    private static func prefixLength(_ s: [UInt32], _ a: Int, _ b: Int) -> Int {
        let c = s[a]
        if c == 0x2E {  // `..+`
            var j = a
            while j < b && s[j] == 0x2E { j += 1 }
            return j - a >= 2 ? j - a : 0
        }
        if c == 0x2B { return a + 1 < b && TextFacts.isDigit(s[a + 1]) ? 0 : 1 }
        if c < 0x80 ? asciiPrefix[Int(c)] : prefixChars.contains(c) { return 1 }
        if (c == 0x55 && a + 2 < b && s[a + 1] == 0x53 && s[a + 2] == 0x24) { return 3 }  // US$
        if (c == 0x43 || c == 0x41) && a + 1 < b && s[a + 1] == 0x24 { return 2 }  // C$ A$
        if isIcon(c) { return 1 }
        return 0
    }

    /// The leftmost position from which the rest of `s[a..<b]` is one suffix, as a regex
    /// search for `(?:...)$` finds it.
    private static func suffixLength(_ s: [UInt32], _ a: Int, _ b: Int) -> Int {
        guard a < b else { return 0 }
        // A run of two or more periods is one suffix, and nothing else can start left of it.
        var j = b
        while j > a && s[j - 1] == 0x2E { j -= 1 }
        if b - j >= 2 { return b - j }
        for i in max(a, b - 6)..<b where suffixMatches(s, a, i, b) { return b - i }
        return 0
    }

    private static func suffixMatches(_ s: [UInt32], _ a: Int, _ i: Int, _ b: Int) -> Bool {
        let n = b - i
        let prev: UInt32? = i > a ? s[i - 1] : nil
        if n == 1 {
            let c = s[i]
            if punctChars.contains(c) || quoteChars.contains(c) || isIcon(c) || c == 0x2014 || c == 0x2013 { return true }
            if let p = prev {
                if c == 0x2B && TextFacts.isDigit(p) { return true }
                if TextFacts.isDigit(p) && (currencyChars.contains(c) || unitTable.value(s, i, b) != nil) { return true }
                if c == 0x2E {
                    if TextFacts.isDigit(p) || TextFacts.isLower(p) || p == 0x25 || p == 0xB2 || p == 0x2D || p == 0x2B
                        || punctChars.contains(p) || quoteChars.contains(p) { return true }
                    if i - 2 >= a && TextFacts.isUpper(p) && TextFacts.isUpper(s[i - 2]) { return true }
                    if i - 2 >= a && s[i - 2] == 0xB0 && "FfCcKk".unicodeScalars.contains(where: { $0.value == p }) { return true }
                }
            }
            return false
        }
        if n == 2 {
            let c0 = s[i], c1 = s[i + 1]
            if (c0 == 0x27 || c0 == 0x2019) && (c1 == 0x73 || c1 == 0x53) { return true }  // 's
            if c0 == 0x2026 && c1 == 0x2026 { return true }
        }
        if let p = prev, TextFacts.isDigit(p), n <= 5, unitTable.value(s, i, b) != nil { return true }
        return false
    }

    // MARK: - infixes

    private static func splitInfixes(_ s: [UInt32], _ a: Int, _ b: Int, _ out: inout [Span]) {
        var start = a
        var i = a
        while i < b {
            let len = infixLength(s, a, i, b)
            if len > 0 {
                if i != a {
                    out.append(Span(start: start, end: i))
                    out.append(Span(start: i, end: i + len))
                    start = i + len
                }
                i += len
            } else {
                i += 1
            }
        }
        if start < b { out.append(Span(start: start, end: b)) }
    }

    private static func isHyphen(_ c: UInt32) -> Bool { c == 0x2D || c == 0x2013 || c == 0x2014 || c == 0x7E }

    private static func infixLength(_ s: [UInt32], _ a: Int, _ i: Int, _ b: Int) -> Int {
        let c = s[i]
        if c == 0x2E && i + 1 < b && s[i + 1] == 0x2E {
            var j = i
            while j < b && s[j] == 0x2E { j += 1 }
            return j - i
        }
        if c == 0x2026 || isIcon(c) { return 1 }
        guard i > a else { return 0 }
        let p = s[i - 1]
        let next: UInt32? = i + 1 < b ? s[i + 1] : nil
        if (c == 0x2B || c == 0x2D || c == 0x2A || c == 0x5E) && TextFacts.isDigit(p),
           let n = next, TextFacts.isDigit(n) || n == 0x2D { return 1 }
        if c == 0x2E, let n = next, (TextFacts.isLower(p) || quoteChars.contains(p)) && (TextFacts.isUpper(n) || quoteChars.contains(n)) {
            return 1
        }
        if c == 0x2C, let n = next, TextFacts.isAlpha(p) && TextFacts.isAlpha(n) { return 1 }
        if isHyphen(c) && (TextFacts.isAlpha(p) || TextFacts.isDigit(p)) {
            var j = i
            while j < b && j - i < 3 && isHyphen(s[j]) && (s[j] == c) { j += 1 }
            if j < b && TextFacts.isAlpha(s[j]) { return j - i }
            return 0
        }
        if (c == 0x3A || c == 0x3C || c == 0x3E || c == 0x3D || c == 0x2F) && (TextFacts.isAlpha(p) || TextFacts.isDigit(p)),
           let n = next, TextFacts.isAlpha(n) { return 1 }
        return 0
    }

    // MARK: - URLs (spaCy's URL pattern, host and TLD part)

    private static func isURL(_ s: [UInt32], _ a: Int, _ b: Int) -> Bool {
        var p = a
        // scheme `[\w+\-.]{2,}://`
        var k = a
        while k + 2 < b && (TextFacts.isAlpha(s[k]) || TextFacts.isDigit(s[k]) || s[k] == 0x2B || s[k] == 0x2D || s[k] == 0x2E || s[k] == 0x5F) { k += 1 }
        if k - a >= 2 && k + 2 < b && s[k] == 0x3A && s[k + 1] == 0x2F && s[k + 2] == 0x2F { p = k + 3 }
        // userinfo `\S+@`: the host starts after the last `@` before any path
        var hostEnd = p
        while hostEnd < b && s[hostEnd] != 0x2F && s[hostEnd] != 0x3F && s[hostEnd] != 0x23 { hostEnd += 1 }
        if let at = (p..<hostEnd).last(where: { s[$0] == 0x40 }) { p = at + 1 }
        // host ends at `:`, `/`, `?`, `#`
        var h = p
        while h < b && s[h] != 0x3A && s[h] != 0x2F && s[h] != 0x3F && s[h] != 0x23 { h += 1 }
        guard hostMatches(s, p, h) else { return false }
        var r = h
        if r < b && s[r] == 0x3A {
            var d = r + 1
            while d < b && TextFacts.isDigit(s[d]) { d += 1 }
            guard d - r - 1 >= 2 && d - r - 1 <= 5 else { return false }
            r = d
        }
        if r < b { return s[r] == 0x2F || s[r] == 0x3F || s[r] == 0x23 }
        return true
    }

    private static func isHostChar(_ c: UInt32) -> Bool {
        (c < 0x80 && (TextFacts.isAlpha(c) || TextFacts.isDigit(c))) || (c >= 0xA1 && c <= 0xFFFF)
    }

    private static func hostMatches(_ s: [UInt32], _ a: Int, _ b: Int) -> Bool {
        guard let lastDot = (a..<b).last(where: { s[$0] == 0x2E }), lastDot > a else { return false }
        let tld = b - lastDot - 1
        guard tld >= 2 && tld <= 63 else { return false }
        for k in (lastDot + 1)..<b where !TextFacts.isLower(s[k]) { return false }
        var labelStart = a
        for k in a...lastDot where k == lastDot || s[k] == 0x2E {
            let n = k - labelStart
            guard n >= 1 && n <= 64, isHostChar(s[labelStart]), isHostChar(s[k - 1]) else { return false }
            for m in labelStart..<k where !(isHostChar(s[m]) || s[m] == 0x5F || s[m] == 0x2D) { return false }
            labelStart = k + 1
        }
        return true
    }

    // MARK: - special cases

    /// How a special case splits (piece lengths), or nil when `s[a..<b]` is not one.
    private static func special(_ s: [UInt32], _ a: Int, _ b: Int) -> [Int]? {
        let n = b - a
        guard n >= 2 && n <= 12 else { return nil }
        return specialTable.value(s, a, b)
    }

    private static let specialTable = ScalarTable(specialCases)

    /// Every special case with its piece lengths, in lower and Title case as spaCy lists them.
    private static let specialCases: [String: [Int]] = {
        var table: [String: [Int]] = [:]
        func add(_ word: String, _ pieces: [Int]) {
            table[word] = pieces
            table[word.prefix(1).uppercased() + word.dropFirst()] = pieces
        }
        let whole = """
            Mr. Mrs. Ms. Dr. St. Mt. Gen. Gov. Ltd. Co. Corp. Bros. Jr. Sen. Rep. Rev. Inc. Prof. vs. v.s. Messrs. \
            Adm. Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec. Ala. Ariz. Ark. Calif. Colo. Conn. \
            Del. Fla. Ga. Ill. Ind. Kan. Kans. Ky. La. Md. Mass. Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. \
            Okla. Ore. Pa. Tenn. Va. Wash. Wis. co. v. a.m. p.m. A.M. P.M. e.g. E.g. E.G. i.e. I.e. I.E. \
            U.S. U.K. U.S.A. N.Y. N.J. N.C. N.D. N.H. N.M. S.C. D.C. A.D. B.C. L.A. Ph.D. \
            'cause 'em 'bout ol' ma'am o'clock y'know rock'n'roll '' and/or \
            :) :( ;) :P :p :D :-( :-) :/ =) (: ): <3 </3 :'( xD XD o.O O.o -_- ^_^ :o :O 8) :] :3 (^_^) \\o/ :-P :-D ;-) :-/
            """
        for w in whole.split(separator: " ") { table[String(w)] = [w.unicodeScalars.count] }
        for c in "abcdefghijklmnopqrstuvwxyz" { add("\(c).", [2]) }
        for (word, pieces) in [("cannot", [3, 3]), ("gonna", [3, 2]), ("gotta", [3, 2]), ("y'all", [2, 3])] {
            add(word, pieces)
        }
        let verbs = ["ca", "ai", "sha", "wo", "do", "does", "did", "is", "was", "were", "are", "has", "have", "had",
                     "could", "should", "would", "must", "need", "might"]
        for v in verbs {
            let n = v.unicodeScalars.count
            add(v + "n't", [n, 3])
            add(v + "n\u{2019}t", [n, 3])
            add(v + "nt", [n, 2])
        }
        let suffixes: [(String, [String])] = [
            ("i", ["m", "ll", "d", "ve"]), ("you", ["re", "ll", "d", "ve"]), ("we", ["re", "ll", "d", "ve"]),
            ("they", ["re", "ll", "d", "ve"]), ("he", ["s", "ll", "d"]), ("she", ["s", "ll", "d"]),
            ("it", ["s", "ll", "d"]), ("who", ["s", "ll", "d", "re", "ve"]), ("what", ["s", "ll", "d", "re", "ve"]),
            ("when", ["s", "ll", "d"]), ("where", ["s", "ll", "d"]), ("why", ["s", "ll", "d"]),
            ("how", ["s", "ll", "d"]), ("there", ["s", "ll", "d"]), ("that", ["s", "ll", "d"]), ("here", ["s"]),
            ("could", ["ve"]), ("would", ["ve"]), ("should", ["ve"]), ("might", ["ve"]), ("must", ["ve"]),
        ]
        // Without the apostrophe these are words of their own, which spaCy leaves alone.
        let words: Set<String> = ["ill", "well", "were", "its", "hell", "shell", "shed", "wed", "id", "whys",
                                  "hows", "whens", "wheres", "heres", "theres", "whats", "itd", "thatd", "whod",
                                  "whatd", "hes", "whod"]
        for (stem, ends) in suffixes {
            let n = stem.unicodeScalars.count
            for e in ends {
                let m = e.unicodeScalars.count
                add(stem + "'" + e, [n, m + 1])
                add(stem + "\u{2019}" + e, [n, m + 1])
                if !words.contains(stem + e) { add(stem + e, [n, m]) }
            }
        }
        return table
    }()

    // MARK: - punctuation tests for the sentencizer

    private static let notSentencizerPunct: Set<UInt32> = [
        0x10F55, 0x10F56, 0x10F57, 0x10F58, 0x10F59, 0x10F86, 0x10F87, 0x10F88, 0x10F89, 0x11944, 0x11946,
        0x11EF7, 0x11EF8, 0x11F43, 0x11F44, 0x16E98, 0x17D4, 0x17D5, 0x17D6, 0x17D9, 0x17DA, 0x1B7D, 0x1B7E,
        0x2E53, 0x2E54, 0x61D, 0x61E, 0x837, 0x839, 0x83D, 0x83E,
    ]

    private static func isSentencizerPunct(_ c: UInt32) -> Bool {
        TextFacts.isTerminalPunctuation(c) && !notSentencizerPunct.contains(c)
    }

    /// spaCy's `is_punct`: every character in a Unicode punctuation category.
    private static func isPunctToken(_ s: [UInt32], _ t: Span) -> Bool {
        for k in t.start..<t.end {
            let c = s[k]
            guard let u = Unicode.Scalar(c) else { return false }
            switch u.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation: continue
            default: return false
            }
        }
        return true
    }
}

/// A read-only map from short scalar sequences to values, looked up straight from a slice of
/// a document's scalars (open addressing on an FNV hash), without building a string.
struct ScalarTable<Value: Sendable>: Sendable {
    private var keys: [[UInt32]] = []
    private var values: [Value] = []
    private var slots: [Int32]
    private let mask: Int

    init(_ entries: [String: Value]) {
        var size = 16
        while size < entries.count * 4 { size *= 2 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        for (k, v) in entries.sorted(by: { $0.key < $1.key }) {
            let key = k.unicodeScalars.map(\.value)
            var i = Int(truncatingIfNeeded: Self.hash(key, 0, key.count)) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(keys.count)
            keys.append(key)
            values.append(v)
        }
    }

    @inline(__always)
    static func hash(_ s: [UInt32], _ a: Int, _ b: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for k in a..<b { h = (h ^ UInt64(s[k])) &* 0x100_0000_01B3 }
        return h ^ (h >> 29)
    }

    func value(_ s: [UInt32], _ a: Int, _ b: Int) -> Value? {
        var i = Int(truncatingIfNeeded: Self.hash(s, a, b)) & mask
        while true {
            let slot = Int(slots[i])
            if slot < 0 { return nil }
            let key = keys[slot]
            if key.count == b - a {
                var same = true
                for k in 0..<key.count where key[k] != s[a + k] { same = false; break }
                if same { return values[slot] }
            }
            i = (i + 1) & mask
        }
    }
}
