import CDedupeKernels
import Foundation
import Testing
import LatheIO
@testable import LatheDedupe

/// The stripe hash written plainly, one word at a time, from its definition: lanes start at,
/// and are keyed by, the first 56 outputs of SplitMix64 seeded "Lathe-ke"; stripe s adds to
/// lane k the product of the halves of word k xor key (s mod 16) + k, plus word k xor 1; every
/// 16th stripe scrambles each lane (xorshift 47, xor a key, times 0x9e3779b1); the last stripe
/// is zero-padded; each half of the key folds the lane pairs under its own keys, with the length.
enum ReferenceStripeHash {
    static let constants: [UInt64] = {
        var rng = SplitMix64(seed: 0x4c61_7468_652d_6b65)
        return (0..<56).map { _ in rng.next() }
    }()

    static func key(_ bytes: [UInt8]) -> Hash128 {
        var lanes = Array(constants[0..<8])
        var padded = bytes
        padded.append(contentsOf: [UInt8](repeating: 0, count: (64 - bytes.count % 64) % 64))
        for (s, start) in stride(from: 0, to: padded.count, by: 64).enumerated() {
            let words = (0..<8).map { k in
                (0..<8).reduce(UInt64(0)) { word, b in word | UInt64(padded[start + 8 * k + b]) << (8 * b) }
            }
            for k in 0..<8 {
                let x = words[k] ^ constants[8 + s % 16 + k]
                lanes[k] = lanes[k] &+ (x & 0xffff_ffff) &* (x >> 32) &+ words[k ^ 1]
            }
            if s % 16 == 15 {
                for k in 0..<8 {
                    let a = lanes[k] ^ (lanes[k] >> 47) ^ constants[32 + k]
                    lanes[k] = a &* 0x9e37_79b1
                }
            }
        }
        let length = UInt64(bytes.count)
        var high = length &* 0x9e37_79b9_7f4a_7c15, low = ~length &* 0x9e37_79b9_7f4a_7c15
        for j in stride(from: 0, to: 8, by: 2) {
            high = high &+ Hash64.mum(lanes[j] ^ constants[40 + j], lanes[j + 1] ^ constants[41 + j])
            low = low &+ Hash64.mum(lanes[j] ^ constants[48 + j], lanes[j + 1] ^ constants[49 + j])
        }
        return Hash128(high: Hash64.finalize(high), low: Hash64.finalize(low))
    }

    /// Normalisation as its definition reads: full case folding and NFC for `.full`, then the
    /// words (split on Unicode whitespace) joined by one space.
    static func normalized(_ text: String, _ mode: Normalization) -> [UInt8] {
        let folded = mode == .full ? text.folding(options: .caseInsensitive, locale: nil).precomposedStringWithCanonicalMapping : text
        let words = folded.unicodeScalars.split { $0.properties.isWhitespace }.map { String(String.UnicodeScalarView($0)) }
        return Array(words.joined(separator: " ").utf8)
    }

    /// The exact key of `text` as its definition reads; nil for text that normalises to nothing.
    static func exactKey(_ text: String, _ mode: Normalization) -> Hash128? {
        let bytes = normalized(text, mode)
        return bytes.isEmpty ? nil : key(bytes)
    }
}

@Suite struct StripeHashTests {
    static let blockEdges = Array(0...200) + [255, 256, 257, 1023, 1024, 1025, 4095, 4096, 4097, 8191, 8192, 8193]

    @Test func stripeHashEqualsThePlainReference() {
        var rng = SplitMix64(seed: 21)
        for length in Self.blockEdges + [100_000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(Hash128(stripeHashOf: bytes) == ReferenceStripeHash.key(bytes), "length \(length)")
        }
    }

    /// Every bit of a text of five stripes and a bit reaches both halves of the key; the order of
    /// stripes, a length made of zeros and the byte at every place count.
    @Test func everyBitAndTheOrderOfStripesReachTheKey() {
        let text = (0..<330).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let key = Hash128(stripeHashOf: text)
        for bit in 0..<(8 * text.count) {
            var flipped = text
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            let other = Hash128(stripeHashOf: flipped)
            #expect(other.high != key.high && other.low != key.low, "bit \(bit)")
        }
        // The same 64-byte stripes in every order of four, across a scramble (stripe 15 to 16).
        let stripes = (0..<4).map { s in [UInt8](repeating: UInt8(0x61 + s), count: 64) }
        let prefix = [UInt8](repeating: 0x20, count: 64 * 14)
        var orders = Set<Hash128>()
        for permutation in permutations([0, 1, 2, 3]) {
            orders.insert(Hash128(stripeHashOf: prefix + permutation.flatMap { stripes[$0] }))
        }
        #expect(orders.count == 24)
        var keys = Set<Hash128>()
        for length in 0..<70 {
            keys.insert(Hash128(stripeHashOf: [UInt8](repeating: 0, count: length)))
            for byte in 1..<256 {
                var bytes = [UInt8](repeating: 0x61, count: length)
                bytes.append(UInt8(byte))
                keys.insert(Hash128(stripeHashOf: bytes))
            }
        }
        #expect(keys.count == 70 * 256)
    }

    private func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i in
            permutations(Array(items[..<i] + items[(i + 1)...])).map { [items[i]] + $0 }
        }
    }
}

/// The exact key the collapse kernel hashes as it writes equals the plain reference, with the
/// kernel's wide and narrow blocks (in `FastPathTests`, which runs one test at a time: the switch is global).
extension FastPathTests {
    private static let asciiPieces: [(raw: String, text: String)] = [
        ("abcdefg", "abcdefg"), ("Word", "Word"), (" ", " "), ("   ", "   "), (#"\n"#, "\n"), (#"\n\n"#, "\n\n"),
        (#"\t"#, "\t"), (#"\r"#, "\r"), (#"\f"#, "\u{0C}"), (#"\b"#, "\u{08}"), (#"\u0041"#, "A"), (#"\u0020"#, " "),
        (#"\\"#, "\\"), (#"\""#, "\""), (#"\/"#, "/"), ("XYZ.", "XYZ."), (" \\n ", " \n "),
        ("A plain run of words long enough to fill one whole block of 64 bytes ", "A plain run of words long enough to fill one whole block of 64 bytes "),
    ]

    /// A JSON string (raw, with its quotes) whose text normalises to exactly `length` bytes
    /// under `mode`: random pieces (escapes, whitespace runs, words), behind a run of letters
    /// that sets the length, so escapes fall at every place of a block.
    private static func string(normalizedLength length: Int, _ mode: Normalization, _ rng: inout SplitMix64) -> (raw: [UInt8], text: String) {
        while true {
            let chosen = (0..<Int(rng.next() % UInt64(length / 6 + 2))).map { _ in asciiPieces[Int(rng.next() % UInt64(asciiPieces.count))] }
            let tail = chosen.map(\.text).joined(), rawTail = chosen.map(\.raw).joined()
            if length == 0 {
                let blank = chosen.filter { $0.text.allSatisfy(\.isWhitespace) }
                return (Array(("\"" + blank.map(\.raw).joined() + "\"").utf8), blank.map(\.text).joined())
            }
            // Behind one letter the tail adds a fixed number of bytes, behind more as many more.
            let letters = length - (ReferenceStripeHash.normalized("Q" + tail, mode).count - 1)
            guard letters >= 1 else { continue }
            let lead = String(repeating: "Q", count: letters)
            return (Array(("\"" + lead + rawTail + "\"").utf8), lead + tail)
        }
    }

    @Test(arguments: [false, true]) func exactKeyWhileScanningEqualsThePlainReference(narrowBlocks: Bool) {
        lathe_collapse_use_narrow_blocks(narrowBlocks ? 1 : 0)
        defer { lathe_collapse_use_narrow_blocks(0) }
        var rng = SplitMix64(seed: 22)
        for length in StripeHashTests.blockEdges {
            for mode in [Normalization.full, .ws] {
                for _ in 0..<3 {
                    let (raw, text) = Self.string(normalizedLength: length, mode, &rng)
                    #expect(ReferenceStripeHash.normalized(text, mode).count == length)
                    let key = raw.withUnsafeBufferPointer { TextNormalizer.exactKey(jsonString: $0.baseAddress!, available: $0.count, mode) }
                    guard case .hashed(let hash, let read, _) = key else {
                        Issue.record("not hashed: \(text)")
                        continue
                    }
                    #expect(read == raw.count)
                    #expect(hash == ReferenceStripeHash.exactKey(text, mode), "\(length) \(mode) \(String(decoding: raw, as: UTF8.self))")
                }
            }
        }
    }

    /// A 10 MB document passes through the 4 KiB window thousands of times, with escapes and
    /// whitespace runs across every kind of edge.
    @Test(arguments: [false, true]) func exactKeyOfAHugeDocumentEqualsThePlainReference(narrowBlocks: Bool) {
        lathe_collapse_use_narrow_blocks(narrowBlocks ? 1 : 0)
        defer { lathe_collapse_use_narrow_blocks(0) }
        var rng = SplitMix64(seed: 23)
        var raw = "\"", text = ""
        while raw.utf8.count < 10_000_000 {
            let piece = Self.asciiPieces[Int(rng.next() % UInt64(Self.asciiPieces.count))]
            raw += piece.raw
            text += piece.text
        }
        let bytes = Array((raw + "\"").utf8)
        let key = bytes.withUnsafeBufferPointer { TextNormalizer.exactKey(jsonString: $0.baseAddress!, available: $0.count, .full) }
        #expect(key == .hashed(ReferenceStripeHash.exactKey(text, .full), length: bytes.count, escapes: true))
    }

    /// Text that is not ASCII takes the decoding path (normalised, then hashed whole) and the
    /// rest the kernel's: both give the plain reference's key, through the analyser's byte-level
    /// and parsed paths alike.
    @Test(arguments: [false, true]) func exactKeysOfEveryPathEqualThePlainReference(narrowBlocks: Bool) throws {
        lathe_collapse_use_narrow_blocks(narrowBlocks ? 1 : 0)
        defer { lathe_collapse_use_narrow_blocks(0) }
        let pieces = Self.asciiPieces + [(#"\u00e9"#, "é"), ("é", "é"), ("Straße", "Straße"), ("ΣΊΣΥΦΟΣ ", "ΣΊΣΥΦΟΣ "),
                                         ("\u{00A0}", "\u{00A0}"), (#"\u3000"#, "\u{3000}"), ("Cafe\u{301}", "Cafe\u{301}")]
        var rng = SplitMix64(seed: 24)
        let analyzer = Analyzer(settings: DedupeSettings())
        let location = SourceLocation(file: "x", line: 1)
        var unicode = 0
        for trial in 0..<1500 {
            let count = trial % 10 == 0 ? 400 + Int(rng.next() % 400) : Int(rng.next() % 40)
            let chosen = (0..<count).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }
            let text = chosen.map(\.text).joined()
            let line = Array(("{\"id\": \"a\", \"text\": \"" + chosen.map(\.raw).joined() + "\"}").utf8)
            let expected = ReferenceStripeHash.exactKey(text, .full)
            let scanned = line.withUnsafeBytes { analyzer.analyze(line: $0, maxDepth: 64, location, [.id, .exact]) }
            #expect(scanned?.exact == expected, "\(text)")
            let parsed = analyzer.analyze(try JSONParser.parse(String(decoding: line, as: UTF8.self)), location, [.id, .exact])
            #expect(parsed.exact == expected, "\(text)")
            if text.unicodeScalars.contains(where: { $0.value >= 0x80 }) { unicode += 1 }
        }
        #expect(unicode > 500 && unicode < 1500)
    }
}
