/// The ggml tensor types Lathe reads, by their numbers in ggml's `ggml_type`.
public enum GGMLType: UInt32, Sendable, CustomStringConvertible, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4_K = 12, q6_K = 14, bf16 = 30

    /// Elements per block: 1 for plain floats, 32 for the legacy quants, 256 for k-quants.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q8_0: 32
        case .q4_K, .q6_K: 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 2 + 16          // d, 32 nibbles
        case .q4_1: 2 + 2 + 16      // d, m, 32 nibbles
        case .q8_0: 2 + 32          // d, 32 int8
        case .q4_K: 2 + 2 + 12 + 128  // d, dmin, 8 packed 6-bit scale/min pairs, 256 nibbles
        case .q6_K: 128 + 64 + 16 + 2 // low 4 bits, high 2 bits, 16 int8 scales, d
        }
    }

    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q6_K: "Q6_K"
        }
    }

    static var supportedNames: String { allCases.map(\.description).joined(separator: ", ") }
}

/// Decoding ggml's block layouts to fp32, one block at a time, as ggml's reference
/// dequantisers define them (each block's scales are f16; values are scale · quant (+ min)).
public enum Dequantize {
    // src holds count/blockSize blocks of type; out is (count)
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / type.blockSize
        for b in 0..<blocks {
            let p = src + b * type.blockBytes, y = out + b * type.blockSize
            switch type {
            case .f32: y[0] = Float(bitPattern: u32(p))
            case .f16: y[0] = half(p)
            case .bf16: y[0] = Float(bitPattern: UInt32(u16(p)) << 16)
            case .q4_0: q4_0(p, y)
            case .q4_1: q4_1(p, y)
            case .q8_0: q8_0(p, y)
            case .q4_K: q4_K(p, y)
            case .q6_K: q6_K(p, y)
            }
        }
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer) -> UInt16 { UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)) }
    @inline(__always) static func u32(_ p: UnsafeRawPointer) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) }
    @inline(__always) static func half(_ p: UnsafeRawPointer) -> Float { Float(Float16(bitPattern: u16(p))) }
    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }

    // 32 values: element j < 16 is the low nibble of byte j, element j + 16 its high nibble; x = d·(q − 8)
    static func q4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p)
        for j in 0..<16 {
            let q = byte(p, 2 + j)
            y[j] = d * Float(Int(q & 0xF) - 8)
            y[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    // as Q4_0 with x = d·q + m
    static func q4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p), m = half(p + 2)
        for j in 0..<16 {
            let q = byte(p, 4 + j)
            y[j] = d * Float(q & 0xF) + m
            y[j + 16] = d * Float(q >> 4) + m
        }
    }

    // x = d·q with q signed bytes
    static func q8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p)
        for j in 0..<32 { y[j] = d * Float(Int8(bitPattern: byte(p, 2 + j))) }
    }

    // 8 sub-blocks of 32 share a 6-bit scale and a 6-bit min, packed into 12 bytes: sub-blocks 0–3
    // use the low 6 bits of bytes 0–3 (scale) and 4–7 (min); sub-blocks 4–7 take 4 low bits from
    // bytes 8–11 (scale low nibble, min high nibble) and 2 high bits from the top of bytes 0–3 / 4–7.
    static func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        if j < 4 { return (byte(s, j) & 63, byte(s, j + 4) & 63) }
        return ((byte(s, j + 4) & 0xF) | ((byte(s, j - 4) >> 6) << 4),
                (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4))
    }

    // Each 64 values take 32 bytes of qs: the low nibbles are the first 32 values (sub-block 2i),
    // the high nibbles the next 32 (sub-block 2i+1); x = d·scale·q − dmin·min
    static func q4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p), dmin = half(p + 2), scales = p + 4, qs = p + 16
        for chunk in 0..<4 {
            let (s1, m1) = scaleMinK4(2 * chunk, scales), (s2, m2) = scaleMinK4(2 * chunk + 1, scales)
            let d1 = d * Float(s1), d2 = d * Float(s2), o1 = dmin * Float(m1), o2 = dmin * Float(m2)
            let q = qs + 32 * chunk, out = y + 64 * chunk
            for l in 0..<32 {
                out[l] = d1 * Float(byte(q, l) & 0xF) - o1
                out[l + 32] = d2 * Float(byte(q, l) >> 4) - o2
            }
        }
    }

    // Two halves of 128 values; in each, value l + 32k (k = 0…3) takes 4 low bits from ql
    // (bytes l and l + 32, low then high nibble) and 2 high bits from qh[l] (bits 2k, 2k+1);
    // x = d·scale[l/16 + 2k]·(q − 32), with 16 signed scales of 16 values each
    static func q6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let ql0 = p, qh0 = p + 128, sc0 = p + 192, d = half(p + 208)
        for half in 0..<2 {
            let ql = ql0 + 64 * half, qh = qh0 + 32 * half, sc = sc0 + 8 * half, out = y + 128 * half
            for l in 0..<32 {
                let h = byte(qh, l), lo = byte(ql, l), hi = byte(ql, l + 32)
                let q0 = Int(lo & 0xF) | Int(h & 3) << 4, q1 = Int(hi & 0xF) | Int((h >> 2) & 3) << 4
                let q2 = Int(lo >> 4) | Int((h >> 4) & 3) << 4, q3 = Int(hi >> 4) | Int((h >> 6) & 3) << 4
                @inline(__always) func scale(_ k: Int) -> Float { d * Float(Int8(bitPattern: byte(sc, l / 16 + 2 * k))) }
                out[l] = scale(0) * Float(q0 - 32)
                out[l + 32] = scale(1) * Float(q1 - 32)
                out[l + 64] = scale(2) * Float(q2 - 32)
                out[l + 96] = scale(3) * Float(q3 - 32)
            }
        }
    }
}
