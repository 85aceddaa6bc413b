#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable, and the same stream on every machine,
/// so `--seed N` reproduces an initialisation, a MinHash permutation or a data order bit for bit.
/// The one generator every Lathe module draws from.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in (0, 1) with 53 random bits; never 0, so safe under log.
    public mutating func nextOpenUnitDouble() -> Double { (Double(next() >> 11) + 0.5) * 0x1p-53 }

    /// Standard normal by Box–Muller; one draw per call keeps the stream position simple.
    public mutating func nextGaussian() -> Double {
        let u1 = nextOpenUnitDouble(), u2 = nextOpenUnitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
