import CDedupeKernels
import Foundation
import LatheIO

/// How text is normalised before it is hashed or cut into words (`--normalize`).
public enum Normalization: String, CaseIterable, Sendable {
    /// The text as it is; words are split on ASCII whitespace.
    case none
    /// Runs of whitespace become one space; leading and trailing whitespace goes.
    case ws
    /// Unicode full case folding (ß and ss, ς and σ, ﬁ and fi match), NFC, and whitespace as
    /// for `ws` (the default).
    case full
}

/// Text to normalised UTF-8 bytes: words separated by single spaces (except for `.none`).
///
/// ASCII text, most of a web crawl, takes a byte loop that needs neither Foundation nor a
/// String copy; text with other characters goes through Foundation's full case folding and
/// NFC, which is correct for every script but several times slower. Folding comes first
/// because it can produce sequences (ᾈ to ἀι) that NFC must then compose.
public enum TextNormalizer {
    public static func normalize(_ text: String, _ mode: Normalization) -> [UInt8] {
        var out: [UInt8] = []
        normalize(text, mode, into: &out)
        return out
    }

    /// Appends the normalised form of `text` to `out`.
    public static func normalize(_ text: String, _ mode: Normalization, into out: inout [UInt8]) {
        var text = text
        if text.withUTF8({ normalizeASCII($0, mode, into: &out) }) { return }
        normalizeUnicode(text, mode, into: &out)
    }

    /// Appends the normalised form of the text whose UTF-8 (valid) is `bytes` to `out`: the
    /// same bytes as `normalize(_:_:into:)` on that text, without making a String of ASCII.
    /// `ascii` says the caller knows the text is ASCII.
    public static func normalize(utf8 bytes: UnsafeBufferPointer<UInt8>, _ mode: Normalization, ascii: Bool = false,
                                 into out: inout [UInt8]) {
        if normalizeASCII(bytes, mode, known: ascii, into: &out) { return }
        normalizeUnicode(String(decoding: bytes, as: UTF8.self), mode, into: &out)
    }

    /// Appends the normalised form of the text of the valid JSON string at `string` (its
    /// opening quote; `available` bytes may be read from there, the closing quote among them):
    /// the same bytes as normalising the decoded text, decoding escapes on the way. False, with
    /// nothing appended, when the text must be decoded first (`.none`, or a character that is
    /// not ASCII, escaped or not).
    public static func normalize(jsonString string: UnsafePointer<UInt8>, available: Int, _ mode: Normalization,
                                 into out: inout [UInt8]) -> Bool {
        guard mode != .none else { return false }
        // With a window longer than the input, `collapse` hands it over once, in place.
        var decodable = false
        let collapsed = [UInt8](unsafeUninitializedCapacity: available + collapseSlack) { window, written in
            written = 0
            let end = collapse(string, available, lowercase: mode == .full, json: true, window: window) { written = $0.count }
            if case .end = end { decodable = true } else { written = 0 }
        }
        guard decodable else { return false }
        if out.isEmpty { out = collapsed } else { out.append(contentsOf: collapsed) }
        return true
    }

    /// The exact key of the text of the JSON string at `string` (as for
    /// `normalize(jsonString:available:_:into:)`) in one pass over its bytes: they are checked
    /// as `JSONScanner.scanString` checks them, escapes are decoded, the text is normalised
    /// into a small window and absorbed into the stripe hash (`Hash128(stripeHashOf:)`) as it
    /// is written, so it is never held whole.
    public static func exactKey(jsonString string: UnsafePointer<UInt8>, available: Int, _ mode: Normalization) -> ExactKey {
        guard mode != .none else { return .unicode }
        var hash = lathe_stripe_hash()
        lathe_stripe_hash_start(&hash)
        var key: Hash128?
        let end = withUnsafeMutablePointer(to: &hash) { hash in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { window in
                collapse(string, available, lowercase: mode == .full, json: true, window: window, hash: hash) { tail in
                    if hash.pointee.stripes > 0 || !tail.isEmpty { key = Hash128(finishing: hash.pointee, tail) }
                }
            }
        }
        switch end {
        case .end(let length, let escapes): return .hashed(key, length: length, escapes: escapes)
        case .unicode: return .unicode
        case .invalid: return .invalid
        }
    }

    /// What `exactKey(jsonString:available:_:)` found.
    public enum ExactKey: Equatable {
        /// The key (nil when the text normalises to nothing), the string's length with its
        /// quotes, and whether it holds escapes.
        case hashed(Hash128?, length: Int, escapes: Bool)
        /// The text needs the Unicode tables (or `.none`): decode it and normalise that.
        case unicode
        /// The bytes are not a JSON string as `JSONParser` reads it.
        case invalid
    }

    /// Normalises text that needs no Unicode tables (any text for `.none`, ASCII otherwise)
    /// and says true; false, with nothing written, for the rest.
    private static func normalizeASCII(_ bytes: UnsafeBufferPointer<UInt8>, _ mode: Normalization, known: Bool = false,
                                       into out: inout [UInt8]) -> Bool {
        if mode == .none {
            out.append(contentsOf: bytes)
            return true
        }
        guard known || isASCII(bytes) else { return false }
        guard let src = bytes.baseAddress else { return true }
        let collapsed = [UInt8](unsafeUninitializedCapacity: bytes.count + collapseSlack) { window, written in
            written = 0
            _ = collapse(src, bytes.count, lowercase: mode == .full, json: false, window: window) { written = $0.count }
        }
        if out.isEmpty { out = collapsed } else { out.append(contentsOf: collapsed) }
        return true
    }

    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            if UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if base[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }

    private static func normalizeUnicode(_ text: String, _ mode: Normalization, into out: inout [UInt8]) {
        let unicode = mode == .full
            ? text.folding(options: .caseInsensitive, locale: nil).precomposedStringWithCanonicalMapping : text
        let start = out.count
        var pendingSpace = false
        for scalar in unicode.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = out.count > start
                continue
            }
            if pendingSpace {
                out.append(0x20)
                pendingSpace = false
            }
            if scalar.value < 0x80 {
                out.append(UInt8(scalar.value))
            } else {
                out.append(contentsOf: UTF8.encode(scalar)!)
            }
        }
    }

    @inline(__always)
    static func isASCIISpace(_ b: UInt8) -> Bool {
        b == 0x20 || (b >= 0x09 && b <= 0x0D)
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101

    /// How many of the eight ASCII bytes in `x` (little-endian) come before the first byte
    /// below 0x21. The has-less-than test can flag bytes after a true one (by its borrow),
    /// never before it, so the lowest flag is exact.
    @inline(__always)
    static func leadingWordBytes(_ x: UInt64) -> Int {
        let low = (x &- ones &* 0x21) & ~x & (ones &* 0x80)
        return low == 0 ? 8 : low.trailingZeroBitCount >> 3
    }

    /// Flags (0x80) on the bytes of ASCII `x` that are 0x20, and on those below 0x21 (space or
    /// control). Exact per byte: no byte of ASCII text carries into the next in these sums.
    @inline(__always)
    private static func spaceMasks(_ x: UInt64) -> (spaces: UInt64, below: UInt64) {
        let high = ones &* 0x80
        let notSpace = ((x ^ (ones &* 0x20)) &+ ones &* 0x7F) & high
        let atLeast21 = (x &+ ones &* 0x5F) & high
        return (notSpace ^ high, atLeast21 ^ high)
    }

    /// Flags (0x80) on the bytes of ASCII `x` equal to `byte`, exactly.
    @inline(__always)
    private static func bytes(_ x: UInt64, equalTo byte: UInt8) -> UInt64 {
        let high = ones &* 0x80
        return (((x ^ (ones &* UInt64(byte))) &+ ones &* 0x7F) & high) ^ high
    }

    /// `x` with A-Z lowered (ASCII bytes only).
    @inline(__always)
    private static func lowered(_ x: UInt64) -> UInt64 {
        let upper = (x &+ ones &* 0x3F) & ~(x &+ ones &* 0x25) & (ones &* 0x80)
        return x | upper >> 2
    }

    /// The bytes `collapse` may store past its output at once (the kernel's block): a window
    /// longer than the input by this much is handed over whole.
    static let collapseSlack = 64

    /// How `collapse` ended.
    enum Collapsed {
        /// At the end of the text: `at` is the bytes read (for JSON, the string with its
        /// quotes), `escapes` whether any were decoded.
        case end(at: Int, escapes: Bool)
        /// At a character that is not ASCII (JSON only).
        case unicode
        /// At bytes that break JSON's string grammar (JSON only).
        case invalid
    }

    /// Collapses whitespace (and with `lowercase`, lowers A-Z) of `src[0..<count]`, which is
    /// ASCII text, or with `json`, the JSON string at `src[0]` (its opening quote, the closing
    /// one within `count`), which is checked and whose escapes are decoded on the way (an
    /// escape is longer than what it stands for). Output goes through `window`: whenever it
    /// is nearly full, all of it but its last byte goes to `take`, and at the end the rest,
    /// without a trailing space. A window longer than `count` by `collapseSlack` is handed over once, whole.
    /// With a `hash`, the output is absorbed into it instead, a stripe at a time, and `take`
    /// gets only the end that is not (less than a stripe, unless the window outruns the input).
    @inline(__always)
    static func collapse(_ src: UnsafePointer<UInt8>, _ count: Int, lowercase: Bool, json: Bool,
                         window: UnsafeMutableBufferPointer<UInt8>, hash: UnsafeMutablePointer<lathe_stripe_hash>? = nil,
                         _ take: (UnsafeBufferPointer<UInt8>) -> Void) -> Collapsed {
        let dst = window.baseAddress!
        var n = 0
        /// The output before this is taken or absorbed.
        var done = 0
        var i = json ? 1 : 0
        var escapes = false
        // A space is written when it comes, unless the last byte written is one or nothing is
        // written yet (then `edge` is 0x80, the flag of a run's first byte); one left at the end
        // is taken back. So output never runs ahead of input, and eight bytes can be stored at
        // `n` whenever eight are read at `i`.
        var edge: UInt64 = 0x80
        while true {
            // Room for the kernel's stores; never wanted when the window outruns the input.
            if n + collapseSlack > window.count {
                if let hash {
                    done += lathe_stripe_hash_absorb(hash, dst + done, n - 1 - done)
                } else {
                    take(UnsafeBufferPointer(start: dst, count: n - 1))
                    done = n - 1
                }
                dst.update(from: dst + done, count: n - done)
                n -= done
                done = 0
            }
            if i + collapseSlack <= count {
                // Runs of plain words go 64 bytes at a time through the vector unit, which
                // also takes most escapes and runs of whitespace.
                var space: Int32 = edge == 0 ? 0 : 1
                var written = 0
                var escaped: Int32 = 0
                hash?.pointee.pending = n - done
                let read = lathe_collapse_words(src + i, count - i, dst + n, window.count - n, lowercase ? 1 : 0, json ? 1 : 0,
                                                &space, &written, &escaped, hash)
                // It may absorb a stripe of what came before even when it reads nothing.
                if let hash { done = n + written - hash.pointee.pending }
                if read > 0 {
                    i += read
                    n += written
                    edge = space == 0 ? 0 : 0x80
                    escapes = escapes || escaped != 0
                    continue
                }
            }
            if i + 8 <= count {
                // Eight bytes of words and single spaces (most of a text) are written as they
                // are, lowered; otherwise the word bytes before the first space, control byte
                // (or for JSON, quote, backslash or non-ASCII byte) are, and that byte takes the
                // byte path. A non-ASCII byte can spoil the flags of the bytes after it, never
                // of those before, so the first flag is exact.
                let x = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
                let (spaces, below) = spaceMasks(x)
                let nonASCII = json ? x & (ones &* 0x80) : 0
                let stops = json ? below | bytes(x, equalTo: 0x5C) | bytes(x, equalTo: 0x22) | nonASCII : below
                let y = lowercase ? lowered(x) : x
                UnsafeMutableRawPointer(dst + n).storeBytes(of: y, as: UInt64.self)
                if nonASCII == 0 && spaces == stops && spaces & (spaces << 8 | edge) == 0 {
                    n += 8
                    i += 8
                    edge = spaces >> 56
                    continue
                }
                let k = stops.trailingZeroBitCount >> 3
                if k > 0 {
                    n += k
                    i += k
                    edge = 0
                }
            }
            guard i < count else {
                if json { return .invalid }
                break
            }
            var b = src[i]
            i += 1
            if json {
                switch b {
                case 0x22:
                    let last = n > 0 && dst[n - 1] == 0x20 ? n - 1 : n
                    take(UnsafeBufferPointer(start: dst + done, count: last - done))
                    return .end(at: i, escapes: escapes)
                case 0x5C:
                    escapes = true
                    guard i < count else { return .invalid }
                    if let plain = JSONScanner.unescaped(src[i]) {
                        b = plain
                        i += 1
                    } else {
                        guard src[i] == UInt8(ascii: "u"), count - i >= 5, let scalar = hexValue4(src + i + 1) else { return .invalid }
                        // Surrogates and the rest are decoded, and checked, by the Unicode path.
                        guard scalar < 0x80 else { return .unicode }
                        b = UInt8(scalar)
                        i += 5
                    }
                case 0..<0x20: return .invalid
                case 0x80...: return .unicode
                default: break
                }
            }
            if isASCIISpace(b) {
                if edge == 0 {
                    dst[n] = 0x20
                    n += 1
                    edge = 0x80
                }
                continue
            }
            dst[n] = lowercase && b &- 0x41 < 26 ? b | 0x20 : b
            n += 1
            edge = 0
        }
        let last = n > 0 && dst[n - 1] == 0x20 ? n - 1 : n
        take(UnsafeBufferPointer(start: dst + done, count: last - done))
        return .end(at: i, escapes: escapes)
    }

    /// The byte ranges of the words of normalised text (split on ASCII whitespace, which after
    /// `ws` or `full` normalisation is the single space between words).
    public static func wordRanges(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = 0
        let n = bytes.count
        while i < n {
            while i < n && isASCIISpace(bytes[i]) { i += 1 }
            let start = i
            while i < n && !isASCIISpace(bytes[i]) { i += 1 }
            if i > start { ranges.append(start..<i) }
        }
        return ranges
    }

    /// The 64-bit hash of every word, in order; at most `limit` words.
    public static func wordHashes(_ normalized: [UInt8], limit: Int = .max) -> [UInt64] {
        normalized.withUnsafeBufferPointer { bytes in
            var hashes: [UInt64] = []
            hashes.reserveCapacity(min(limit, bytes.count / 5 + 1))
            guard let base = bytes.baseAddress else { return hashes }
            var i = 0
            let n = bytes.count
            while i < n && hashes.count < limit {
                while i < n && isASCIISpace(base[i]) { i += 1 }
                let start = i
                while i + 8 <= n {
                    let k = leadingWordBytes(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                    i += k
                    if k < 8 { break }
                }
                while i < n && !isASCIISpace(base[i]) { i += 1 }
                if i > start { hashes.append(wordHash(base, start, i - start, n)) }
            }
            return hashes
        }
    }

    private static let wordSeed: UInt64 = 0x5851_f42d_4c95_7f2d

    /// The hash of the word at `base[start..<start+length]` in a buffer of `count` bytes. Most
    /// words fit in 8 bytes: those are one masked load and one multiply, whatever their place
    /// in the buffer (a word too near the end is assembled byte by byte to the same value).
    @inline(__always)
    static func wordHash(_ base: UnsafePointer<UInt8>, _ start: Int, _ length: Int, _ count: Int) -> UInt64 {
        guard length <= 8 else {
            return Hash64.hash(UnsafeRawBufferPointer(start: base + start, count: length), seed: wordSeed)
        }
        var word: UInt64
        if start + 8 <= count {
            word = UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self)
            if length < 8 { word &= (1 &<< UInt64(8 * length)) &- 1 }
        } else {
            word = 0
            for k in 0..<length { word |= UInt64(base[start + k]) &<< UInt64(8 * k) }
        }
        return Hash64.finalize(Hash64.mum(word ^ wordSeed ^ Hash64.p1, UInt64(length) ^ Hash64.p3))
    }
}

/// Word n-gram shingles as 64-bit hashes.
public enum Shingles {
    /// The hash of every run of `n` consecutive words; text with fewer than `n` words (but at
    /// least one) is one shingle of all its words, so short texts are still compared whole.
    /// Empty text has no shingles.
    public static func hashes(words: [UInt64], n: Int) -> [UInt64] {
        guard !words.isEmpty else { return [] }
        let width = min(n, words.count)
        var out: [UInt64] = []
        out.reserveCapacity(words.count - width + 1)
        words.withUnsafeBufferPointer { w in
            for start in 0...(w.count - width) {
                var h = UInt64(truncatingIfNeeded: width) &* Hash64.p3
                for k in start..<(start + width) { h = Hash64.combine(h, w[k]) }
                out.append(Hash64.finalize(h))
            }
        }
        return out
    }

    /// The distinct shingles as a sorted set of 32-bit hashes, what `--verify` compares. Within
    /// one document of 100,000 words two shingles share a 32-bit hash with probability ~1e-6
    /// per pair of documents compared, far below the Jaccard resolution that matters.
    public static func set(_ hashes: [UInt64]) -> [UInt32] {
        var set = hashes.map { UInt32(truncatingIfNeeded: $0 >> 32) }
        radixSort(&set)
        var unique = 0
        for i in 0..<set.count where i == 0 || set[i] != set[i - 1] {
            set[unique] = set[i]
            unique += 1
        }
        set.removeLast(set.count - unique)
        return set
    }

    /// The Jaccard similarity |A∩B| / |A∪B| of two sorted sets; two empty sets have 0, so empty
    /// texts are never near-duplicates of each other.
    public static func jaccard(_ a: [UInt32], _ b: [UInt32]) -> Double {
        guard !a.isEmpty || !b.isEmpty else { return 0 }
        var i = 0, j = 0, common = 0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                while i < a.count && j < b.count {
                    let x = a[i], y = b[j]
                    if x == y {
                        common += 1
                        i += 1
                        j += 1
                    } else if x < y {
                        i += 1
                    } else {
                        j += 1
                    }
                }
            }
        }
        return Double(common) / Double(a.count + b.count - common)
    }

    /// Least-significant-digit radix sort, four passes of one byte: linear where a comparison
    /// sort of a long document's shingles is not.
    static func radixSort(_ values: inout [UInt32]) {
        guard values.count > 64 else {
            values.sort()
            return
        }
        var other = [UInt32](repeating: 0, count: values.count)
        values.withUnsafeMutableBufferPointer { a in
            other.withUnsafeMutableBufferPointer { b in
                var from = a, to = b
                for shift in stride(from: UInt32(0), to: 32, by: 8) {
                    var counts = [Int](repeating: 0, count: 257)
                    counts.withUnsafeMutableBufferPointer { c in
                        for v in from { c[Int((v >> shift) & 0xFF) + 1] += 1 }
                        for d in 1...256 { c[d] += c[d - 1] }
                        for v in from {
                            let digit = Int((v >> shift) & 0xFF)
                            to[c[digit]] = v
                            c[digit] += 1
                        }
                    }
                    swap(&from, &to)
                }
            }
        }
        // Four passes end where they began, in `values`.
    }
}
