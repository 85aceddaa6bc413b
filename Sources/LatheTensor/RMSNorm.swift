#if canImport(Glibc)
import Glibc
#endif

/// Llama's RMSNorm: y = w ⊙ x / sqrt(mean(x²) + eps), statistics in fp32 as Hugging Face does.
public enum RMSNorm {
    // out is (N,C); rstd is (N), kept for backward; inp is (N,C); weight is (C)
    public static func forward(out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               rows n: Int, channels c: Int, eps: Float) {
        Parallel.forRange(n, costPerItem: 4 * c) { rows in
            for r in rows {
                let x = inp + r * c, y = out + r * c
                let s = 1 / (VectorMath.dot(x, x, count: c) / Float(c) + eps).squareRoot()
                rstd[r] = s
                for j in 0..<c { y[j] = x[j] * s * weight[j] }
            }
        }
    }

    // with x̂ = x·rstd and g = dout ⊙ w:  dinp += rstd·(g − x̂·mean(g ⊙ x̂));  dweight += Σ_rows dout ⊙ x̂
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, rows n: Int, channels c: Int) {
        Parallel.forRange(n, costPerItem: 6 * c) { rows in
            for r in rows {
                let x = inp + r * c, g = dout + r * c, dx = dinp + r * c
                let s = rstd[r]
                var dot: Float = 0
                for j in 0..<c { dot += g[j] * weight[j] * x[j] * s }
                let meanDot = dot / Float(c)
                for j in 0..<c { dx[j] += s * (g[j] * weight[j] - x[j] * s * meanDot) }
            }
        }
        // Columns split across workers so no two write the same dweight entry.
        Parallel.forRange(c, costPerItem: 2 * n) { columns in
            for r in 0..<n {
                let x = inp + r * c, g = dout + r * c, s = rstd[r]
                for j in columns { dweight[j] += g[j] * x[j] * s }
            }
        }
    }

    public enum Reference {
        public static func forward(inp: [Double], weight: [Double], rows n: Int, channels c: Int,
                                   eps: Double) -> [Double] {
            var out = inp
            for r in 0..<n {
                let row = inp[r * c..<(r + 1) * c]
                let rms = (row.map { $0 * $0 }.reduce(0, +) / Double(c) + eps).squareRoot()
                for j in 0..<c { out[r * c + j] = inp[r * c + j] / rms * weight[j] }
            }
            return out
        }

        public static func backward(dout: [Double], inp: [Double], weight: [Double], rows n: Int, channels c: Int,
                                    eps: Double) -> (dinp: [Double], dweight: [Double]) {
            var dinp = [Double](repeating: 0, count: n * c), dweight = [Double](repeating: 0, count: c)
            for r in 0..<n {
                let x = Array(inp[r * c..<(r + 1) * c]), g = Array(dout[r * c..<(r + 1) * c])
                let ms = x.map { $0 * $0 }.reduce(0, +) / Double(c)
                let s = 1 / (ms + eps).squareRoot()
                // y_j = w_j x_j s, ∂s/∂x_k = -s³ x_k / C
                var gwx = 0.0
                for j in 0..<c { gwx += g[j] * weight[j] * x[j] }
                for k in 0..<c {
                    dinp[r * c + k] = g[k] * weight[k] * s - gwx * s * s * s * x[k] / Double(c)
                    dweight[k] += g[k] * x[k] * s
                }
            }
            return (dinp, dweight)
        }
    }
}
