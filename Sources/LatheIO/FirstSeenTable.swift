/// The first value entered under each 128-bit key, for keys that are already hashes (exact
/// dedupe's text keys, format-sft's content keys): an open-addressing table probed by the key's
/// own bits, so a lookup hashes nothing and touches a cache line or two. A `Dictionary` would
/// hash the 16 bytes again, for every record, on the stage's one ordered thread.
public struct FirstSeenTable<Value> {
    @usableFromInline struct Slot {
        @usableFromInline var high: UInt64 = 0
        @usableFromInline var low: UInt64 = 0
        /// 1 + the index of the slot's value in `values`; 0 while the slot is empty.
        @usableFromInline var entry: Int32 = 0

        @inlinable init() {}
    }

    @usableFromInline var slots = [Slot](repeating: Slot(), count: 1024)
    @usableFromInline var values: [Value] = []

    @inlinable public init() {}

    /// Keys entered.
    @inlinable public var count: Int { values.count }

    /// Bytes held, slack included.
    @inlinable public var memoryBytes: Int {
        slots.count * MemoryLayout<Slot>.stride + values.capacity * MemoryLayout<Value>.stride
    }

    /// The value first entered under the key (`high`, `low`); when there is none, `value` is
    /// entered as that one and nil is returned.
    @inlinable public mutating func firstOrInsert(high: UInt64, low: UInt64, _ value: Value) -> Value? {
        // Linear probing stays short up to three quarters full, and a small table stays in cache.
        if 4 * (values.count + 1) > 3 * slots.count { grow() }
        let entry = slots.withUnsafeMutableBufferPointer { slots -> Int32 in
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: low) & mask
            while slots[i].entry != 0 {
                if slots[i].low == low && slots[i].high == high { return slots[i].entry }
                i = (i + 1) & mask
            }
            slots[i].high = high
            slots[i].low = low
            slots[i].entry = Int32(values.count + 1)
            return 0
        }
        if entry != 0 { return values[Int(entry) - 1] }
        values.append(value)
        return nil
    }

    @usableFromInline mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: 2 * old.count)
        let mask = slots.count - 1
        for slot in old where slot.entry != 0 {
            var i = Int(truncatingIfNeeded: slot.low) & mask
            while slots[i].entry != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }
}
