import LatheCLI
import LatheIO
import Testing

@Suite struct ByteCountTests {
    @Test func parsesSuffixesAsBinaryMultiples() {
        #expect(ByteCount(argument: "1000")?.bytes == 1000)
        #expect(ByteCount(argument: "64k")?.bytes == 65_536)
        #expect(ByteCount(argument: "512M")?.bytes == 536_870_912)
        #expect(ByteCount(argument: "512MiB")?.bytes == 536_870_912)
        #expect(ByteCount(argument: "1.5G")?.bytes == 1_610_612_736)
        #expect(ByteCount(argument: "2gb")?.bytes == 2_147_483_648)
        #expect(ByteCount(argument: "1T")?.bytes == 1_099_511_627_776)
        for bad in ["", "M", "-1G", "12X", "1e400", "nan"] { #expect(ByteCount(argument: bad) == nil, "\(bad)") }
    }

    @Test func formatsForPeople() {
        #expect(formatMemory(100) == "100 B")
        #expect(formatMemory(1536) == "1.5 KiB")
        #expect(formatMemory(536_870_912) == "512 MiB")
        #expect(formatMemory(1_610_612_736) == "1.5 GiB")
    }
}
