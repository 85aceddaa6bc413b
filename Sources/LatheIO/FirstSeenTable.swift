/// The first value entered under each 128-bit key, for keys that are already hashes (exact
/// dedupe's text keys, format-sft's content keys): an open-addressing table probed by the key's
/// own bits, so a lookup hashes nothing. A `Dictionary` would hash the 16 bytes again, for
/// every record, on the stage's one ordered thread.
///
/// A slot is 8 bytes, a tag of the key and where its entry is, so the slots of a million keys
/// take 16 MiB at most, not 48: probing a table that has outgrown the caches costs a miss to
/// memory per lookup (nearly all of this table's time), and fewer bytes keep more of it
/// cached. The whole key is compared only when the tag matches.
public struct FirstSeenTable<Value> {
    @usableFromInline var slots = [FirstSeenSlot](repeating: FirstSeenSlot(), count: 1024)
    @usableFromInline var keys: [(high: UInt64, low: UInt64)] = []
    @usableFromInline var values: [Value] = []

    @inlinable public init() {}

    /// Keys entered.
    @inlinable public var count: Int { values.count }

    /// Bytes held, slack included.
    @inlinable public var memoryBytes: Int {
        slots.count * MemoryLayout<FirstSeenSlot>.stride + keys.capacity * 16 + values.capacity * MemoryLayout<Value>.stride
    }

    /// The value first entered under the key (`high`, `low`); when there is none, `value` is
    /// entered as that one and nil is returned.
    @inlinable public mutating func firstOrInsert(high: UInt64, low: UInt64, _ value: Value) -> Value? {
        // Linear probing stays short up to three quarters full.
        if 4 * (values.count + 1) > 3 * slots.count { grow() }
        let tag = UInt32(truncatingIfNeeded: high)
        let count = Int32(values.count)
        let entry = slots.withUnsafeMutableBufferPointer { slots -> Int32 in
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: low) & mask
            while slots[i].entry != 0 {
                if slots[i].tag == tag {
                    let key = keys[Int(slots[i].entry) - 1]
                    if key.low == low && key.high == high { return slots[i].entry }
                }
                i = (i + 1) & mask
            }
            slots[i].tag = tag
            slots[i].entry = count + 1
            return 0
        }
        if entry != 0 { return values[Int(entry) - 1] }
        keys.append((high, low))
        values.append(value)
        return nil
    }

    @usableFromInline mutating func grow() {
        slots = [FirstSeenSlot](repeating: FirstSeenSlot(), count: 2 * slots.count)
        let mask = slots.count - 1
        for (index, key) in keys.enumerated() {
            var i = Int(truncatingIfNeeded: key.low) & mask
            while slots[i].entry != 0 { i = (i + 1) & mask }
            slots[i].tag = UInt32(truncatingIfNeeded: key.high)
            slots[i].entry = Int32(index + 1)
        }
    }
}

/// A slot of `FirstSeenTable`, outside it so that it is not generic: a nested type would be
/// generic over the table's `Value`, and its array's type looked up at run time on every probe.
@usableFromInline struct FirstSeenSlot {
    /// The low 32 bits of the key's high half (probing starts at its low half's bits).
    @usableFromInline var tag: UInt32 = 0
    /// 1 + the index of the slot's key and value in `keys` and `values`; 0 while empty.
    @usableFromInline var entry: Int32 = 0

    @inlinable init() {}
}
