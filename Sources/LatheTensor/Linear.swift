// The kernels of a Llama decoder, in the manner of llm.c: each layer is a forward and a
// backward side by side over flat row-major fp32 buffers, with its shapes in a comment.
// N is the number of token positions (B*T). Forward writes its outputs; backward ADDS into
// every gradient it produces (inputs and weights alike), so a caller zeroes gradient buffers
// once and residual branches, tied weights and shared kv heads sum by themselves.
// Beside each kernel, `Reference` is the plain Double version the tests hold it to.

/// A bias-free linear layer, y = x·Wᵀ, with W stored (out, in) as Hugging Face stores it.
public enum Linear {
    // out is (N,O); inp is (N,I); weight is (O,I). With `accumulate` out += x·Wᵀ instead,
    // which is how a residual branch joins the stream without a separate add. With bf16
    // precision the product's inputs are rounded to bf16 and its sums kept in fp32.
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, rows n: Int, inDim i: Int, outDim o: Int,
                               accumulate: Bool = false, precision: MatmulPrecision = .fp32) {
        multiply(out, inp, weight, m: n, n: o, k: i, transB: true, beta: accumulate ? 1 : 0, precision)
    }

    // dinp (N,I) += dout (N,O) · weight (O,I);  dweight (O,I) += doutᵀ · inp (N,I)
    public static func backward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                                dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows n: Int, inDim i: Int, outDim o: Int, precision: MatmulPrecision = .fp32) {
        if let dinp { multiply(dinp, dout, weight, m: n, n: i, k: o, beta: 1, precision) }
        if let dweight { multiply(dweight, dout, inp, m: o, n: i, k: n, transA: true, beta: 1, precision) }
    }

    // c (m,n) = op(a)·op(b) + beta·c, with fp32 inputs or bf16-rounded ones
    @inline(__always)
    private static func multiply(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                 m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, beta: Float,
                                 _ precision: MatmulPrecision) {
        switch precision {
        case .fp32: matmul(c, a, b, m: m, n: n, k: k, transA: transA, transB: transB, beta: beta)
        case .bf16: matmulBF16(c, a, b, m: m, n: n, k: k, transA: transA, transB: transB, beta: beta)
        }
    }

    public enum Reference {
        public static func forward(inp: [Double], weight: [Double], rows n: Int, inDim i: Int, outDim o: Int) -> [Double] {
            var out = [Double](repeating: 0, count: n * o)
            for r in 0..<n {
                for c in 0..<o {
                    var sum = 0.0
                    for j in 0..<i { sum += inp[r * i + j] * weight[c * i + j] }
                    out[r * o + c] = sum
                }
            }
            return out
        }

        public static func backward(dout: [Double], inp: [Double], weight: [Double],
                                    rows n: Int, inDim i: Int, outDim o: Int) -> (dinp: [Double], dweight: [Double]) {
            var dinp = [Double](repeating: 0, count: n * i)
            var dweight = [Double](repeating: 0, count: o * i)
            for r in 0..<n {
                for c in 0..<o {
                    let g = dout[r * o + c]
                    for j in 0..<i {
                        dinp[r * i + j] += g * weight[c * i + j]
                        dweight[c * i + j] += g * inp[r * i + j]
                    }
                }
            }
            return (dinp, dweight)
        }
    }
}
