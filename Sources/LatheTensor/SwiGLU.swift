#if canImport(Glibc)
import Glibc
#endif

/// The gated unit of Llama's MLP: h = silu(gate) ⊙ up, silu(g) = g·σ(g).
public enum SwiGLU {
    // out, gate and up are (N, I), flattened to count = N*I
    public static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>,
                               up: UnsafePointer<Float>, count: Int) {
        Parallel.forRange((count + 15) / 16, costPerItem: 200) { blocks in
            for block in blocks {
                let j = block * 16
                let g = VectorMath.load(gate, j, count, fill: 0), u = VectorMath.load(up, j, count, fill: 0)
                VectorMath.store(g / (1 + VectorMath.exp(-g)) * u, out, j, count)
            }
        }
    }

    // dgate += dout ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)));  dup += dout ⊙ silu(g)
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                count: Int) {
        Parallel.forRange((count + 15) / 16, costPerItem: 250) { blocks in
            for block in blocks {
                let j = block * 16
                let g = VectorMath.load(gate, j, count, fill: 0), u = VectorMath.load(up, j, count, fill: 0)
                let d = VectorMath.load(dout, j, count, fill: 0)
                let sigma = 1 / (1 + VectorMath.exp(-g))
                VectorMath.store(VectorMath.load(dgate, j, count, fill: 0) + d * u * sigma * (1 + g * (1 - sigma)),
                                 dgate, j, count)
                VectorMath.store(VectorMath.load(dup, j, count, fill: 0) + d * g * sigma, dup, j, count)
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
