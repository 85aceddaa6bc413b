/// Fast non-cryptographic 64-bit hashing in the wyhash style: a 64×64→128-bit multiply
/// folded to 64 bits mixes a whole word per step. Used for shingles, band buckets, exact keys,
/// eval n-grams and format-sft's content keys; none of it is an on-disk format a reader
/// outside Lathe must reproduce, except the signature files of dedupe's sharded steps, which
/// carry their seed and parameters.
public enum Hash64 {
    public static let p0: UInt64 = 0xa076_1d64_78bd_642f
    public static let p1: UInt64 = 0xe703_7ed1_a0b4_28db
    public static let p2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    public static let p3: UInt64 = 0x5899_65cc_7537_4cc3

    /// The high and low halves of the 128-bit product, xored.
    @inlinable @inline(__always)
    public static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// A bijective finaliser (MurmurHash3's fmix64): every input bit reaches every output bit.
    @inlinable @inline(__always)
    public static func finalize(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// Combines a running hash with one more 64-bit word.
    @inlinable @inline(__always)
    public static func combine(_ h: UInt64, _ word: UInt64) -> UInt64 {
        mum(h ^ word ^ p1, p2 ^ (word >> 29))
    }

    /// Bytes start..<end (fewer than 8) as one little-endian word, and how many bits they fill:
    /// the tail of a text a hash reads a word at a time.
    @inlinable @inline(__always)
    public static func tail(_ bytes: UnsafeRawPointer, from start: Int, to end: Int) -> (word: UInt64, bits: UInt64) {
        var word: UInt64 = 0, bits: UInt64 = 0
        for i in start..<end {
            word |= UInt64(bytes.load(fromByteOffset: i, as: UInt8.self)) << bits
            bits += 8
        }
        return (word, bits)
    }

    /// The hash of `bytes` under `seed`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        var h = mum(seed ^ p0, UInt64(truncatingIfNeeded: n) ^ p1)
        var i = 0
        while i + 16 <= n {
            let a = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let b = bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
            h = mum(a ^ p1 ^ h, b ^ p2)
            i += 16
        }
        if i + 8 <= n {
            h = mum(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ p1 ^ h, p3)
            i += 8
        }
        if i < n {
            let tail = Self.tail(bytes.baseAddress!, from: i, to: n)
            h = mum(tail.word ^ p2 ^ h, p3 ^ tail.bits)
        }
        return finalize(h)
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    public static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }
}

/// A 128-bit key for exact deduplication: with 64 bits, a billion documents would collide
/// with probability about 3%; with 128 bits the chance is negligible.
public struct Hash128: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Four wyhash-style lanes over the bytes in one pass (`Hash128.Stream`).
    public init(_ bytes: UnsafeRawBufferPointer) {
        var stream = Stream()
        stream.append(bytes)
        self = stream.finish()
    }

    /// `Hash128` of bytes fed piece by piece, the same whatever the pieces: blocks of 32 bytes
    /// are mixed as they fill and the length comes last, so text can be hashed while it is
    /// being normalised, never held whole.
    ///
    /// Each half of a block goes through two differently keyed lanes, one per half of the
    /// result, so each half of the result depends on every byte. The four lanes are independent
    /// chains of multiplies, which the CPU runs side by side: twice the speed of two lanes.
    public struct Stream {
        private var lanes = (Hash64.mum(0x243f_6a88_85a3_08d3 ^ Hash64.p0, Hash64.p1),
                             Hash64.mum(0x1319_8a2e_0370_7344 ^ Hash64.p2, Hash64.p3),
                             Hash64.mum(0xa409_3822_299f_31d0 ^ Hash64.p1, Hash64.p2),
                             Hash64.mum(0x082e_fa98_ec4e_6c89 ^ Hash64.p3, Hash64.p0))
        /// The bytes of a block not yet full, zero beyond `pending`.
        private var block: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        private var pending = 0
        private var count = 0

        public init() {}

        @inline(__always)
        private mutating func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) {
            lanes.0 = Hash64.mum(a ^ Hash64.p1 ^ lanes.0, b ^ Hash64.p2)
            lanes.1 = Hash64.mum(b ^ Hash64.p3 ^ lanes.1, a ^ Hash64.p0)
            lanes.2 = Hash64.mum(c ^ Hash64.p1 ^ lanes.2, d ^ Hash64.p2)
            lanes.3 = Hash64.mum(d ^ Hash64.p3 ^ lanes.3, c ^ Hash64.p0)
        }

        public mutating func append(_ bytes: UnsafeRawBufferPointer) {
            let n = bytes.count
            count += n
            var i = 0
            if pending > 0 {
                i = min(32 - pending, n)
                fill(bytes[..<i])
                guard pending == 32 else { return }
                mix(block.0, block.1, block.2, block.3)
                block = (0, 0, 0, 0)
                pending = 0
            }
            if i + 32 <= n {
                // The lanes stay in registers for the whole run of blocks.
                var run = Stream()
                run.lanes = lanes
                while i + 32 <= n {
                    run.mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self),
                            bytes.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
                    i += 32
                }
                lanes = run.lanes
            }
            fill(bytes[i...])
        }

        /// Copies `bytes` into the block after its pending bytes; there must be room.
        @inline(__always)
        private mutating func fill(_ bytes: UnsafeRawBufferPointer.SubSequence) {
            let start = pending
            withUnsafeMutableBytes(of: &block) {
                UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes))
            }
            pending += bytes.count
        }

        public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            append(UnsafeRawBufferPointer(bytes))
        }

        /// The hash of every byte appended.
        public func finish() -> Hash128 {
            let n = UInt64(truncatingIfNeeded: count)
            let h = Hash64.mum(block.0 ^ Hash64.p1 ^ lanes.0, block.1 ^ Hash64.p3 ^ n)
                ^ Hash64.mum(block.2 ^ Hash64.p2 ^ lanes.2, block.3 ^ Hash64.p0 ^ n)
            let l = Hash64.mum(block.1 ^ Hash64.p2 ^ lanes.1, block.0 ^ Hash64.p0 ^ n)
                ^ Hash64.mum(block.3 ^ Hash64.p1 ^ lanes.3, block.2 ^ Hash64.p3 ^ n)
            return Hash128(high: Hash64.finalize(h), low: Hash64.finalize(l))
        }

        /// Bytes appended so far.
        public var length: Int { count }
    }

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { Hash128($0) }
    }

    public var hex: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }
}

