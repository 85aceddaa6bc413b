import Foundation
import Testing
import LatheModel
import LatheTensor
@testable import LatheTrain

@Suite("Policy gradient") struct PolicyGradientTests {
    // ρ = e^0.2 = 1.2214028 (log π −1 vs −1.2), ρ = e^−0.5 = 0.6065307 (−2 vs −1.5), ε = 0.2, worked by hand:
    // A = 2, ρ 1.2214: −min(2.4428, 2.4) = −2.4, clipped, no gradient; A = −1: −min(−1.2214, −1.2) = 1.2214, ∂ = −Aρ = 1.2214;
    // A = 1, ρ 0.6065: −min(0.6065, 0.8) = −0.6065, ∂ = −0.6065; A = −1: −min(−0.6065, −0.8) = 0.8, clipped.
    @Test func clippedSurrogateMatchesItsClosedForm() {
        let s = ClippedSurrogate(epsilon: 0.2)
        let cases: [(Double, Double, Double, Double, Double, Bool)] = [
            (-1, -1.2, 2, -2.4, 0, true), (-1, -1.2, -1, 1.2214028, 1.2214028, false),
            (-2, -1.5, 1, -0.6065307, -0.6065307, false), (-2, -1.5, -1, 0.8, 0, true),
            (-3, -3, 0.5, -0.5, -0.5, false),
        ]
        for (logp, old, a, loss, d, clipped) in cases {
            let r = s(logProb: logp, oldLogProb: old, advantage: a)
            #expect(abs(r.loss - loss) < 1e-6 && abs(r.dLogProb - d) < 1e-6 && r.clipped == clipped, "\(logp) \(old) \(a): \(r)")
        }
    }

    // log π −1, log π_ref −1.5: k1 = 0.5; k3 = e^−0.5 − 1 + 0.5 = 0.1065307. At log π = log π_ref both are 0.
    @Test func klEstimatorsMatchTheirClosedForms() {
        #expect(abs(KLEstimator.k1(logProb: -1, refLogProb: -1.5).value - 0.5) < 1e-12)
        #expect(abs(KLEstimator.k3(logProb: -1, refLogProb: -1.5).value - 0.1065307) < 1e-7)
        #expect(KLEstimator.k3(logProb: -2, refLogProb: -2).value == 0 && KLEstimator.k1(logProb: -2, refLogProb: -2).value == 0)
        // k3 is never negative; k1 is when the reference likes the token more.
        #expect(KLEstimator.k3(logProb: -2, refLogProb: -0.5).value > 0 && KLEstimator.k1(logProb: -2, refLogProb: -0.5).value < 0)
    }

    @Test func derivativesMatchFiniteDifferences() {
        let s = ClippedSurrogate(epsilon: 0.2)
        // Away from the clip boundaries ρ = 0.8 and 1.2.
        for (logp, old, a) in [(-1.0, -1.2, -1.0), (-1.0, -1.2, 2.0), (-2.0, -1.5, 1.0), (-1.1, -1.0, 0.7), (-0.9, -1.0, -0.3)] {
            let numeric = GradientCheck.numericGradient([logp]) { s(logProb: $0[0], oldLogProb: old, advantage: a).loss }[0]
            #expect(abs(s(logProb: logp, oldLogProb: old, advantage: a).dLogProb - numeric) < 1e-7)
        }
        for estimator in KLEstimator.allCases {
            for (logp, ref) in [(-1.0, -1.5), (-2.0, -0.5), (-0.3, -0.31)] {
                let numeric = GradientCheck.numericGradient([logp]) { estimator(logProb: $0[0], refLogProb: ref).value }[0]
                #expect(abs(estimator(logProb: logp, refLogProb: ref).dLogProb - numeric) < 1e-7, "\(estimator)")
            }
        }
        for (v, old, target) in [(1.5, 1.0, 0.0), (1.5, 1.0, 2.0), (1.1, 1.0, 3.0), (0.2, 1.0, 0.1)] {
            let numeric = GradientCheck.numericGradient([v]) { PolicyGradient.clippedValueLoss(value: $0[0], oldValue: old, target: target).loss }[0]
            #expect(abs(PolicyGradient.clippedValueLoss(value: v, oldValue: old, target: target).dValue - numeric) < 1e-6)
        }
        let logits = GradientCheck.randomNormal(7, seed: 11, scale: 2)
        for t in [1.0, 0.6] {
            let numeric = GradientCheck.numericGradient(logits) { PolicyGradient.entropy($0, temperature: t).value }
            #expect(GradientCheck.relativeError(PolicyGradient.entropy(logits, temperature: t).dLogits, numeric) < 1e-6)
        }
    }

    // p = (1/6, 2/6, 3/6): H = ln6/6 + ln3/3 + ln2/2 = 1.0114043; logits doubled at T = 2 give the same p.
    @Test func entropyMatchesItsClosedForm() {
        #expect(abs(PolicyGradient.entropy([0, log(2), log(3)], temperature: 1).value - 1.0114043) < 1e-7)
        #expect(abs(PolicyGradient.entropy([0, 2 * log(2), 2 * log(3)], temperature: 2).value - 1.0114043) < 1e-7)
    }

    // Rewards (1, 0, 0, 1): mean 0.5, std √(1/3) = 0.5773503, so ±0.5/(0.5773503 + 1e-4) = ±0.8658754.
    @Test func groupAdvantagesNormaliseWithinEachGroup() {
        let (a, std) = PolicyGradient.groupAdvantages([1, 0, 0, 1, 3, 3], groupSize: 2)
        #expect(std.count == 3 && abs(std[0] - 0.7071068) < 1e-7 && std[2] == 0)
        #expect(a[4] == 0 && a[5] == 0)  // a group whose rewards agree teaches nothing
        let b = PolicyGradient.groupAdvantages([1, 0, 0, 1], groupSize: 4).advantages
        for (x, y) in zip(b, [0.8658754, -0.8658754, -0.8658754, 0.8658754]) { #expect(abs(x - y) < 1e-7) }
    }

    // Rewards (0, 0, 1), values (0.5, 0.2, 0.4), γ 1, λ 0.95, by hand: δ = (−0.3, 0.2, 0.6);
    // A₂ = 0.6, A₁ = 0.2 + 0.95·0.6 = 0.77, A₀ = −0.3 + 0.95·0.77 = 0.4315; returns A + V = (0.9315, 0.97, 1.0).
    @Test func gaeMatchesHandNumbersAndThePlainSum() {
        let (a, r) = PolicyGradient.gae(rewards: [0, 0, 1], values: [0.5, 0.2, 0.4], gamma: 1, lambda: 0.95)
        for (x, y) in zip(a + r, [0.4315, 0.77, 0.6, 0.9315, 0.97, 1.0]) { #expect(abs(x - y) < 1e-12) }
        // The plain definition A_t = Σ_l (γλ)^l δ_{t+l}, on random numbers with γ < 1.
        let rewards = GradientCheck.randomNormal(9, seed: 1), values = GradientCheck.randomNormal(9, seed: 2)
        let (gamma, lambda) = (0.9, 0.8)
        let delta = (0..<9).map { t in rewards[t] + gamma * (t + 1 < 9 ? values[t + 1] : 0) - values[t] }
        let plain = (0..<9).map { t in (t..<9).reduce(0.0) { $0 + pow(gamma * lambda, Double($1 - t)) * delta[$1] } }
        let fast = PolicyGradient.gae(rewards: rewards, values: values, gamma: gamma, lambda: lambda).advantages
        #expect(GradientCheck.relativeError(fast, plain) < 1e-12)
    }

    // (1, 2 | 3): mean 2, Bessel variance (1 + 0 + 1)/2 = 1, so (−1, 0 | 1).
    @Test func whiteningUsesTheWholeBatch() {
        let w = PolicyGradient.whiten([[1, 2], [3]])
        #expect(abs(w[0][0] + 1) < 1e-7 && w[0][1] == 0 && abs(w[1][0] - 1) < 1e-7)
    }

    // β 0.1, target 6, measured 12: the error clips to 0.2; 100 responses over horizon 10000 → β·1.002.
    @Test func adaptiveKLControllerFollowsZiegler() {
        var c = KLController(value: 0.1, target: 6, horizon: 10_000)
        c.update(kl: 12, responses: 100)
        #expect(abs(c.value - 0.1002) < 1e-12)
        c.update(kl: 5.4, responses: 100)  // e = −0.1
        #expect(abs(c.value - 0.1002 * 0.999) < 1e-12)
        var fixed = KLController(value: 0.05)
        fixed.update(kl: 100, responses: 100)
        #expect(fixed.value == 0.05)
    }

    static let samples = [PolicySample(prompt: [1, 7, 9], response: [12, 40, 2]),
                          PolicySample(prompt: [1, 8], response: [200, 3, 3, 17, 2]),
                          PolicySample(prompt: [1, 5, 5, 5, 6], response: [9])]

    /// log softmax(z/T) at each response token from logits (B·T, V) in Double, and the entropies.
    static func reference(_ logits: [Double], seq t: Int, vocab v: Int, temperature: Double) -> (lp: [[Double]], h: [[Double]]) {
        var lps: [[Double]] = [], hs: [[Double]] = []
        for (b, s) in samples.enumerated() {
            var lp: [Double] = [], h: [Double] = []
            for (k, token) in s.response.enumerated() {
                let row = Array(logits[((b * t + s.prompt.count - 1 + k) * v)..<((b * t + s.prompt.count + k) * v)]).map { $0 / temperature }
                let m = row.max()!
                let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
                lp.append(row[Int(token)] - lse)
                h.append(-row.reduce(0) { $0 + exp($1 - lse) * ($1 - lse) })
            }
            lps.append(lp)
            hs.append(h)
        }
        return (lps, hs)
    }

    // The response log-probabilities and entropies at T, and ∂(Σ g·log π + Σ gₕ·H)/∂logits handed to
    // the model's backward (itself checked in LlamaTests), against a Double reference and its central differences.
    @Test(arguments: [1.0, 0.7]) func logProbsAndTheirGradientMatchAReference(temperature: Double) {
        let model = DPOTests.tinyModel(seed: 8, rows: 3, seq: 16)
        let (tokens, segments, t) = PolicyLogProbs.layout(Self.samples)
        model.forward(tokens: tokens, segments: segments, batch: 3, seq: t)
        let v = model.config.vocabSize
        let logits = (0..<(3 * t * v)).map { Double(model.acts.logits[$0]) }
        let expected = Self.reference(logits, seq: t, vocab: v, temperature: temperature)
        let (lp, h) = PolicyLogProbs.forward(model, Self.samples, temperature: temperature)
        for (a, b) in zip(lp.flatMap { $0 } + h.flatMap { $0 }, expected.lp.flatMap { $0 } + expected.h.flatMap { $0 }) {
            #expect(abs(a - b) < 1e-4)
        }
        let g = Self.samples.indices.map { GradientCheck.randomNormal(Self.samples[$0].response.count, seed: UInt64(20 + $0)) }
        let gh = Self.samples.indices.map { GradientCheck.randomNormal(Self.samples[$0].response.count, seed: UInt64(30 + $0)) }
        PolicyLogProbs.setGradient(model, Self.samples, temperature: temperature, dLogProbs: g, dEntropies: gh)
        func loss(_ x: [Double]) -> Double {
            let r = Self.reference(x, seq: t, vocab: v, temperature: temperature)
            var total = 0.0
            for b in 0..<3 { for k in r.lp[b].indices { total += g[b][k] * r.lp[b][k] + gh[b][k] * r.h[b][k] } }
            return total
        }
        // Each response position, and one prompt position and one padding position (gradient 0).
        let positions = Self.samples.enumerated().flatMap { b, s in (0..<s.response.count).map { b * t + s.prompt.count - 1 + $0 } } + [0, 2 * t + 5]
        var numeric: [Double] = [], analytic: [Double] = []
        for j in positions {
            var x = logits
            numeric += GradientCheck.numericGradient(Array(logits[(j * v)..<((j + 1) * v)]), step: 1e-5) { row in
                for k in 0..<v { x[j * v + k] = row[k] }
                return loss(x)
            }
            analytic += (0..<v).map { Double(model.acts.logitsGrad[j * v + $0]) }
        }
        let error = GradientCheck.relativeError(analytic, numeric)
        #expect(error < 1e-3, "relative error \(error)")
        #expect(analytic.suffix(2 * v).allSatisfy { $0 == 0 })
    }

    // The training-side rows see what the generator saw: at T = 1 the log-probabilities the generator
    // reports for its own samples come back from the training forward.
    @Test func trainingForwardAgreesWithTheGenerator() throws {
        let model = DPOTests.tinyModel(seed: 8, rows: 2, seq: 24)
        let generator = Generator(params: model.params, slots: 2, capacity: 24)
        let prompts: [[Int32]] = [[1, 7, 9], [1, 8]]
        let generated = try generator.generate(prompts: prompts, options: SamplingOptions(temperature: 1, maxNewTokens: 6, seed: 4))
        let samples = zip(prompts, generated).map { PolicySample(prompt: $0, response: $1.tokens) }
        let lp = PolicyLogProbs.forward(model, samples, temperature: 1).logProbs
        for (a, b) in zip(lp.flatMap { $0 }, generated.flatMap(\.logProbabilities)) { #expect(abs(a - b) < 1e-4) }
    }

    // At T ≠ 1 training's log π is the log of the probability the sampler drew the token with
    // (`Sampler.distribution` on the same raw logits at the same temperature).
    @Test func trainingLogProbsAreTheSamplersProbabilitiesAtT() {
        let model = DPOTests.tinyModel(seed: 8, rows: 3, seq: 16)
        let (tokens, segments, t) = PolicyLogProbs.layout(Self.samples)
        model.forward(tokens: tokens, segments: segments, batch: 3, seq: t)
        let v = model.config.vocabSize
        let raw = Array(UnsafeBufferPointer(start: model.acts.logits, count: 3 * t * v))
        let lp = PolicyLogProbs.forward(model, Self.samples, temperature: 0.6).logProbs
        for (b, s) in Self.samples.enumerated() {
            for (k, token) in s.response.enumerated() {
                let at = (b * t + s.prompt.count - 1 + k) * v
                let p = raw[at..<(at + v)].withUnsafeBufferPointer {
                    Sampler.distribution($0, options: SamplingOptions(temperature: 0.6)).first { $0.token == token }!.probability
                }
                #expect(abs(exp(lp[b][k]) - p) < 1e-5 * max(1, p))
            }
        }
    }
}
