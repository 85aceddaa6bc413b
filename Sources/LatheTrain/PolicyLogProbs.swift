import Foundation
import LatheModel
import LatheTensor

/// A prompt and one response sampled for it, as token ids.
public struct PolicySample: Sendable, Equatable {
    public var prompt: [Int32]
    public var response: [Int32]

    public init(prompt: [Int32], response: [Int32]) {
        self.prompt = prompt
        self.response = response
    }
}

/// The policy's log-probabilities of sampled responses through the training forward, with their
/// gradient: rows are prompt + response minus its last token (right-padded to the longest row), and
/// position P−1+k predicts response token k. Logits are divided by the sampling temperature T
/// before the softmax, as the sampler divides them, so the ratio at the rollout is exactly 1.
public enum PolicyLogProbs {
    /// Rows (B, T) of inputs and segments (−1 on padding), and each sample's first response position.
    static func layout(_ samples: [PolicySample]) -> (tokens: [Int32], segments: [Int32], seq: Int) {
        let t = max(1, samples.map { $0.prompt.count + $0.response.count - 1 }.max() ?? 1)
        var tokens = [Int32](repeating: 0, count: samples.count * t), segments = [Int32](repeating: -1, count: samples.count * t)
        for (b, sample) in samples.enumerated() {
            for (j, token) in (sample.prompt + sample.response.dropLast()).enumerated() {
                tokens[b * t + j] = token
                segments[b * t + j] = 0
            }
        }
        return (tokens, segments, t)
    }

    /// Runs the model on `samples` (at most its maxBatch rows) and returns each response token's
    /// log π (nats, at temperature T) and the entropy of the distribution it was drawn from.
    /// Leaves the logits divided by T in `model.acts.logits` for `setGradient`.
    public static func forward(_ model: Llama, _ samples: [PolicySample], temperature: Double)
        -> (logProbs: [[Double]], entropies: [[Double]]) {
        precondition(temperature > 0, "log-probabilities of sampled tokens need a temperature above 0")
        precondition(samples.allSatisfy { !$0.prompt.isEmpty && !$0.response.isEmpty }, "every sample needs a prompt and a response")
        let (tokens, segments, t) = layout(samples)
        model.forward(tokens: tokens, segments: segments, batch: samples.count, seq: t)
        let v = model.config.vocabSize, logits = model.acts.logits
        let inverse = Float(1 / temperature)
        if inverse != 1 {
            for i in 0..<(samples.count * t * v) { logits[i] *= inverse }
        }
        var logProbs: [[Double]] = [], entropies: [[Double]] = []
        for (b, sample) in samples.enumerated() {
            var lp: [Double] = [], h: [Double] = []
            for (k, token) in sample.response.enumerated() {
                let row = logits + (b * t + sample.prompt.count - 1 + k) * v
                let lse = Sampler.logSumExp(UnsafeBufferPointer(start: row, count: v))
                lp.append(Double(row[Int(token)]) - lse)
                var plogp = 0.0
                for j in 0..<v {
                    let logp = Double(row[j]) - lse
                    plogp += exp(logp) * logp
                }
                h.append(-plogp)
            }
            logProbs.append(lp)
            entropies.append(h)
        }
        return (logProbs, entropies)
    }

    /// Sets `model.acts.logitsGrad` to ∂L/∂logits for the last `forward` on `samples`, given
    /// ∂L/∂log π of each response token and, optionally, ∂L/∂H of each token's entropy:
    /// ∂log π_k/∂z = (onehot − p)/T and ∂H/∂z = −p(log p + H)/T. The caller runs `model.backward()`.
    public static func setGradient(_ model: Llama, _ samples: [PolicySample], temperature: Double,
                                   dLogProbs: [[Double]], dEntropies: [[Double]]? = nil) {
        let (_, _, t) = layout(samples)
        let v = model.config.vocabSize, logits = model.acts.logits, grad = model.acts.logitsGrad
        grad.update(repeating: 0, count: samples.count * t * v)
        let inverseT = 1 / temperature
        for (b, sample) in samples.enumerated() {
            for (k, token) in sample.response.enumerated() {
                let at = (b * t + sample.prompt.count - 1 + k) * v
                let row = logits + at, out = grad + at
                let lse = Sampler.logSumExp(UnsafeBufferPointer(start: row, count: v))
                let g = dLogProbs[b][k], gh = dEntropies?[b][k] ?? 0
                var h = 0.0
                if gh != 0 {
                    for j in 0..<v {
                        let logp = Double(row[j]) - lse
                        h -= exp(logp) * logp
                    }
                }
                for j in 0..<v {
                    let logp = Double(row[j]) - lse, p = exp(logp)
                    var d = -g * p
                    if gh != 0 { d -= gh * p * (logp + h) }
                    out[j] = Float(d * inverseT)
                }
                out[Int(token)] += Float(g * inverseT)
            }
        }
    }

    /// log π of every response token of `samples`, as many rows at a time as the model holds, no
    /// gradient (rollout-time and reference log-probabilities).
    public static func logProbs(_ model: Llama, _ samples: [PolicySample], temperature: Double) -> [[Double]] {
        var out: [[Double]] = []
        var start = 0
        while start < samples.count {
            let chunk = Array(samples[start..<min(start + model.acts.maxBatch, samples.count)])
            out += forward(model, chunk, temperature: temperature).logProbs
            start += chunk.count
        }
        return out
    }
}
