/// Open-addressing tables for the encoder's hot path. The standard Dictionary hashes with
/// SipHash and wants an owned key; these probe with a cheap multiplicative hash and look
/// byte strings up in place, which is most of an encoder's time on a cache hit.

import LatheIO

@inline(__always)
func mix(_ x: UInt64) -> UInt64 {
    var z = x &* 0x9E37_79B9_7F4A_7C15
    z ^= z >> 29
    z = z &* 0xBF58_476D_1CE4_E5B9
    return z ^ (z >> 32)
}

/// A hash of `n` bytes, read eight at a time.
@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
    var i = 0
    let raw = UnsafeRawPointer(p)
    while n - i >= 8 {
        h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        i += 8
    }
    if i < n { h = mix(h ^ Hash64.tail(raw, from: i, to: n).word) }
    return h
}

/// Maps a merge pair (two token ids) to its rank and the id it merges into.
struct PairTable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    /// Inserts or replaces: a later duplicate merge wins, as it does in `tokenizers`.
    mutating func set(_ a: Int32, _ b: Int32, rank: Int32, newId: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let k = Self.key(a, b)
        var i = Int(truncatingIfNeeded: mix(k)) & mask
        while keys[i] != Self.empty && keys[i] != k { i = (i + 1) & mask }
        if keys[i] == Self.empty { count += 1 }
        keys[i] = k
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: newId))
    }

    /// The (rank, new id) of merging `a` then `b`, or nil when they do not merge.
    @inline(__always)
    func get(_ a: Int32, _ b: Int32) -> (rank: Int32, newId: Int32)? {
        let k = Self.key(a, b)
        return keys.withUnsafeBufferPointer { keys in
            var i = Int(truncatingIfNeeded: mix(k)) & mask
            while true {
                let stored = keys[i]
                if stored == k {
                    let v = values[i]
                    return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
                }
                if stored == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        values = [UInt64](repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        for (i, k) in oldKeys.enumerated() where k != Self.empty {
            var j = Int(truncatingIfNeeded: mix(k)) & mask
            while keys[j] != Self.empty { j = (j + 1) & mask }
            keys[j] = k
            values[j] = oldValues[i]
        }
    }
}

/// Byte strings to a run of token ids, looked up without copying the key. Serves as the
/// encoder's word cache and as the whole-word vocabulary of `ignore_merges` models.
struct ByteStringTable {
    private var slots: [Int32]
    private var slotHashes: [UInt64]
    private var keyStarts: [Int] = []
    private var valueStarts: [Int] = [0]
    private var keyBytes: [UInt8] = []
    private var valueIds: [Int32] = []
    private var mask: Int
    var count: Int { keyStarts.count }
    /// Bytes of keys held, the measure a cache's budget is kept in.
    var keyByteCount: Int { keyBytes.count }

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        slotHashes = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    mutating func removeAll() {
        for i in slots.indices { slots[i] = -1 }
        keyStarts.removeAll(keepingCapacity: true)
        valueStarts.removeAll(keepingCapacity: true)
        valueStarts.append(0)
        keyBytes.removeAll(keepingCapacity: true)
        valueIds.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func find(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64) -> (slot: Int, entry: Int) {
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return (i, -1) }
            if slotHashes[i] == h {
                let start = keyStarts[e]
                let end = e + 1 < keyStarts.count ? keyStarts[e + 1] : keyBytes.count
                if end - start == n {
                    let same = keyBytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, p, n) == 0 }
                    if same { return (i, e) }
                }
            }
            i = (i + 1) & mask
        }
    }

    /// Appends the ids stored for the key to `out`; false when the key is absent.
    @inline(__always)
    func appendValue(_ p: UnsafePointer<UInt8>, _ n: Int, to out: inout [Int32]) -> Bool {
        let (_, e) = find(p, n, hashBytes(p, n))
        guard e >= 0 else { return false }
        out.append(contentsOf: valueIds[valueStarts[e]..<valueStarts[e + 1]])
        return true
    }

    /// The single id stored for the key, or nil.
    func single(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        let (_, e) = find(p, n, hashBytes(p, n))
        guard e >= 0, valueStarts[e + 1] - valueStarts[e] == 1 else { return nil }
        return valueIds[valueStarts[e]]
    }

    /// Adds a key that is not present yet.
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, _ ids: some Collection<Int32>) {
        if (count + 1) * 2 > slots.count { grow() }
        let h = hashBytes(p, n)
        let (slot, e) = find(p, n, h)
        guard e < 0 else { return }
        slots[slot] = Int32(count)
        slotHashes[slot] = h
        keyStarts.append(keyBytes.count)
        keyBytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        valueIds.append(contentsOf: ids)
        valueStarts.append(valueIds.count)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        slotHashes = [UInt64](repeating: 0, count: size)
        mask = size - 1
        keyBytes.withUnsafeBufferPointer { bytes in
            for e in 0..<keyStarts.count {
                let start = keyStarts[e]
                let end = e + 1 < keyStarts.count ? keyStarts[e + 1] : bytes.count
                let h = hashBytes(bytes.baseAddress! + start, end - start)
                var i = Int(truncatingIfNeeded: h) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = Int32(e)
                slotHashes[i] = h
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
