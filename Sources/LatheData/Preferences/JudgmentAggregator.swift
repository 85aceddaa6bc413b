import LatheIO

/// Collects A/B judgments and settles each (prompt, pair of responses) by majority: several
/// raters' votes on the same pair, in either order of A and B, make one preference pair.
/// Keeps the judgments in memory until the end, in the order their pairs were first seen.
public final class JudgmentAggregator {
    /// What a group of judgments came to: a pair, or a drop reason for all of its records.
    public enum Verdict {
        case pair(PreferenceRecord)
        case drop(reason: String, detail: String)
    }

    struct Key: Hashable {
        var prompt: String
        var first: String
        var second: String
    }

    struct Group {
        var first: Judgment
        var votes: [String: Int] = [:]
        var ties = 0
        var records: [JSONValue] = []
    }

    private var index: [Key: Int] = [:]
    private var groups: [Group] = []
    let builder: PreferenceBuilder

    public init(builder: PreferenceBuilder) {
        self.builder = builder
    }

    public func add(_ judgment: Judgment, record: JSONValue) {
        let a = judgment.responseA, b = judgment.responseB
        let key = Key(prompt: judgment.prompt, first: min(a, b), second: max(a, b))
        let g: Int
        if let existing = index[key] {
            g = existing
        } else {
            g = groups.count
            index[key] = g
            groups.append(Group(first: judgment))
        }
        switch judgment.winner {
        case "a": groups[g].votes[a, default: 0] += 1
        case "b": groups[g].votes[b, default: 0] += 1
        default: groups[g].ties += 1
        }
        groups[g].records.append(record)
    }

    /// Each group's verdict with the records it came from, in first-seen order.
    public func verdicts() -> [(verdict: Verdict, records: [JSONValue])] {
        groups.map { group in (verdict(group), group.records) }
    }

    func verdict(_ group: Group) -> Verdict {
        let j = group.first
        if j.responseA == j.responseB { return .drop(reason: "identical_responses", detail: "response_a equals response_b") }
        let votesA = group.votes[j.responseA] ?? 0, votesB = group.votes[j.responseB] ?? 0
        if votesA == votesB {
            if votesA == 0 { return .drop(reason: "tie", detail: "\(group.ties) tie judgments") }
            return .drop(reason: "contradictory_judgments", detail: "\(votesA) for each response, \(group.ties) ties")
        }
        let aWins = votesA > votesB
        let chosen = aWins ? j.responseA : j.responseB, rejected = aWins ? j.responseB : j.responseA
        let pair = ResponsePair(chosen: ScoredResponse(index: 0, content: chosen, score: Double(max(votesA, votesB))),
                                rejected: ScoredResponse(index: 1, content: rejected, score: Double(min(votesA, votesB))))
        if let ratio = builder.pairing.maxLengthRatio, PairingSettings.lengthRatio(pair) > ratio {
            return .drop(reason: "length_ratio", detail: "the longer response is more than \(ratio) times the shorter")
        }
        let prompt = ResponseText(j.prompt)
        let line = builder.line(id: j.id, source: ResponseText(j.source), prompt: prompt, pair,
                                scores: (PreferenceBuilder.number(pair.chosen.score), PreferenceBuilder.number(pair.rejected.score)))
        return .pair(PreferenceRecord(line: line, prompt: prompt))
    }
}
