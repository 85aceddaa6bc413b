import CDedupeKernels
import Foundation
import Testing
import LatheIO
@testable import LatheDedupe

@Suite struct NormalizationTests {
    @Test func fullFoldsCaseCollapsesWhitespaceAndComposes() {
        let decomposed = "Cafe\u{301}  au\tLAIT\n"
        let composed = "café au lait"
        #expect(TextNormalizer.normalize(decomposed, .full) == Array(composed.utf8))
        #expect(TextNormalizer.normalize("  Hello \n\n World ", .full) == Array("hello world".utf8))
        #expect(TextNormalizer.normalize("  Hello \n World ", .ws) == Array("Hello World".utf8))
        #expect(TextNormalizer.normalize(" A ", .none) == Array(" A ".utf8))
        // Non-ASCII whitespace collapses too (no-break space, ideographic space).
        #expect(TextNormalizer.normalize("Ünï\u{00A0}\u{3000}code", .full) == Array("ünï code".utf8))
    }

    /// Full case folding, not lower-casing: these pairs differ under `lowercased()`.
    @Test func fullUsesUnicodeCaseFolding() {
        let same = [("Straße", "STRASSE"), ("ΣΊΣΥΦΟΣ", "σίσυφος"), ("ﬁne", "FINE"), ("ᾈ", "ἀι"), ("Ǆ", "ǆ")]
        for (a, b) in same {
            #expect(TextNormalizer.normalize(a, .full) == TextNormalizer.normalize(b, .full), "\(a) \(b)")
        }
        #expect(TextNormalizer.normalize("Straße", .full) == Array("strasse".utf8))
        #expect(TextNormalizer.normalize("Straße", .ws) == Array("Straße".utf8))
    }

    @Test func hashesSeparateWhatDiffers() {
        #expect(Hash64.hash("abc") != Hash64.hash("abd"))
        #expect(Hash64.hash("abc", seed: 1) != Hash64.hash("abc", seed: 2))
        #expect(Hash64.hash("abcdefghijklmnopq") != Hash64.hash("abcdefghijklmnopr"))
        var seen = Set<UInt64>()
        for i in 0..<100_000 { seen.insert(Hash64.hash("w\(i)")) }
        #expect(seen.count == 100_000)
        var keys = Set<Hash128>()
        for length in 0..<40 {
            for byte in 0..<256 {
                var bytes = [UInt8](repeating: 0x61, count: length)
                bytes.append(UInt8(byte))
                keys.insert(Hash128(bytes))
            }
        }
        #expect(keys.count == 40 * 256)
        // Every bit of every block, in either half of it, reaches both halves of the key.
        let text = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let key = Hash128(text)
        for bit in 0..<(8 * text.count) {
            var flipped = text
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            let other = Hash128(flipped)
            #expect(other.high != key.high && other.low != key.low, "bit \(bit)")
        }
    }
}

@Suite struct ShingleTests {
    func set(_ text: String, n: Int = 2) -> [UInt32] {
        Shingles.set(Shingles.hashes(words: TextNormalizer.wordHashes(TextNormalizer.normalize(text, .full)), n: n))
    }

    /// "a b c d e" has bigrams {ab, bc, cd, de}; "a b c d f" has {ab, bc, cd, df}:
    /// 3 shared of 5 distinct, Jaccard 3/5.
    @Test func jaccardOfHandBuiltShingleSets() {
        #expect(Shingles.jaccard(set("a b c d e"), set("a b c d f")) == 3.0 / 5.0)
        // {ab, bc, ca} vs {ab, bc, cd}: 2 of 4.
        #expect(Shingles.jaccard(set("a b c a b"), set("a b c d")) == 2.0 / 4.0)
        #expect(Shingles.jaccard(set("A  b C"), set("a b c")) == 1)
        #expect(Shingles.jaccard(set("x y"), set("p q")) == 0)
    }

    @Test func shortTextIsOneWholeShingleAndEmptyTextHasNone() {
        let words = TextNormalizer.wordHashes(TextNormalizer.normalize("two words", .full))
        #expect(Shingles.hashes(words: words, n: 5).count == 1)
        #expect(Shingles.hashes(words: [], n: 5).isEmpty)
        #expect(Shingles.jaccard([], []) == 0)
        let other = TextNormalizer.wordHashes(TextNormalizer.normalize("two birds", .full))
        #expect(Shingles.hashes(words: words, n: 5) != Shingles.hashes(words: other, n: 5))
    }
}

@Suite struct MinHashTests {
    /// Over many random pairs at known Jaccard, the MinHash estimate with k hashes has
    /// standard deviation sqrt(J(1−J)/k). Check the mean error is unbiased to within 4 standard
    /// errors and that no more than 1% of pairs are off by more than 3 standard deviations
    /// (0.27% for a normal distribution).
    @Test func estimatesAreWithinTheBoundOfIdealPermutations() {
        let k = 128
        let hasher = MinHasher(numPerm: k, seed: 42)
        var rng = SplitMix64(seed: 7)
        var sumError = 0.0, sumVariance = 0.0, outliers = 0
        let pairs = 2000
        for _ in 0..<pairs {
            let shared = 50 + Int(rng.next() % 400)
            let onlyA = Int(rng.next() % 300), onlyB = Int(rng.next() % 300)
            let common = (0..<shared).map { _ in rng.next() }
            let a = common + (0..<onlyA).map { _ in rng.next() }
            let b = common + (0..<onlyB).map { _ in rng.next() }
            let truth = Double(shared) / Double(shared + onlyA + onlyB)
            let estimate = MinHasher.estimate(hasher.signature(a), hasher.signature(b))
            let sigma = (truth * (1 - truth) / Double(k)).squareRoot()
            sumError += estimate - truth
            sumVariance += sigma * sigma
            if abs(estimate - truth) > 3 * sigma { outliers += 1 }
        }
        let meanError = sumError / Double(pairs)
        let standardError = sumVariance.squareRoot() / Double(pairs)
        #expect(abs(meanError) < 4 * standardError, "bias \(meanError) vs standard error \(standardError)")
        #expect(Double(outliers) / Double(pairs) < 0.01, "\(outliers) of \(pairs) pairs beyond 3 sigma")
    }

    @Test func sameSeedSameSignatureOtherSeedOther() {
        let shingles: [UInt64] = (0..<50).map { Hash64.hash("s\($0)") }
        #expect(MinHasher(numPerm: 16, seed: 1).signature(shingles) == MinHasher(numPerm: 16, seed: 1).signature(shingles))
        #expect(MinHasher(numPerm: 16, seed: 1).signature(shingles) != MinHasher(numPerm: 16, seed: 2).signature(shingles))
    }

    /// The fraction of pairs at Jaccard s that share a band follows 1 − (1 − s^r)^b, within
    /// 4 binomial standard deviations, at points across the S-curve.
    @Test func bandingFollowsTheSCurve() {
        let lsh = LSHParameters(bands: 10, rows: 5)
        let hasher = MinHasher(numPerm: lsh.numPerm, seed: 3)
        var rng = SplitMix64(seed: 11)
        let trials = 600
        for s in [0.3, 0.5, 0.6, 0.7, 0.9] {
            var collided = 0
            for _ in 0..<trials {
                // 200 elements in the union, round(200·s) of them shared.
                let shared = Int((200 * s).rounded())
                let onlyEach = (200 - shared) / 2
                let common = (0..<shared).map { _ in rng.next() }
                let a = common + (0..<onlyEach).map { _ in rng.next() }
                let b = common + (0..<(200 - shared - onlyEach)).map { _ in rng.next() }
                let ba = lsh.bandHashes(hasher.signature(a)), bb = lsh.bandHashes(hasher.signature(b))
                if zip(ba, bb).contains(where: { $0 == $1 }) { collided += 1 }
            }
            let p = lsh.candidateProbability((200 * s).rounded() / 200)
            let sigma = (p * (1 - p) / Double(trials)).squareRoot()
            let observed = Double(collided) / Double(trials)
            #expect(abs(observed - p) <= 4 * sigma + 0.005, "s=\(s): observed \(observed), S-curve \(p)")
        }
    }

    @Test func optimalParametersBracketTheThreshold() {
        let p = LSHParameters.optimal(threshold: 0.8, numPerm: 128)
        #expect(p.numPerm <= 128)
        #expect(abs(p.approximateThreshold - 0.8) < 0.1)
        #expect(LSHParameters.fineWeb.candidateProbability(0.8) > 0.9)
        #expect(LSHParameters.fineWeb.candidateProbability(0.3) < 0.01)
        // Favouring recall moves the curve left.
        let recall = LSHParameters.optimal(threshold: 0.8, numPerm: 128, falseNegativeWeight: 0.8)
        #expect(recall.candidateProbability(0.8) >= p.candidateProbability(0.8))
    }

    @Test func unionFindJoinsComponents() {
        var uf = UnionFind(count: 6)
        uf.union(0, 2)
        uf.union(2, 4)
        uf.union(1, 5)
        #expect(uf.find(0) == uf.find(4))
        #expect(uf.find(1) == uf.find(5))
        #expect(uf.find(0) != uf.find(1))
        #expect(uf.find(3) == 3)
    }
}

/// The fast paths of normalisation against plain per-byte references, with the kernel's wide
/// and narrow blocks (one after the other: the switch is global).
@Suite(.serialized) struct FastPathTests {
    @Test(arguments: [false, true]) func asciiCollapseEqualsThePlainDefinition(narrowBlocks: Bool) {
        lathe_collapse_use_narrow_blocks(narrowBlocks ? 1 : 0)
        defer { lathe_collapse_use_narrow_blocks(0) }
        var rng = SplitMix64(seed: 11)
        let alphabet = Array("abcXYZ@[`{ \t\n\r\u{0B}\u{0C}\u{01}\u{1F}019".utf8)
        // Mostly words and single spaces, the runs of eight the loop writes whole.
        let prose = Array("abcdefghXYZ@[`{019".utf8) + Array(repeating: 0x20, count: 4) + Array("\n\t\u{01}".utf8)
        // Words and rare single spaces, the runs of sixteen the vector kernel copies whole.
        let plainWords = Array("abcdefghXYZ@[`{019 ".utf8)
        for round in 0..<6000 {
            let letters = [alphabet, prose, plainWords][round % 3]
            let bytes = (0..<Int(rng.next() % 120)).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }
            let text = String(decoding: bytes, as: UTF8.self)
            // Words are runs of non-space bytes, A-Z lowered, joined by one space.
            let words = bytes.split { $0 == 0x20 || (0x09...0x0D).contains($0) }
            let lowered = words.map { $0.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 } }
            #expect(TextNormalizer.normalize(text, .full) == Array(lowered.joined(separator: [0x20])), "\(bytes)")
            #expect(TextNormalizer.normalize(text, .ws) == Array(words.joined(separator: [0x20])), "\(bytes)")
        }
    }

    private static let jsonPieces: [(raw: String, text: String)] = [
        ("abcdefg", "abcdefg"), ("Word", "Word"), (" ", " "), ("  ", "  "), (#"\n"#, "\n"), (#"\t"#, "\t"),
        (#"\r"#, "\r"), (#"\f"#, "\u{0C}"), (#"\b"#, "\u{08}"), (#"\u0041"#, "A"), (#"\u0020"#, " "),
        (#"\\"#, "\\"), (#"\""#, "\""), (#"\/"#, "/"), ("XYZ.", "XYZ."), (#"\u00e9"#, "é"), ("é", "é"),
        ("Long sentence of Several WORDS, ", "Long sentence of Several WORDS, "),
        ("A plain run of words long enough to fill one whole block of 64 bytes ", "A plain run of words long enough to fill one whole block of 64 bytes "),
    ]

    /// JSON string text normalised on the way equals the decoded text normalised, and a
    /// character that is not ASCII, escaped or not, sends it back to be decoded.
    @Test(arguments: [false, true]) func jsonStringTextNormalisesAsItsDecodedText(narrowBlocks: Bool) {
        lathe_collapse_use_narrow_blocks(narrowBlocks ? 1 : 0)
        defer { lathe_collapse_use_narrow_blocks(0) }
        var rng = SplitMix64(seed: 12)
        var declined = 0
        for _ in 0..<3000 {
            let chosen = (0..<Int(rng.next() % 40)).map { _ in Self.jsonPieces[Int(rng.next() % UInt64(Self.jsonPieces.count))] }
            let raw = Array(("\"" + chosen.map(\.raw).joined() + "\", \"id\": 1}").utf8)
            let text = chosen.map(\.text).joined()
            for mode in [Normalization.full, .ws] {
                var out: [UInt8] = []
                let done = raw.withUnsafeBufferPointer { TextNormalizer.normalize(jsonString: $0.baseAddress!, available: $0.count, mode, into: &out) }
                if done {
                    #expect(out == TextNormalizer.normalize(text, mode), "\(String(decoding: raw, as: UTF8.self))")
                } else {
                    declined += 1
                    #expect(out.isEmpty && text.unicodeScalars.contains { $0.value >= 0x80 })
                }
            }
        }
        #expect(declined > 1000 && declined < 5800)
    }

    /// The exact key hashed while the string is scanned equals the stripe hash of the decoded text
    /// normalised, for texts long enough to pass through the window many times; strings that
    /// `JSONScanner.scanString` refuses are refused.
    @Test(arguments: [false, true]) func exactKeyWhileScanningEqualsHashOfNormalisedText(narrowBlocks: Bool) {
        lathe_collapse_use_narrow_blocks(narrowBlocks ? 1 : 0)
        defer { lathe_collapse_use_narrow_blocks(0) }
        var rng = SplitMix64(seed: 13)
        var hashed = 0, unicode = 0
        for trial in 0..<3000 {
            // Every tenth text is long and ASCII, so it passes through the window many times.
            let long = trial % 10 == 0
            let pieces = long ? Self.jsonPieces.filter { $0.text.utf8.allSatisfy { $0 < 0x80 } } : Self.jsonPieces
            let chosen = (0..<(long ? 300 + Int(rng.next() % 400) : Int(rng.next() % 40))).map { _ in
                pieces[Int(rng.next() % UInt64(pieces.count))]
            }
            let raw = Array(("\"" + chosen.map(\.raw).joined() + "\"}").utf8)
            let text = chosen.map(\.text).joined()
            for mode in [Normalization.full, .ws] {
                let key = raw.withUnsafeBufferPointer { TextNormalizer.exactKey(jsonString: $0.baseAddress!, available: $0.count, mode) }
                let normalized = TextNormalizer.normalize(text, mode)
                switch key {
                case .hashed(let hash, let length, let escapes):
                    hashed += 1
                    #expect(hash == (normalized.isEmpty ? nil : Hash128(stripeHashOf: normalized)), "\(text)")
                    #expect(length == raw.count - 1 && escapes == chosen.contains { $0.raw.hasPrefix("\\") })
                case .unicode:
                    unicode += 1
                    #expect(text.unicodeScalars.contains { $0.value >= 0x80 })
                case .invalid:
                    Issue.record("a valid string was refused: \(text)")
                }
            }
        }
        #expect(hashed > 1000 && unicode > 1000)
        for bad in [#""a\x b""#, #""unterminated"#, "\"tab\there\"", #""\u12""#, #""end\"#] {
            let bytes = Array(bad.utf8)
            var pos = 0
            let scanned = bytes.withUnsafeBufferPointer { JSONScanner(base: $0.baseAddress!, end: $0.count).scanString(&pos) }
            #expect(scanned == nil, "\(bad)")
            #expect(bytes.withUnsafeBufferPointer { TextNormalizer.exactKey(jsonString: $0.baseAddress!, available: $0.count, .full) } == .invalid, "\(bad)")
        }
    }

    @Test func hash128StreamIsTheSameWhateverThePieces() {
        var rng = SplitMix64(seed: 14)
        for length in [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var stream = Hash128.Stream()
            var i = 0
            while i < length {
                let piece = min(length - i, Int(rng.next() % 20))
                bytes[i..<(i + piece)].withUnsafeBytes { stream.append($0) }
                i += piece
            }
            #expect(stream.finish() == Hash128(bytes) && stream.length == length)
        }
    }

    @Test func aWordHashesTheSameWhereverItStands() {
        let alone = TextNormalizer.wordHashes(Array("seven".utf8))
        let first = TextNormalizer.wordHashes(Array("seven words follow here".utf8))
        let last = TextNormalizer.wordHashes(Array("here follow words seven".utf8))
        #expect(alone == [first[0]] && alone == [last[3]])
        let long = TextNormalizer.wordHashes(Array("internationalisation x internationalisation".utf8))
        #expect(long[0] == long[2] && long[0] != long[1])
        #expect(Set(TextNormalizer.wordHashes(Array("a b c d e f g h aa bb abcdefgh abcdefg".utf8))).count == 12)
    }

    @Test func radixSortSorts() {
        var rng = SplitMix64(seed: 5)
        for count in [0, 1, 64, 65, 1000, 5000] {
            let values = (0..<count).map { _ in UInt32(truncatingIfNeeded: rng.next()) & (count == 1000 ? 0xFF00FF : .max) }
            var sorted = values
            Shingles.radixSort(&sorted)
            #expect(sorted == values.sorted())
        }
    }
}
