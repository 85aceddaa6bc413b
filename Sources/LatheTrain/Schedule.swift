import Foundation

/// How the learning rate moves over the run: linear warmup from 0 over `warmup` steps, then
/// cosine decay to 10% of the peak, linear decay to 0, or constant, at step `total`.
public enum LearningRateSchedule: String, CaseIterable, Sendable {
    case cosine, linear, constant

    /// The learning rate for step `step` (counting from 1) of `total`.
    public func rate(step: Int, total: Int, peak: Double, warmup: Int) -> Double {
        if step <= warmup { return peak * Double(step) / Double(max(1, warmup)) }
        let progress = min(1, Double(step - warmup) / Double(max(1, total - warmup)))
        switch self {
        case .constant: return peak
        case .linear: return peak * (1 - progress)
        case .cosine: return peak * (0.1 + 0.9 * 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
