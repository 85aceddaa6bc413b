/// The first record with each exact key: an open-addressing table probed by the key's own
/// bits, which are already a hash, so a lookup costs one cache line or two and no hashing
/// (a `Dictionary` would hash the 16 bytes again on the ordered thread, for every record).
struct ExactTable {
    private struct Slot {
        var key = Hash128(high: 0, low: 0)
        /// -1 while the slot is empty.
        var record: Int32 = -1
    }

    private var slots = [Slot](repeating: Slot(), count: 1024)
    private(set) var count = 0

    /// Bytes held, slack included.
    var memoryBytes: Int { slots.count * MemoryLayout<Slot>.stride }

    /// The record first seen with `key`; otherwise `record` is entered as that one and nil is
    /// returned.
    mutating func firstOrInsert(_ key: Hash128, _ record: Int32) -> Int32? {
        if 2 * (count + 1) > slots.count { grow() }
        return slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: key.low) & mask
            while slots[i].record >= 0 {
                if slots[i].key == key { return slots[i].record }
                i = (i + 1) & mask
            }
            slots[i] = Slot(key: key, record: record)
            count += 1
            return nil
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: 2 * old.count)
        count = 0
        for slot in old where slot.record >= 0 { _ = firstOrInsert(slot.key, slot.record) }
    }
}
