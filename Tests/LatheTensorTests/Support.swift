import LatheTensor

// Kernels take pointers; tests hand them [Float] arrays (`&array` for outputs), whose
// pointers are valid exactly for the call.
func floats(_ values: [Double]) -> [Float] { values.map { Float($0) } }

func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }

extension Array where Element == Float {
    var doubles: [Double] { map { Double($0) } }
}

func randomValues(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    GradientCheck.randomNormal(count, seed: seed, scale: scale)
}

func numericGradient(_ x: [Double], _ f: ([Double]) -> Double) -> [Double] { GradientCheck.numericGradient(x, f) }

func relativeError(_ a: [Double], _ b: [Double]) -> Double { GradientCheck.relativeError(a, b) }

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) }
