import Testing
@testable import LatheIO

@Suite struct FirstSeenTableTests {
    /// Against a Dictionary, through several doublings, with keys that share their low bits
    /// (where probing starts) and keys that differ only in their high half.
    @Test func firstValueOfEachKeyAsADictionaryWouldKeepIt() {
        var rng = SplitMix64(seed: 21)
        var table = FirstSeenTable<String>()
        var reference: [[UInt64]: String] = [:]
        for record in 0..<20_000 {
            let pick = rng.next() % 3
            let (high, low) = pick == 0 ? (rng.next() % 5000, UInt64(7))
                : pick == 1 ? (UInt64(1), rng.next() % 5000 << 20)
                : (rng.next(), rng.next())
            let expected = reference[[high, low]]
            if expected == nil { reference[[high, low]] = "record \(record)" }
            #expect(table.firstOrInsert(high: high, low: low, "record \(record)") == expected)
        }
        #expect(table.count == reference.count && table.count > 10_000)
        #expect(table.memoryBytes >= table.count * 24)
    }
}
