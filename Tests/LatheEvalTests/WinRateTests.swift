import Foundation
import LatheEval
import LatheIO
import Testing

@Suite("LatheEval win rates, length control and quantiles")
struct WinRateTests {
    @Test func logisticRegressionOnTwoGroupsHasItsClosedForm() {
        // With x taking two values the model is saturated: σ(a) is the mean outcome at x = 0,
        // σ(a + b) the mean at x = 1, and var(a) = 1 / (n₀ p₀ (1 − p₀)), so se(σ(a)) = √(p₀(1 − p₀)/n₀).
        let x: [Double] = [0, 0, 0, 0, 1, 1, 1, 1, 1]
        let y: [Double] = [1, 1, 1, 0, 1, 0, 0, 0, 0]
        let fit = LogisticFit.fit(x: x, y: y)
        #expect(fit.converged)
        #expect(abs(fit.probabilityAtZero - 0.75) < 1e-9)
        #expect(abs(1 / (1 + exp(-(fit.intercept + fit.slope))) - 0.2) < 1e-9)
        #expect(abs(fit.probabilityAtZeroStderr! - (0.75 * 0.25 / 4).squareRoot()) < 1e-9)

        // Ties count as halves: 1, ½, 0 at x = 0 average ½, so the intercept is 0.
        let ties = LogisticFit.fit(x: [0, 0, 0, 2, 2], y: [1, 0.5, 0, 1, 0])
        #expect(abs(ties.intercept) < 1e-9)

        // Symmetric design x = ±1: σ(a) = σ((logit p₋ + logit p₊) / 2).
        let sym = LogisticFit.fit(x: [-1, -1, -1, -1, -1, 1, 1, 1, 1, 1], y: [1, 0, 0, 0, 0, 1, 1, 1, 1, 0])
        func logit(_ p: Double) -> Double { log(p / (1 - p)) }
        #expect(abs(sym.intercept - (logit(0.2) + logit(0.8)) / 2) < 1e-9)
        #expect(abs(sym.probabilityAtZero - 0.5) < 1e-9)
    }

    @Test func logisticRegressionRecoversPlantedCoefficients() {
        // 20 000 draws from σ(−0.7 + 1.3x), x uniform in [−2, 2]: estimates within 4 standard errors.
        var rng = SplitMix64(seed: 11)
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<20_000 {
            let xi = rng.nextOpenUnitDouble() * 4 - 2
            x.append(xi)
            y.append(rng.nextOpenUnitDouble() < 1 / (1 + exp(0.7 - 1.3 * xi)) ? 1 : 0)
        }
        let fit = LogisticFit.fit(x: x, y: y)
        #expect(fit.converged && fit.iterations < 20)
        #expect(abs(fit.intercept + 0.7) < 4 * fit.interceptStderr!)
        #expect(abs(fit.slope - 1.3) < 0.1)
    }

    @Test func separatedOutcomesDoNotConverge() {
        let fit = LogisticFit.fit(x: [-2, -1, 1, 2], y: [0, 0, 1, 1])
        #expect(!fit.converged)
        #expect(fit.interceptStderr == nil)
    }

    @Test func judgementsCountTiesAsHalvesWithinTheTolerance() {
        let j = RewardMetrics.judgements(policy: [1.0, 0.5, 2.0, -1.0], baseline: [0.0, 0.5004, 2.0, 3.0], tolerance: 1e-3)
        #expect(j == [1, 0.5, 0.5, 0])

        // Longer responses win more often: ¼ of the time when 40 characters shorter, ¾ when 40
        // longer, ½ at equal length, and most responses are longer. σ(a + b·x) with a = 0 fits all
        // three groups exactly, so it is the estimate: ½ at zero difference, while the raw rate is 8/14.
        let diffs: [Double] = [-40, -40, -40, -40, 40, 40, 40, 40, 40, 40, 40, 40, 0, 0]
        let wins: [Double] = [1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0]
        let lc = RewardMetrics.lengthControlled(judgements: wins, lengthDifferences: diffs)!
        #expect(abs(lc.probabilityAtZero - 0.5) < 1e-6)
        #expect(abs(Statistics.mean(wins).mean - 8.0 / 14) < 1e-12)
        #expect(RewardMetrics.lengthControlled(judgements: [1, 0], lengthDifferences: [0, 0]) == nil)
    }

    @Test func quantilesInterpolateLikeNumpy() {
        // numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6], [0.1, 0.5, 0.9]) = [1.0, 3.5, 6.9]
        let v: [Double] = [3, 1, 4, 1, 5, 9, 2, 6]
        #expect(abs(Statistics.quantile(v, 0.1) - 1.0) < 1e-12)
        #expect(abs(Statistics.quantile(v, 0.5) - 3.5) < 1e-12)
        #expect(abs(Statistics.quantile(v, 0.9) - 6.9) < 1e-12)
        #expect(Statistics.quantile([7], 0.9) == 7)
        let se = Statistics.bootstrapStderr(count: v.count, seed: 3) { draw in Statistics.quantile(draw.map { v[$0] }, 0.5) }
        #expect(se != nil && se! > 0)
    }
}
