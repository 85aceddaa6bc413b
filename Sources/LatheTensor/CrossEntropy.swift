#if canImport(Glibc)
import Glibc
#endif

/// Softmax cross-entropy over the vocabulary with a loss mask.
///
/// A position counts with weight mask[i] (1 to train on it, 0 to ignore it; nil means all 1),
/// and never when its target is negative (Hugging Face's -100 convention). The loss is the
/// weighted mean over counted positions, Σ mᵢ ℓᵢ / Σ mᵢ: a batch with many ignored positions
/// weighs each remaining token the same as a full one. With nothing counted the loss is 0.
/// Trainers accumulating micro-batches pass their own `scale` to backward (e.g. 1/Σm over
/// the whole step) to keep that normalisation across the step.
public enum CrossEntropy {
    // losses is (N): −log softmax(logits)[target] where counted, else 0; logits is (N,V); targets is (N)
    // returns the weighted mean loss and the weight Σ mᵢ it was divided by
    @discardableResult
    public static func forward(losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                               targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>?,
                               rows n: Int, vocab v: Int) -> (loss: Float, weight: Float) {
        Parallel.forRange(n, costPerItem: 8 * v) { rows in
            for r in rows {
                let w = weight(r, targets, mask)
                if w == 0 { losses[r] = 0; continue }
                let row = logits + r * v
                losses[r] = logSumExp(row, v) - row[Int(targets[r])]
            }
        }
        var total = 0.0, weightSum = 0.0
        for r in 0..<n {
            let w = Double(weight(r, targets, mask))
            total += w * Double(losses[r])
            weightSum += w
        }
        return (weightSum > 0 ? Float(total / weightSum) : 0, Float(weightSum))
    }

    // dlogits (N,V) += scale · mᵢ · (softmax(logits) − onehot(target)); scale is usually 1/Σm.
    // dlogits may be the logits buffer itself (each row is read before it is written).
    public static func backward(dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>?,
                                rows n: Int, vocab v: Int, scale: Float) {
        let inPlace = UnsafePointer(dlogits) == logits
        Parallel.forRange(n, costPerItem: 10 * v) { rows in
            for r in rows {
                let w = weight(r, targets, mask) * scale
                let row = logits + r * v, d = dlogits + r * v
                if w == 0 {
                    if inPlace { d.update(repeating: 0, count: v) }
                    continue
                }
                let lse = logSumExp(row, v)
                VectorMath.softmaxScaled(into: d, row: row, count: v, logSumExp: lse, weight: w, accumulate: !inPlace)
                d[Int(targets[r])] -= w
            }
        }
    }

    @inline(__always)
    static func weight(_ r: Int, _ targets: UnsafePointer<Int32>, _ mask: UnsafePointer<Float>?) -> Float {
        targets[r] < 0 ? 0 : (mask?[r] ?? 1)
    }

    @inline(__always)
    static func logSumExp(_ row: UnsafePointer<Float>, _ v: Int) -> Float {
        let m = VectorMath.max(row, count: v)
        return m + logf(VectorMath.sumExpShifted(row, count: v, by: m))
    }

    public enum Reference {
        public static func forward(logits: [Double], targets: [Int32], mask: [Double]?, vocab v: Int) -> Double {
            var total = 0.0, weightSum = 0.0
            for (r, target) in targets.enumerated() where target >= 0 {
                let w = mask?[r] ?? 1
                let row = logits[r * v..<(r + 1) * v]
                let lse = log(row.map { exp($0) }.reduce(0, +))
                total += w * (lse - logits[r * v + Int(target)])
                weightSum += w
            }
            return weightSum > 0 ? total / weightSum : 0
        }

        public static func backward(logits: [Double], targets: [Int32], mask: [Double]?, vocab v: Int) -> [Double] {
            var d = [Double](repeating: 0, count: logits.count)
            let weightSum = targets.indices.filter { targets[$0] >= 0 }.map { mask?[$0] ?? 1 }.reduce(0, +)
            guard weightSum > 0 else { return d }
            for (r, target) in targets.enumerated() where target >= 0 {
                let w = (mask?[r] ?? 1) / weightSum
                let row = logits[r * v..<(r + 1) * v]
                let total = row.map { exp($0) }.reduce(0, +)
                for j in 0..<v { d[r * v + j] = w * (exp(logits[r * v + j]) / total - (j == Int(target) ? 1 : 0)) }
            }
            return d
        }
    }
}
