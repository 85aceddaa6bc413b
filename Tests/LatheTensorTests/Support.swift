import LatheTensor

// Kernels take pointers; tests hand them [Float] arrays (`&array` for outputs), whose
// pointers are valid exactly for the call.
func floats(_ values: [Double]) -> [Float] { values.map { Float($0) } }

func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }

extension Array where Element == Float {
    var doubles: [Double] { map { Double($0) } }
}

func randomValues(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in rng.nextGaussian() * scale }
}

/// Central differences of f at x, one coordinate at a time.
func numericGradient(_ x: [Double], step: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    return x.indices.map { i in
        let saved = x[i]
        x[i] = saved + step
        let up = f(x)
        x[i] = saved - step
        let down = f(x)
        x[i] = saved
        return (up - down) / (2 * step)
    }
}

/// Largest |a−b| relative to the largest |b|: the error measure every comparison here uses.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    let scale = max(b.map(abs).max() ?? 0, 1e-12)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) }
