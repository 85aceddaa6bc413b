import LatheTensor

/// One prompt's response.
public struct Generation: Sendable, Equatable {
    public enum Finish: Sendable, Equatable {
        /// A stop token was produced (it is the last of `tokens`).
        case stopToken(Int32)
        /// The decoded response came to contain this stop string.
        case stopString(String)
        /// `maxNewTokens` were produced.
        case length
    }

    public var tokens: [Int32]
    /// log p(token | everything before it) under the model (temperature 1, unfiltered), one per token.
    public var logProbabilities: [Double]
    public var finish: Finish
}

/// A continuation's likelihood given a context.
public struct ContinuationScore: Sendable, Equatable {
    /// log p of each continuation token given the context and the tokens before it.
    public var logProbabilities: [Double]
    /// Whether every token was the model's most likely one (lm-evaluation-harness's `is_greedy`).
    public var isGreedy: Bool
    public var logLikelihood: Double { logProbabilities.reduce(0, +) }
}

extension Generator {
    /// Responses to `prompts`, `slots` at a time: each group is prefilled in one packed step,
    /// then decoded one token per step for the sequences still running.
    ///
    /// `detokenize` turns a response's tokens into text; it is needed only for stop strings.
    public func generate(prompts: [[Int32]], options: SamplingOptions,
                         detokenize: (([Int32]) -> String)? = nil) throws(GenerationError) -> [Generation] {
        if let problem = options.problems.first { throw GenerationError(problem) }
        if !options.stopStrings.isEmpty && detokenize == nil {
            throw GenerationError("stop strings need a detokenizer to read the response as text")
        }
        for (j, prompt) in prompts.enumerated() {
            if prompt.isEmpty { throw GenerationError("prompt \(j) is empty; start it with a BOS token at least") }
            if prompt.count + options.maxNewTokens > capacity {
                throw GenerationError("prompt \(j) has \(prompt.count) tokens; with \(options.maxNewTokens) new tokens it "
                                      + "exceeds the context of \(capacity)")
            }
        }
        var results: [Generation] = []
        results.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let group = Array(prompts[start..<min(start + slots, prompts.count)])
            results += try generateGroup(group, firstIndex: start, options: options, detokenize: detokenize)
            start += group.count
        }
        return results
    }

    private func generateGroup(_ prompts: [[Int32]], firstIndex: Int, options: SamplingOptions,
                               detokenize: (([Int32]) -> String)?) throws(GenerationError) -> [Generation] {
        cache.clearAll()
        var out = prompts.map { _ in Generation(tokens: [], logProbabilities: [], finish: .length) }
        if options.maxNewTokens == 0 { return out }
        var rngs = prompts.indices.map { j in
            var mix = SplitMix64(seed: options.seed ^ (UInt64(firstIndex + j) &* 0xD1B5_4A32_D192_ED03))
            return SplitMix64(seed: mix.next())
        }
        let longestStop = options.stopStrings.map(\.count).max() ?? 0
        var running = Array(prompts.indices)
        var logits = try extend(running.map { (slot: $0, tokens: prompts[$0]) })
        while !running.isEmpty {
            var next: [Int] = []
            for (row, slot) in running.enumerated() {
                let token = logits[row].withUnsafeBufferPointer { row -> Int32 in
                    let token = Sampler.sample(row, options: options, rng: &rngs[slot])
                    out[slot].logProbabilities.append(Sampler.logProbability(row, of: token))
                    return token
                }
                out[slot].tokens.append(token)
                if options.stopTokens.contains(token) {
                    out[slot].finish = .stopToken(token)
                } else if let detokenize, longestStop > 0,
                          let hit = Self.stopString(in: detokenize(out[slot].tokens), options.stopStrings, longestStop) {
                    out[slot].finish = .stopString(hit)
                } else if out[slot].tokens.count < options.maxNewTokens {
                    next.append(slot)
                }
            }
            running = next
            if running.isEmpty { break }
            logits = try extend(running.map { (slot: $0, tokens: [out[$0].tokens.last!]) })
        }
        return out
    }

    // A stop string ending within the last few characters: earlier text was checked at earlier steps,
    // but a token may add several characters, so the window is generous.
    private static func stopString(in text: String, _ stops: [String], _ longest: Int) -> String? {
        let tail = String(text.suffix(longest + 32))
        return stops.first { !$0.isEmpty && tail.contains($0) }
    }

    /// The log-likelihood of each continuation after `context`. The context runs once; each
    /// continuation then starts from a copy of its cached keys and values.
    public func score(context: [Int32], continuations: [[Int32]]) throws(GenerationError) -> [ContinuationScore] {
        guard !context.isEmpty else { throw GenerationError("the context is empty; start it with a BOS token at least") }
        guard slots >= 2 || continuations.count <= 1 else {
            throw GenerationError("scoring several continuations needs a generator with at least 2 slots")
        }
        for (j, c) in continuations.enumerated() where c.isEmpty || context.count + c.count > capacity {
            throw GenerationError(c.isEmpty ? "continuation \(j) is empty"
                : "context (\(context.count)) + continuation \(j) (\(c.count)) exceed the context of \(capacity) tokens")
        }
        cache.clearAll()
        let last = try extend([(slot: 0, tokens: context)])[0]
        var scores: [ContinuationScore] = []
        let perGroup = max(1, slots - 1)
        var start = 0
        while start < continuations.count {
            let group = Array(continuations[start..<min(start + perGroup, continuations.count)])
            var requests: [(slot: Int, tokens: [Int32])] = []
            for (j, c) in group.enumerated() where c.count > 1 {
                let slot = slots == 1 ? 0 : j + 1
                if slot != 0 { cache.copy(slot: 0, to: slot) }
                requests.append((slot, Array(c.dropLast())))
            }
            let later = try extend(requests, logits: .all)
            var k = 0
            let vocab = config.vocabSize
            for c in group {
                var lp: [Double] = [], greedy = true
                func take(_ row: UnsafeBufferPointer<Float>, _ token: Int32) {
                    lp.append(Sampler.logProbability(row, of: token))
                    greedy = greedy && Sampler.argmax(row) == token
                }
                last.withUnsafeBufferPointer { take($0, c[0]) }
                if c.count > 1 {
                    later[k].withUnsafeBufferPointer { rows in
                        for t in 1..<c.count {
                            take(UnsafeBufferPointer(rebasing: rows[(t - 1) * vocab..<t * vocab]), c[t])
                        }
                    }
                    k += 1
                }
                scores.append(ContinuationScore(logProbabilities: lp, isGreedy: greedy))
            }
            start += group.count
        }
        return scores
    }
}
