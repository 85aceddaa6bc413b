import Foundation

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
        if mode == .none {
            text.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        let ascii = text.withUTF8 { bytes in
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
        if ascii {
            text.withUTF8 { collapseASCII($0, lowercase: mode == .full, into: &out) }
            return
        }
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

    private static func collapseASCII(_ bytes: UnsafeBufferPointer<UInt8>, lowercase: Bool, into out: inout [UInt8]) {
        let start = out.count
        // Normalised ASCII is never longer than its input; write through a pointer, then trim.
        out.append(contentsOf: repeatElement(0, count: bytes.count))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int in
            let dst = buffer.baseAddress! + start
            var n = 0
            var pendingSpace = false
            for b in bytes {
                if isASCIISpace(b) {
                    pendingSpace = n > 0
                    continue
                }
                if pendingSpace {
                    dst[n] = 0x20
                    n += 1
                    pendingSpace = false
                }
                dst[n] = lowercase && b &- 0x41 < 26 ? b | 0x20 : b
                n += 1
            }
            return n
        }
        out.removeLast(bytes.count - written)
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
            var i = 0
            let n = bytes.count
            while i < n && hashes.count < limit {
                while i < n && isASCIISpace(bytes[i]) { i += 1 }
                let start = i
                while i < n && !isASCIISpace(bytes[i]) { i += 1 }
                if i > start {
                    hashes.append(Hash64.hash(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<i])), seed: 0x5851_f42d_4c95_7f2d))
                }
            }
            return hashes
        }
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
        set.sort()
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
}
