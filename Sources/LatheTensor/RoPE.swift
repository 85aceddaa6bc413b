#if canImport(Glibc)
import Glibc
#endif

/// Rotary position embedding in the Hugging Face Llama convention ("rotate_half"): dimension i
/// of a head is paired with i + hs/2, rotated by angle pos · theta^(-2i/hs).
/// It is applied in place: forward turns q or k into their rotated selves, backward turns
/// the gradient of the rotated vectors into the gradient of the unrotated ones (the
/// inverse rotation), so no pre-rotation copy is kept. It is the one kernel that does not add.
public final class RoPE: @unchecked Sendable {
    public let headDim: Int
    public let maxPositions: Int
    public let theta: Double
    // cos and sin are (maxPositions, headDim/2), computed in Double then rounded
    private let cosTable: UnsafeMutablePointer<Float>
    private let sinTable: UnsafeMutablePointer<Float>

    public init(headDim: Int, maxPositions: Int, theta: Double) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        self.headDim = headDim
        self.maxPositions = maxPositions
        self.theta = theta
        let half = headDim / 2
        cosTable = .allocate(capacity: maxPositions * half)
        sinTable = .allocate(capacity: maxPositions * half)
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Double(p) * pow(theta, -Double(2 * i) / Double(headDim))
                cosTable[p * half + i] = Float(cos(angle))
                sinTable[p * half + i] = Float(sin(angle))
            }
        }
    }

    deinit { cosTable.deallocate(); sinTable.deallocate() }

    // x is (N, heads, hs), rotated in place; positions is (N), each in 0..<maxPositions
    public func forward(_ x: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, rows n: Int, heads: Int) {
        rotate(x, positions: positions, rows: n, heads: heads, direction: 1)
    }

    // dx is (N, heads, hs): gradient w.r.t. the rotated vectors in, w.r.t. the inputs out
    public func backward(_ dx: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, rows n: Int, heads: Int) {
        rotate(dx, positions: positions, rows: n, heads: heads, direction: -1)
    }

    private func rotate(_ x: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, rows n: Int, heads: Int,
                        direction: Float) {
        let hs = headDim, half = hs / 2
        Parallel.forRange(n, costPerItem: 6 * heads * hs) { rows in
            for r in rows {
                let p = Int(positions[r])
                precondition(p >= 0 && p < maxPositions, "position \(p) outside 0..<\(maxPositions)")
                let cosRow = cosTable + p * half, sinRow = sinTable + p * half
                for h in 0..<heads {
                    let v = x + (r * heads + h) * hs
                    for i in 0..<half {
                        let a = v[i], b = v[i + half], c = cosRow[i], s = direction * sinRow[i]
                        v[i] = a * c - b * s
                        v[i + half] = b * c + a * s
                    }
                }
            }
        }
    }

    public enum Reference {
        public static func forward(_ x: [Double], positions: [Int32], heads: Int, headDim hs: Int,
                                   theta: Double) -> [Double] {
            var out = x
            let half = hs / 2
            for (r, p) in positions.enumerated() {
                for h in 0..<heads {
                    let base = (r * heads + h) * hs
                    for i in 0..<half {
                        let angle = Double(p) / pow(theta, Double(2 * i) / Double(hs))
                        // rotate_half(x) = (-x2, x1); out = x·cos + rotate_half(x)·sin
                        out[base + i] = x[base + i] * cos(angle) - x[base + i + half] * sin(angle)
                        out[base + i + half] = x[base + i + half] * cos(angle) + x[base + i] * sin(angle)
                    }
                }
            }
            return out
        }

        // The rotation is orthogonal, so its backward is the rotation by the opposite angle.
        public static func backward(_ dout: [Double], positions: [Int32], heads: Int, headDim hs: Int,
                                    theta: Double) -> [Double] {
            let half = hs / 2
            var dx = dout
            for (r, p) in positions.enumerated() {
                for h in 0..<heads {
                    let base = (r * heads + h) * hs
                    for i in 0..<half {
                        let angle = Double(p) / pow(theta, Double(2 * i) / Double(hs))
                        dx[base + i] = dout[base + i] * cos(angle) + dout[base + i + half] * sin(angle)
                        dx[base + i + half] = dout[base + i + half] * cos(angle) - dout[base + i] * sin(angle)
                    }
                }
            }
            return dx
        }
    }
}
