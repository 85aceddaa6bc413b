import Foundation
import Testing
import LatheModel
import LatheTensor

/// vocab 40, d 16, 2 layers, 4 query heads over 2 kv heads of 4 dims.
private let genConfig = LlamaConfig(vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2,
                                    numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 32)

/// Logits (T,V) of the training forward on one sequence: the path incremental decoding must agree with.
private func fullLogits(_ params: LlamaParameters, _ tokens: [Int32]) -> [[Float]] {
    let model = Llama(params: params, maxBatch: 1, maxSeq: tokens.count)
    model.forward(tokens: tokens, batch: 1, seq: tokens.count)
    let v = params.config.vocabSize
    return (0..<tokens.count).map { t in (0..<v).map { model.acts.logits[t * v + $0] } }
}

private func logSoftmax(_ row: [Float], _ token: Int32) -> Double {
    let m = Double(row.max()!)
    return Double(row[Int(token)]) - m - log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
}

@Suite("Generation") struct GenerationTests {
    // Three prompts of different lengths prefilled in one packed step, then decoded together
    // with one sequence leaving early: every logit row equals the full forward's at that position.
    @Test func incrementalLogitsEqualFullForward() throws {
        let params = roughParameters(genConfig, seed: 11)
        let generator = Generator(params: params, slots: 3, capacity: 16)
        var sequences: [[Int32]] = [[1, 5, 9], [2, 4, 6, 8, 10, 12], [7]]
        var rows: [[[Float]]] = [[], [], []]
        let prefill = try generator.extend(sequences.enumerated().map { (slot: $0.offset, tokens: $0.element) }, logits: .all)
        for s in 0..<3 {
            rows[s] = (0..<sequences[s].count).map { Array(prefill[s][$0 * 40..<($0 + 1) * 40]) }
        }
        for step in 0..<5 {
            let active = step < 2 ? [0, 1, 2] : [0, 2]
            let requests = active.map { s -> (slot: Int, tokens: [Int32]) in
                let next = Int32((Int(sequences[s].last!) * 7 + step + s) % 40)
                sequences[s].append(next)
                return (s, [next])
            }
            let out = try generator.extend(requests, logits: .last)
            for (j, s) in active.enumerated() { rows[s].append(out[j]) }
        }
        #expect(generator.cache.lengths == [8, 8, 6])
        for s in 0..<3 {
            let full = fullLogits(params, sequences[s])
            #expect(rows[s].count == full.count)
            for t in 0..<full.count {
                let d = maxDifference(rows[s][t], full[t])
                #expect(d < 1e-4, "sequence \(s) position \(t): difference \(d)")
            }
        }
    }

    @Test func greedyEqualsArgmaxOfFullForwardAndLogProbabilitiesMatch() throws {
        let params = roughParameters(genConfig, seed: 12)
        let generator = Generator(params: params, slots: 2, capacity: 20)
        let prompts: [[Int32]] = [[3, 1, 4, 1, 5], [9, 2]]
        let results = try generator.generate(prompts: prompts, options: .init(temperature: 0, maxNewTokens: 8))
        for (prompt, result) in zip(prompts, results) {
            #expect(result.tokens.count == 8 && result.finish == .length)
            let full = fullLogits(params, prompt + result.tokens)
            for (j, token) in result.tokens.enumerated() {
                let row = full[prompt.count - 1 + j]
                #expect(Int32(row.indices.max { row[$0] < row[$1] }!) == token)
                #expect(abs(result.logProbabilities[j] - logSoftmax(row, token)) < 1e-4)
            }
        }
    }

    @Test func sameSeedSameTokensAndTopKOneIsGreedy() throws {
        let params = roughParameters(genConfig, seed: 13)
        let generator = Generator(params: params, slots: 3, capacity: 24)
        let prompts: [[Int32]] = [[1, 2, 3], [4], [5, 6]]
        let sampled = SamplingOptions(temperature: 1.3, topP: 0.95, maxNewTokens: 12, seed: 99)
        let first = try generator.generate(prompts: prompts, options: sampled)
        #expect(try generator.generate(prompts: prompts, options: sampled) == first)
        // A prompt's tokens do not depend on its batch neighbours or on the number of slots.
        let alone = try Generator(params: params, slots: 1, capacity: 24).generate(prompts: prompts, options: sampled)
        #expect(alone.map(\.tokens) == first.map(\.tokens))
        var other = sampled
        other.seed = 100
        #expect(try generator.generate(prompts: prompts, options: other).map(\.tokens) != first.map(\.tokens))

        let greedy = try generator.generate(prompts: prompts, options: .init(temperature: 0, maxNewTokens: 12))
        let topOne = try generator.generate(prompts: prompts, options: .init(temperature: 0.8, topK: 1, maxNewTokens: 12, seed: 5))
        #expect(topOne.map(\.tokens) == greedy.map(\.tokens))
    }

    @Test func stopTokensAndStopStrings() throws {
        let params = roughParameters(genConfig, seed: 14)
        let generator = Generator(params: params, slots: 1, capacity: 24)
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN")
        let detokenize = { (tokens: [Int32]) in String(tokens.map { letters[Int($0)] }) }
        let free = try generator.generate(prompts: [[1, 2]], options: .init(temperature: 0, maxNewTokens: 10))[0]
        let stopAt = free.tokens[3]
        let firstIndex = free.tokens.firstIndex(of: stopAt)!
        let byToken = try generator.generate(prompts: [[1, 2]],
                                             options: .init(temperature: 0, maxNewTokens: 10, stopTokens: [stopAt]))[0]
        #expect(byToken.tokens == Array(free.tokens[...firstIndex]) && byToken.finish == .stopToken(stopAt))

        let text = detokenize(free.tokens)
        let stop = String(text.dropFirst(4).prefix(2))
        let byString = try generator.generate(prompts: [[1, 2]], options: .init(temperature: 0, maxNewTokens: 10, stopStrings: [stop]),
                                              detokenize: detokenize)[0]
        let end = text.range(of: stop)!.upperBound
        #expect(detokenize(byString.tokens) == String(text[..<end]) && byString.finish == .stopString(stop))
        #expect(throws: GenerationError.self) {
            try generator.generate(prompts: [[1]], options: .init(stopStrings: ["x"]))
        }
        #expect(throws: GenerationError.self) {
            try generator.generate(prompts: [Array(repeating: 1, count: 20)], options: .init(maxNewTokens: 5))
        }
    }

    // Σ log p(continuation | context) against the log-softmax of full forwards over context + continuation.
    @Test func scoresOfContinuationsEqualFullForward() throws {
        let params = roughParameters(genConfig, seed: 15)
        let generator = Generator(params: params, slots: 3, capacity: 16)
        let context: [Int32] = [0, 8, 3, 17]
        let continuations: [[Int32]] = [[5], [6, 7, 8], [30, 2], [11, 12, 13, 14]]
        let scores = try generator.score(context: context, continuations: continuations)
        for (c, score) in zip(continuations, scores) {
            let full = fullLogits(params, context + c)
            var expected = 0.0, greedy = true
            for (j, token) in c.enumerated() {
                let row = full[context.count - 1 + j]
                expected += logSoftmax(row, token)
                greedy = greedy && Int32(row.indices.max { row[$0] < row[$1] }!) == token
            }
            #expect(abs(score.logLikelihood - expected) < 1e-4 * max(1, abs(expected)))
            #expect(score.isGreedy == greedy)
        }
        // A continuation the model would write itself is greedy.
        let own = try generator.generate(prompts: [context], options: .init(temperature: 0, maxNewTokens: 3))[0].tokens
        #expect(try generator.score(context: context, continuations: [own])[0].isGreedy)
    }
}

@Suite("Sampler") struct SamplerTests {
    // Probabilities 0.5, 0.2, 0.15, 0.1, 0.05 placed at ids 3, 0, 4, 1, 2.
    static let probabilities: [Double] = [0.2, 0.1, 0.05, 0.5, 0.15]
    static let logits = probabilities.map { Float(log($0)) + 1.5 }

    func kept(_ options: SamplingOptions) -> [Int32: Double] {
        Dictionary(uniqueKeysWithValues: Self.logits.withUnsafeBufferPointer {
            Sampler.distribution($0, options: options).map { ($0.token, $0.probability) }
        })
    }

    func expectClose(_ got: [Int32: Double], _ expected: [Int32: Double]) {
        #expect(Set(got.keys) == Set(expected.keys), "kept \(got.keys.sorted()), expected \(expected.keys.sorted())")
        for (token, p) in expected { #expect(abs((got[token] ?? -1) - p) < 1e-6, "token \(token)") }
    }

    @Test func filterSetsByHand() {
        expectClose(kept(.init()), [3: 0.5, 0: 0.2, 4: 0.15, 1: 0.1, 2: 0.05])
        expectClose(kept(.init(temperature: 0)), [3: 1])
        expectClose(kept(.init(topK: 2)), [3: 5.0 / 7, 0: 2.0 / 7])
        // 0.5 + 0.2 = 0.7 < 0.75 ≤ 0.85: three tokens
        expectClose(kept(.init(topP: 0.75)), [3: 0.5 / 0.85, 0: 0.2 / 0.85, 4: 0.15 / 0.85])
        // top-4 mass 0.95; p 0.8 of it is 0.76, reached at 0.85
        expectClose(kept(.init(topK: 4, topP: 0.8)), [3: 0.5 / 0.85, 0: 0.2 / 0.85, 4: 0.15 / 0.85])
        // threshold 0.35 · 0.5 = 0.175
        expectClose(kept(.init(minP: 0.35)), [3: 5.0 / 7, 0: 2.0 / 7])
        // temperature 2: probabilities ∝ √p
        let roots = Self.probabilities.map { $0.squareRoot() }, sum = roots.reduce(0, +)
        expectClose(kept(.init(temperature: 2)), Dictionary(uniqueKeysWithValues: roots.enumerated().map { (Int32($0.offset), $0.element / sum) }))
    }

    // The candidate-floor shortcut against a plain full sort over a 3000-token vocabulary.
    @Test func distributionEqualsFullSortReference() {
        var rng = SplitMix64(seed: 8)
        let logits = (0..<3000).map { _ in Float(rng.nextGaussian() * 4) }
        func reference(_ o: SamplingOptions) -> [(Int32, Double)] {
            let m = Double(logits.max()!)
            let p = logits.map { exp((Double($0) - m) / o.temperature) }
            let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
            var kept = Array(order.prefix(o.topK > 0 ? o.topK : order.count))
            let mass = kept.map { p[$0] }.reduce(0, +)
            var cumulative = 0.0
            if o.topP < 1, let cut = kept.firstIndex(where: { cumulative += p[$0]; return cumulative >= o.topP * mass }) {
                kept = Array(kept[...cut])
            }
            kept = kept.enumerated().filter { $0.offset == 0 || p[$0.element] >= o.minP * p[kept[0]] }.map(\.element)
            let keptMass = kept.map { p[$0] }.reduce(0, +)
            return kept.map { (Int32($0), p[$0] / keptMass) }
        }
        for o in [SamplingOptions(), SamplingOptions(topK: 40), SamplingOptions(topK: 2900), SamplingOptions(topP: 0.9),
                  SamplingOptions(temperature: 3, topP: 0.999), SamplingOptions(minP: 0.05), SamplingOptions(minP: 1e-9),
                  SamplingOptions(temperature: 0.5, topK: 50, topP: 0.8, minP: 0.1)] {
            let got = logits.withUnsafeBufferPointer { Sampler.distribution($0, options: o) }
            let want = reference(o)
            #expect(got.map(\.token) == want.map(\.0), "\(o)")
            #expect(zip(got, want).allSatisfy { abs($0.probability - $1.1) < 1e-9 }, "\(o)")
        }
    }

    // Empirical frequencies of 20 000 draws against the intended distribution: Pearson's χ² below
    // the 0.999 quantile for its degrees of freedom. The seed is fixed, so the outcome is too.
    @Test(arguments: [SamplingOptions(seed: 1), SamplingOptions(temperature: 0.7, seed: 2), SamplingOptions(topK: 3, seed: 3),
                      SamplingOptions(topP: 0.9, seed: 4), SamplingOptions(minP: 0.25, seed: 5)])
    func sampledFrequenciesMatchTheDistribution(options: SamplingOptions) {
        let expected = kept(options)
        var rng = SplitMix64(seed: options.seed)
        var counts: [Int32: Int] = [:]
        let draws = 20_000
        Self.logits.withUnsafeBufferPointer { logits in
            for _ in 0..<draws { counts[Sampler.sample(logits, options: options, rng: &rng), default: 0] += 1 }
        }
        #expect(Set(counts.keys).isSubset(of: Set(expected.keys)))
        let chi2 = expected.reduce(0.0) { sum, entry in
            let e = entry.value * Double(draws), o = Double(counts[entry.key] ?? 0)
            return sum + (o - e) * (o - e) / e
        }
        // 0.999 quantiles of χ² with 1…4 degrees of freedom
        let critical = [10.83, 13.82, 16.27, 18.47][expected.count - 2]
        #expect(chi2 < critical, "χ² \(chi2) with \(expected.count - 1) degrees of freedom")
    }
}
