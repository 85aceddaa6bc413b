/// Stable identifiers for inputs that carry none: 128 bits of FNV-1a over the parts, each
/// half finished with SplitMix64's mixer, as 32 hex digits.
public enum StableID {
    public static func make(_ parts: String...) -> String {
        let (high, low) = hash128(parts)
        return hex(high) + hex(low)
    }

    /// The 128 bits `make` writes as hex, for keys compared in memory (duplicate detection).
    public static func hash128(_ parts: [String]) -> (UInt64, UInt64) {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x6c62_272e_07bb_0142
        for var part in parts {
            part.withUTF8 { bytes in
                for byte in bytes {
                    a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                    b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 &+ 0x9E37_79B9
                }
            }
            a = (a ^ 0xFF) &* 0x0000_0100_0000_01B3
            b = (b ^ 0xFE) &* 0x0000_0100_0000_01B3
        }
        return (mix(a), mix(b ^ a))
    }

    /// 64 well-mixed bits of `text` under `seed`: the same on every machine and run, for
    /// assignments that must not move (which split a prompt lands in).
    public static func hash64(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325 ^ mix(seed)
        var text = text
        text.withUTF8 { bytes in
            for byte in bytes { a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        return mix(a)
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public static func hex(_ x: UInt64) -> String {
        let s = String(x, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
