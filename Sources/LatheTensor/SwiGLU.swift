#if canImport(Glibc)
import Glibc
#endif

/// The gated unit of Llama's MLP: h = silu(gate) ⊙ up, silu(g) = g·σ(g).
public enum SwiGLU {
    // out, gate and up are (N, I), flattened to count = N*I
    public static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>,
                               up: UnsafePointer<Float>, count: Int) {
        Parallel.forRange(count, costPerItem: 20) { range in
            for i in range {
                let g = gate[i]
                out[i] = g / (1 + expf(-g)) * up[i]
            }
        }
    }

    // dgate += dout ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup += dout ⊙ silu(g)
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                count: Int) {
        Parallel.forRange(count, costPerItem: 25) { range in
            for i in range {
                let g = gate[i], sigma = 1 / (1 + expf(-g))
                dgate[i] += dout[i] * up[i] * sigma * (1 + g * (1 - sigma))
                dup[i] += dout[i] * g * sigma
            }
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
