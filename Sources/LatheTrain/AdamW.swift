import Foundation
import LatheModel
import LatheTensor

/// AdamW (Loshchilov & Hutter): Adam's moments with weight decay applied to the weights
/// directly rather than through the gradient, as torch.optim.AdamW does. Matrices decay;
/// 1-D tensors (norm weights, biases) do not.
public final class AdamW: @unchecked Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var eps: Float = 1e-8
    public var weightDecay: Float
    /// First and second moments, in the parameters' layout (so saved under the same names).
    public let m: LlamaParameters
    public let v: LlamaParameters

    public init(config: LlamaConfig, head: OutputHead = .languageModel, weightDecay: Float) {
        self.weightDecay = weightDecay
        m = LlamaParameters(zerosFor: config, head: head)
        v = LlamaParameters(zerosFor: config, head: head)
    }

    /// One update of step `t` (from 1) at learning rate `lr`, the gradient first scaled by
    /// `gradScale` (clipping). Element-wise, so splitting rows across cores changes no bit.
    public func update(_ params: LlamaParameters, _ grads: LlamaParameters, lr: Float, step t: Int, gradScale: Float) {
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        for view in params.views {
            let decay = view.shape.count >= 2 ? weightDecay : 0
            let p = params.arena.pointer(view), g = grads.arena.pointer(view)
            let m = self.m.arena.pointer(view), v = self.v.arena.pointer(view)
            let (b1, b2, eps) = (beta1, beta2, self.eps)
            Parallel.forRange(view.count, costPerItem: 16) { range in
                for i in range {
                    let grad = g[i] * gradScale
                    m[i] = b1 * m[i] + (1 - b1) * grad
                    v[i] = b2 * v[i] + (1 - b2) * grad * grad
                    p[i] -= lr * ((m[i] / c1) / ((v[i] / c2).squareRoot() + eps) + decay * p[i])
                }
            }
        }
    }
}

/// The global L2 norm of a gradient arena, summed in a fixed order (per view, then in view
/// order) in Double, so it is the same on any number of cores.
public func gradientNorm(_ grads: LlamaParameters) -> Double {
    var total = 0.0
    for view in grads.views {
        let g = grads.arena.pointer(view)
        var sum = 0.0
        for i in 0..<view.count { sum += Double(g[i]) * Double(g[i]) }
        total += sum
    }
    return total.squareRoot()
}
