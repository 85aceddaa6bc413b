/// The first record with each exact key: an open-addressing table probed by the key's own
/// bits, which are already a hash, so a lookup costs one or two cache lines and no hashing
/// (a `Dictionary` would hash the 16 bytes again on the ordered thread, for every record).
struct ExactTable {
    private var highs: [UInt64]
    private var lows: [UInt64]
    /// The record number at each slot, -1 where the slot is empty.
    private var records: [Int32]
    private(set) var count = 0

    init() {
        highs = Array(repeating: 0, count: 1024)
        lows = highs
        records = Array(repeating: -1, count: 1024)
    }

    /// Bytes held, slack included.
    var memoryBytes: Int { records.count * (8 + 8 + 4) }

    /// The record first seen with `key`; otherwise `record` is entered as that one and nil is
    /// returned.
    mutating func firstOrInsert(_ key: Hash128, _ record: Int32) -> Int32? {
        if 2 * (count + 1) > records.count { grow() }
        let mask = records.count - 1
        var slot = Int(truncatingIfNeeded: key.low) & mask
        while records[slot] >= 0 {
            if lows[slot] == key.low && highs[slot] == key.high { return records[slot] }
            slot = (slot + 1) & mask
        }
        highs[slot] = key.high
        lows[slot] = key.low
        records[slot] = record
        count += 1
        return nil
    }

    private mutating func grow() {
        let old = (highs, lows, records)
        let size = 2 * records.count
        highs = Array(repeating: 0, count: size)
        lows = highs
        records = Array(repeating: -1, count: size)
        count = 0
        for i in old.2.indices where old.2[i] >= 0 {
            _ = firstOrInsert(Hash128(high: old.0[i], low: old.1[i]), old.2[i])
        }
    }
}
