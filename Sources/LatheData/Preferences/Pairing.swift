import LatheIO

/// Which ordered pairs to make from a prompt's scored responses.
public enum PairStrategy: String, CaseIterable, Sendable {
    /// The best response against the worst (one pair per prompt).
    case bestVsWorst = "best-vs-worst"
    /// The best response against each lower-scored one.
    case bestVsRest = "best-vs-rest"
    /// Every pair whose scores differ, the higher chosen.
    case allPairs = "all-pairs"
    /// One pair drawn at random (by --seed and the record's id) from the pairs all-pairs makes.
    case randomPair = "random-pair"
}

/// A response with its score; `index` is its position in the record, used in pair ids.
public struct ScoredResponse: Sendable, Equatable {
    public var index: Int
    public var content: String
    public var score: Double

    public init(index: Int, content: String, score: Double) {
        self.index = index
        self.content = content
        self.score = score
    }
}

public struct ResponsePair: Sendable, Equatable {
    public var chosen: ScoredResponse
    public var rejected: ScoredResponse
    public var margin: Double { chosen.score - rejected.score }
}

public struct PairingSettings: Sendable {
    public var strategy = PairStrategy.bestVsWorst
    /// Pairs need the chosen score to exceed the rejected one by at least this much (and always by more than 0).
    public var minMargin = 0.0
    /// Keep at most this many pairs per prompt, the largest margins first.
    public var maxPairsPerPrompt: Int?
    /// Pairs whose longer response is more than this many times the shorter's length (in
    /// characters) are not made: reward models learn "longer is better" from them.
    public var maxLengthRatio: Double?
    public var seed: UInt64 = 0

    public init() {}

    /// The pairs for one prompt, in a fixed order; throws `Dropped` naming why there are none.
    /// Ties in score are broken by position: the first listed of equally best responses is
    /// "best", the last listed of equally worst ones is "worst".
    public func pairs(_ responses: [ScoredResponse], key: String) throws(Dropped) -> [ResponsePair] {
        // Identical texts are one response (the first listed keeps its score); a pair of
        // identical texts would teach nothing but position. Texts are compared by their
        // scalars, as JSON compares strings: hashing a String would normalise every non-ASCII
        // text, and a prompt has few responses, most of different lengths.
        var distinct: [ScoredResponse] = []
        for response in responses where !distinct.contains(where: { Self.sameText($0.content, response.content) }) {
            distinct.append(response)
        }
        guard distinct.count >= 2 else {
            throw Dropped(responses.count >= 2 ? "identical_responses" : "too_few_responses")
        }
        guard let best = distinct.max(by: { $0.score < $1.score || ($0.score == $1.score && $0.index > $1.index) }),
              let worst = distinct.min(by: { $0.score < $1.score || ($0.score == $1.score && $0.index > $1.index) }),
              best.score > worst.score else { throw Dropped("equal_scores") }

        var candidates: [ResponsePair]
        switch strategy {
        case .bestVsWorst:
            candidates = [ResponsePair(chosen: best, rejected: worst)]
        case .bestVsRest:
            candidates = distinct.filter { $0.score < best.score }.map { ResponsePair(chosen: best, rejected: $0) }
        case .allPairs, .randomPair:
            candidates = []
            for a in distinct {
                for b in distinct where a.score > b.score { candidates.append(ResponsePair(chosen: a, rejected: b)) }
            }
        }
        candidates = candidates.filter { $0.margin >= minMargin }
        guard !candidates.isEmpty else { throw Dropped("below_min_margin") }
        if let maxLengthRatio {
            candidates = candidates.filter { Self.lengthRatio($0) <= maxLengthRatio }
            guard !candidates.isEmpty else { throw Dropped("length_ratio") }
        }
        if strategy == .randomPair {
            let draw = StableID.hash64(key, seed: seed)
            return [candidates[Int(draw % UInt64(candidates.count))]]
        }
        if let limit = maxPairsPerPrompt, candidates.count > limit {
            let kept = candidates.indices.sorted { candidates[$0].margin != candidates[$1].margin ? candidates[$0].margin > candidates[$1].margin : $0 < $1 }
                .prefix(limit).sorted()
            candidates = kept.map { candidates[$0] }
        }
        return candidates
    }

    static func sameText(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
    }

    static func lengthRatio(_ pair: ResponsePair) -> Double {
        let a = Double(max(1, pair.chosen.content.scalarCount))
        let b = Double(max(1, pair.rejected.content.scalarCount))
        return max(a, b) / min(a, b)
    }
}
