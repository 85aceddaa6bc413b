import CLatheKernels

/// What the model's matrix products take as inputs. Accumulation and master weights are fp32 either way.
public enum MatmulPrecision: String, Sendable, CaseIterable {
    /// fp32 inputs (OpenBLAS sgemm).
    case fp32
    /// Inputs rounded to bfloat16 (8 significant bits, fp32's exponent range), products summed in fp32.
    case bf16
}

/// bfloat16 rounding of fp32 values, kept in fp32 storage (the low 16 bits zero), so any
/// fp32 GEMM then computes exactly the bf16-input, fp32-accumulate product.
public enum BFloat16 {
    /// Round to nearest, ties to even; NaN stays NaN and overflow goes to ±infinity, as
    /// hardware conversion (vcvtneps2bf16) does.
    public static func round(_ x: Float) -> Float {
        var input = x, output: Float = 0
        lathe_bf16_round(&output, &input, 1)
        return output
    }

    // out (count) = round(inp); out may be inp
    public static func round(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
        Parallel.forRange((count + 1023) / 1024, costPerItem: 1024 * 2) { blocks in
            let lo = blocks.lowerBound * 1024, hi = min(count, blocks.upperBound * 1024)
            lathe_bf16_round(out + lo, inp + lo, hi - lo)
        }
    }

    // out (count) = the 16 bits of round(inp), for weights held in bf16
    public static func pack(_ out: UnsafeMutablePointer<UInt16>, _ inp: UnsafePointer<Float>, count: Int) {
        Parallel.forRange((count + 1023) / 1024, costPerItem: 1024 * 2) { blocks in
            let lo = blocks.lowerBound * 1024, hi = min(count, blocks.upperBound * 1024)
            lathe_bf16_pack(out + lo, inp + lo, hi - lo)
        }
    }

    // out (count) = inp widened to fp32 (exact)
    public static func unpack(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<UInt16>, count: Int) {
        Parallel.forRange((count + 1023) / 1024, costPerItem: 1024) { blocks in
            let lo = blocks.lowerBound * 1024, hi = min(count, blocks.upperBound * 1024)
            lathe_bf16_unpack(out + lo, inp + lo, hi - lo)
        }
    }

    public enum Reference {
        /// The nearest bf16 value found by comparing the two candidates that bracket x.
        public static func round(_ x: Float) -> Float {
            if x.isNaN || x.isInfinite { return x }
            let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
            let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
            let dDown = abs(Double(x) - Double(down)), dUp = abs(Double(x) - Double(up))
            if dDown != dUp { return dDown < dUp ? down : up }
            return (down.bitPattern >> 16) & 1 == 0 ? down : up
        }
    }
}
