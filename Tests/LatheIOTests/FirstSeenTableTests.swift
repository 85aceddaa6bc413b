import Testing
@testable import LatheIO

@Suite struct FirstSeenTableTests {
    /// Against a Dictionary, through several doublings, with keys that share their low bits
    /// (where probing starts), keys that differ only in their high half, and keys that share
    /// their low half and their tag (the high half's low 32 bits) and differ above it.
    @Test func firstValueOfEachKeyAsADictionaryWouldKeepIt() {
        var rng = SplitMix64(seed: 21)
        var table = FirstSeenTable<String>()
        var reference: [[UInt64]: String] = [:]
        for record in 0..<20_000 {
            let high: UInt64, low: UInt64
            switch rng.next() % 4 {
            case 0: (high, low) = (rng.next() % 5000, 7)
            case 1: (high, low) = (1, rng.next() % 5000 << 20)
            case 2: (high, low) = (rng.next() % 500 << 32 | 9, 9)
            default: (high, low) = (rng.next(), rng.next())
            }
            let expected = reference[[high, low]]
            if expected == nil { reference[[high, low]] = "record \(record)" }
            #expect(table.firstOrInsert(high: high, low: low, "record \(record)") == expected)
        }
        #expect(table.count == reference.count && table.count > 8_000)
        #expect(table.memoryBytes >= table.count * 24)
    }
}
