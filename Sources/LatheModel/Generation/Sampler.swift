#if canImport(Glibc)
import Glibc
#endif
import LatheTensor

/// How the next token is chosen, with the meanings (and the order of filters) of Hugging Face
/// `generate`: logits are divided by the temperature, then top-k, top-p and min-p narrow the
/// candidates in that order, and the token is drawn from the renormalised rest.
public struct SamplingOptions: Sendable, Equatable {
    /// 0 picks the most likely token (greedy; ties go to the lowest id).
    public var temperature: Double = 1
    /// Keep only the k most likely tokens; 0 keeps all.
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.
    public var topP: Double = 1
    /// Keep tokens at least min-p times as likely as the most likely one; 0 keeps all.
    public var minP: Double = 0
    public var maxNewTokens: Int = 256
    /// Each prompt draws from its own stream derived from this seed and its index, so a
    /// prompt's tokens do not depend on what else is in the batch.
    public var seed: UInt64 = 0
    /// Generation ends after any of these ids (end-of-turn, end-of-text); the id is kept.
    public var stopTokens: Set<Int32> = []
    /// Generation ends once the decoded response contains any of these strings.
    public var stopStrings: [String] = []

    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, minP: Double = 0, maxNewTokens: Int = 256,
                seed: UInt64 = 0, stopTokens: Set<Int32> = [], stopStrings: [String] = []) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.maxNewTokens = maxNewTokens
        self.seed = seed
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
    }

    public static let greedy = SamplingOptions(temperature: 0)

    /// Reasons these options cannot be used, empty when they can.
    public var problems: [String] {
        var problems: [String] = []
        if !(temperature >= 0) { problems.append("temperature is \(temperature); it must be 0 (greedy) or more") }
        if topK < 0 { problems.append("top-k is \(topK); it must be 0 (off) or more") }
        if !(topP > 0 && topP <= 1) { problems.append("top-p is \(topP); it must be in (0, 1]") }
        if !(minP >= 0 && minP <= 1) { problems.append("min-p is \(minP); it must be in [0, 1]") }
        if maxNewTokens < 0 { problems.append("max-new-tokens is \(maxNewTokens); it must be 0 or more") }
        return problems
    }
}

/// Turning one row of logits into a token.
public enum Sampler {
    /// The most likely token; ties go to the lowest id.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for j in 1..<logits.count where logits[j] > logits[best] { best = j }
        return Int32(best)
    }

    /// log softmax(logits)[token], in Double: the model's own log-probability (temperature 1,
    /// no filtering), the quantity PPO ratios, KL penalties and likelihood scores use.
    public static func logProbability(_ logits: UnsafeBufferPointer<Float>, of token: Int32) -> Double {
        Double(logits[Int(token)]) - logSumExp(logits)
    }

    public static func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double {
        var m = -Float.infinity
        for x in logits { m = max(m, x) }
        var sum = 0.0
        for x in logits { sum += Double(expf(x - m)) }
        return Double(m) + log(sum)
    }

    /// The distribution sampling draws from: the kept tokens and their renormalised
    /// probabilities, most likely first (equal probabilities by id). Greedy is one token of 1.
    public static func distribution(_ logits: UnsafeBufferPointer<Float>, options: SamplingOptions)
        -> [(token: Int32, probability: Double)] {
        if options.temperature == 0 { return [(argmax(logits), 1)] }
        let t = options.temperature
        var m = -Float.infinity
        for x in logits { m = max(m, x) }
        var probs = [Double](repeating: 0, count: logits.count)
        for j in 0..<logits.count { probs[j] = exp((Double(logits[j]) - Double(m)) / t) }
        var total = 0.0
        for p in probs { total += p }
        // Sorting the whole vocabulary for every token is the slow part, so only tokens at least
        // `floor` times as likely as the most likely one (whose weight is 1) are sorted. Every token
        // left out is less likely than every token sorted, so when the filters cut inside the
        // sorted ones the result is a full sort's; otherwise the floor is lowered, down to 0.
        var floor = 1e-4
        while true {
            let complete = floor == 0
            var order = complete ? Array(0..<logits.count) : (0..<logits.count).filter { probs[$0] >= floor }
            order.sort { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
            var kept = options.topK > 0 ? min(options.topK, order.count) : order.count
            if options.topP < 1 {
                var mass = total
                if options.topK > 0 {
                    mass = 0
                    for j in 0..<kept { mass += probs[order[j]] }
                }
                // the shortest prefix whose share of the (top-k) mass reaches p
                var cumulative = 0.0
                for j in 0..<kept {
                    cumulative += probs[order[j]]
                    if cumulative >= options.topP * mass { kept = j + 1; break }
                }
            }
            if options.minP > 0 {
                let threshold = options.minP * probs[order[0]]
                while kept > 1 && probs[order[kept - 1]] < threshold { kept -= 1 }
            }
            if complete || kept < order.count {
                var keptMass = 0.0
                for j in 0..<kept { keptMass += probs[order[j]] }
                return (0..<kept).map { (Int32(order[$0]), probs[order[$0]] / keptMass) }
            }
            floor = floor > 1e-16 ? floor * 1e-4 : 0
        }
    }

    /// One token drawn from `distribution(logits, options)` with `rng`.
    public static func sample(_ logits: UnsafeBufferPointer<Float>, options: SamplingOptions,
                              rng: inout SplitMix64) -> Int32 {
        if options.temperature == 0 { return argmax(logits) }
        if options.topK == 0 && options.topP >= 1 && options.minP == 0 {
            // Nothing filtered: walk the vocabulary in id order, no sort.
            let t = options.temperature
            var m = -Float.infinity
            for x in logits { m = max(m, x) }
            var total = 0.0
            for x in logits { total += exp((Double(x) - Double(m)) / t) }
            let u = rng.nextOpenUnitDouble() * total
            var cumulative = 0.0
            for j in 0..<logits.count {
                cumulative += exp((Double(logits[j]) - Double(m)) / t)
                if u < cumulative { return Int32(j) }
            }
            return Int32(logits.count - 1)
        }
        let kept = distribution(logits, options: options)
        let u = rng.nextOpenUnitDouble()
        var cumulative = 0.0
        for (token, p) in kept {
            cumulative += p
            if u < cumulative { return token }
        }
        return kept[kept.count - 1].token
    }
}
