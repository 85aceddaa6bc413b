/// A fixed table from short ASCII words (at most 16 bytes) to values, looked up by bytes.
///
/// A word's bytes packed into two zero-padded 64-bit words are its key, so a lookup builds no
/// String and hashes with two multiplies; the words it serves (tag names, class-name tokens)
/// hold no zero bytes, so the padding cannot make two words equal.
struct ShortWordTable<Value: Sendable>: Sendable {
    static var maxLength: Int { 16 }
    private var keys: [(UInt64, UInt64)]
    private var values: [Value?]
    private let shift: UInt64

    init(_ table: [String: Value]) {
        var size = 16, bits: UInt64 = 4
        while size < table.count * 4 { size *= 2; bits += 1 }
        keys = Array(repeating: (0, 0), count: size)
        values = Array(repeating: nil, count: size)
        shift = 64 - bits
        for (word, value) in table {
            let bytes = Array(word.utf8)
            precondition(bytes.count <= Self.maxLength && !bytes.contains(0), "ShortWordTable: '\(word)' is not a short word")
            let key = Self.pack(bytes)
            var slot = self.slot(key)
            while values[slot] != nil { slot = (slot + 1) & (size - 1) }
            keys[slot] = key
            values[slot] = value
        }
    }

    func value<C: Collection>(_ word: C) -> Value? where C.Element == UInt8 {
        guard word.count <= Self.maxLength else { return nil }
        let key = Self.pack(word)
        var slot = slot(key)
        while let value = values[slot] {
            if keys[slot] == key { return value }
            slot = (slot + 1) & (values.count - 1)
        }
        return nil
    }

    private func slot(_ key: (UInt64, UInt64)) -> Int {
        Int(truncatingIfNeeded: ((key.0 ^ (key.1 &* 0xC2B2_AE3D_27D4_EB4F)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    private static func pack<C: Collection>(_ bytes: C) -> (UInt64, UInt64) where C.Element == UInt8 {
        var a: UInt64 = 0, b: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            if i < 8 { a |= UInt64(byte) << (8 * UInt64(i)) } else { b |= UInt64(byte) << (8 * UInt64(i - 8)) }
        }
        return (a, b)
    }
}
