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

/// A response's text in the form it is written in: a JSON string, quotes included, escaped as
/// `JSONWriter.writeString` escapes (`"`, `\` and control characters only, so a string read
/// without escapes is already in this form). The form is a one-to-one function of the text:
/// responses are compared by it, and copied into every pair they are in, without decoding or
/// escaping again.
public struct ResponseText: Sendable, Equatable {
    public let json: [UInt8]

    public init(_ text: String) {
        var json: [UInt8] = []
        json.reserveCapacity(text.utf8.count + 2)
        JSONWriter.writeString(text, into: &json)
        self.json = json
    }

    /// JSON string text already in this form (the caller vouches for it).
    init(json: [UInt8]) { self.json = json }

    /// The text's Unicode scalars, counted in its written form: each escape `writeString`
    /// makes (`\n`, `\"`, `\u001f`, ...) stands for one scalar.
    public var scalarCount: Int {
        var count = 0, i = 1
        let end = json.count - 1
        while i < end {
            let b = json[i]
            if b == UInt8(ascii: "\\") {
                i += json[i + 1] == UInt8(ascii: "u") ? 6 : 2
                count += 1
                continue
            }
            if b & 0xC0 != 0x80 { count += 1 }
            i += 1
        }
        return count
    }
}

extension ResponseText: ThreadText {
    /// The text itself (for split keys).
    public var string: String { (try? JSONParser.parse(json))?.string ?? "" }

    /// The JSON string at `pos` in the written form, read by `ThreadLine`: copied as it lies
    /// when it has no escapes, else decoded and escaped again (`\u00e9` is written é, `\/` /).
    init?(scanning scan: JSONScanner, _ pos: inout Int) {
        let start = pos
        guard pos < scan.end, scan.base[pos] == UInt8(ascii: "\""), let contents = scan.scanString(&pos) else { return nil }
        guard contents.contains(.escapes) else {
            self.init(json: Array(UnsafeBufferPointer(start: scan.base + start, count: pos - start)))
            return
        }
        pos = start
        guard let text = scan.string(&pos) else { return nil }
        self.init(text)
    }

    /// Escaping works scalar by scalar, so the written form of title + "\n\n" + body is
    /// theirs joined inside one pair of quotes.
    static func prompt(title: ResponseText, body: ResponseText) -> ResponseText {
        if title.json.count == 2 { return body }
        if body.json.count == 2 { return title }
        var json: [UInt8] = []
        json.reserveCapacity(title.json.count + body.json.count + 2)
        json.append(contentsOf: title.json.dropLast())
        json.append(contentsOf: #"\n\n"#.utf8)
        json.append(contentsOf: body.json.dropFirst())
        return ResponseText(json: json)
    }
}

/// A response with its score; `index` is its position in the record, used in pair ids.
public struct ScoredResponse: Sendable, Equatable {
    public var index: Int
    public var text: ResponseText
    public var score: Double

    public init(index: Int, text: ResponseText, score: Double) {
        self.index = index
        self.text = text
        self.score = score
    }

    public init(index: Int, content: String, score: Double) {
        self.init(index: index, text: ResponseText(content), score: score)
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
        // scalars, as JSON compares strings (through their written form, which is one-to-one),
        // not as Strings, which would normalise every non-ASCII text.
        var distinct: [ScoredResponse] = []
        distinct.reserveCapacity(responses.count)
        for response in responses where !distinct.contains(where: { $0.text == response.text }) {
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
        if minMargin > 0 {  // every candidate's margin is positive
            candidates = candidates.filter { $0.margin >= minMargin }
            guard !candidates.isEmpty else { throw Dropped("below_min_margin") }
        }
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

    static func lengthRatio(_ pair: ResponsePair) -> Double {
        let a = Double(max(1, pair.chosen.text.scalarCount))
        let b = Double(max(1, pair.rejected.text.scalarCount))
        return max(a, b) / min(a, b)
    }
}
