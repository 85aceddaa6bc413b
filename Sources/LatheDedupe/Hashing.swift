import CDedupeKernels
import LatheIO

extension UInt64 {
    /// Sixteen lowercase hex digits, the form signature files use.
    var hex16: String {
        let s = String(self, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    init?(hex16 text: Substring) {
        guard text.count == 16, let value = UInt64(text, radix: 16) else { return nil }
        self = value
    }
}

extension Hash128 {
    /// The exact key of normalised text: the stripe hash of CDedupeKernels, which the collapse
    /// kernel computes on its output as it writes it (`TextNormalizer.exactKey`), so that the
    /// normalised text needs no second pass. Here, of text normalised first.
    init(stripeHashOf bytes: [UInt8]) {
        var hash = lathe_stripe_hash()
        lathe_stripe_hash_start(&hash)
        self = bytes.withUnsafeBufferPointer { Hash128(finishing: hash, $0) }
    }

    /// The key of what `hash` absorbed followed by `tail`.
    init(finishing hash: lathe_stripe_hash, _ tail: UnsafeBufferPointer<UInt8>) {
        var hash = hash
        var key: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &key) { lathe_stripe_hash_finish(&hash, tail.baseAddress, tail.count, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        self.init(high: key.0, low: key.1)
    }
}
