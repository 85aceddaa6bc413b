import CLatheKernels
#if canImport(Glibc)
import Glibc
#endif

/// The gated unit of Llama's MLP: h = silu(gate) ⊙ up, silu(g) = g·σ(g).
public enum SwiGLU {
    // out, gate and up are (N, I), flattened to count = N*I
    public static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>,
                               up: UnsafePointer<Float>, count: Int) {
        Parallel.forRange((count + 63) / 64, costPerItem: 64 * 20) { blocks in
            let lo = blocks.lowerBound * 64, hi = min(count, blocks.upperBound * 64)
            lathe_swiglu_forward(out + lo, gate + lo, up + lo, hi - lo)
        }
    }

    // dgate += dout ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup += dout ⊙ silu(g)
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                count: Int) {
        Parallel.forRange((count + 63) / 64, costPerItem: 64 * 25) { blocks in
            let lo = blocks.lowerBound * 64, hi = min(count, blocks.upperBound * 64)
            lathe_swiglu_backward(dgate + lo, dup + lo, dout + lo, gate + lo, up + lo, hi - lo)
        }
    }

    public enum Reference {
        public static func forward(gate: [Double], up: [Double]) -> [Double] {
            zip(gate, up).map { g, u in g / (1 + exp(-g)) * u }
        }

        public static func backward(dout: [Double], gate: [Double], up: [Double]) -> (dgate: [Double], dup: [Double]) {
            var dgate = gate, dup = up
            for i in gate.indices {
                let g = gate[i], sigma = 1 / (1 + exp(-g))
                // d/dg [g σ(g)] = σ(g) + g σ(g)(1 − σ(g))
                dgate[i] = dout[i] * up[i] * (sigma + g * sigma * (1 - sigma))
                dup[i] = dout[i] * g * sigma
            }
            return (dgate, dup)
        }
    }
}
