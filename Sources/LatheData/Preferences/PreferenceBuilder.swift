import Foundation
import LatheIO

/// The input kinds `lathe-pair-prefs` reads; `auto` recognises each record by its fields.
public enum PreferenceInput: String, CaseIterable, Sendable {
    case auto, thread, candidates, judgment

    static func detect(_ object: JSONObject) -> PreferenceInput? {
        if QAThread.isThread(object) { return .thread }
        if object["responses"] != nil { return .candidates }
        if object["response_a"] != nil || object["winner"] != nil { return .judgment }
        return nil
    }
}

/// The form preference records are written in (TRL's two forms).
public enum PreferenceStyle: String, CaseIterable, Sendable {
    /// prompt, chosen and rejected as message lists.
    case conversational
    /// prompt, chosen and rejected as text.
    case standard
}

/// A preference pair ready to write, with the prompt that splits are decided by.
public struct PreferenceRecord: Sendable {
    /// The record as a JSON line (without its newline), serialised where it was made.
    public var line: [UInt8]
    var prompt: ResponseText
    /// The prompt's text, decoded only when splits want it.
    public var splitKey: String { prompt.string }
}

/// What one input record makes: pairs written now, or a judgment to aggregate with others.
public enum PreferenceItem: Sendable {
    case pairs([PreferenceRecord])
    case judgment(Judgment)
}

/// One A/B judgment (schemas/judgment.schema.json).
public struct Judgment: Sendable, Equatable {
    public var id: String
    public var source: String
    public var prompt: String
    public var responseA: String
    public var responseB: String
    /// "a", "b" or "tie".
    public var winner: String
}

/// Scores answers, pairs responses and writes preference records: the per-record part of
/// `lathe-pair-prefs`, safe to run on several threads at once.
public struct PreferenceBuilder: Sendable {
    public var input = PreferenceInput.auto
    public var pairing = PairingSettings()
    public var style = PreferenceStyle.conversational
    /// Added to the score of an accepted answer (StackExchange preference recipe).
    public var acceptedBonus = 1.0
    /// Dotted paths into each response whose numbers are averaged into its score (UltraFeedback
    /// ratings); empty reads `score`.
    public var aspects: [String] = []

    public init() {}

    /// A thread answer's score: log2(1 + max(0, votes)), plus `acceptedBonus` when accepted.
    public func threadScore(_ answer: QAThread.Answer) -> Double {
        threadScore(votes: answer.score, accepted: answer.accepted)
    }

    func threadScore(votes: Int, accepted: Bool) -> Double {
        log2(1 + Double(max(0, votes))) + (accepted ? acceptedBonus : 0)
    }

    /// Throws `RecordError` for a record of the wrong shape and `Dropped` for one that makes no pair.
    public func build(_ record: JSONValue, at location: SourceLocation) throws -> PreferenceItem {
        var kind = input
        if kind == .auto {
            guard case .object(let object) = record, let detected = PreferenceInput.detect(object) else {
                throw RecordError(location, "expected a thread {question, answers}, candidates {prompt, responses} or judgment {prompt, response_a, response_b, winner} record, found \(describe(record)); force the kind with --from")
            }
            kind = detected
        }
        switch kind {
        case .auto: fatalError("resolved above")
        case .thread:
            let thread = try QAThread(record, at: location)
            return try pairs(ThreadLine(id: thread.id, source: thread.source, prompt: ResponseText(thread.prompt),
                                        answers: thread.answers.map { .init(body: ResponseText($0.body), votes: $0.score, accepted: $0.accepted) }))
        case .candidates:
            let fields = try Fields(record, location, kind: "candidates")
            guard let id = recordID(fields.object) else { throw fields.error("id", expected: "a non-empty string", found: fields.object["id"]) }
            let prompt = try fields.string("prompt")
            var scored: [ScoredResponse] = []
            for (i, item) in try fields.array("responses").enumerated() {
                guard case .object = item else { throw fields.error("responses.\(i)", expected: "a response object", found: item) }
                guard let content = item["content"]?.string else { throw fields.error("responses.\(i).content", expected: "a string", found: item["content"]) }
                guard let score = try score(item, fields, i) else { throw Dropped("unscored_response", "response \(i) has no score") }
                scored.append(ScoredResponse(index: i, content: content, score: score))
            }
            if scored.count < 2 { throw Dropped("too_few_responses") }
            return .pairs(try records(id: id, source: try fields.optionalString("source") ?? "candidates", prompt: ResponseText(prompt), scored))
        case .judgment:
            let fields = try Fields(record, location, kind: "judgment")
            guard let id = recordID(fields.object) else { throw fields.error("id", expected: "a non-empty string", found: fields.object["id"]) }
            let winner = try fields.string("winner")
            guard ["a", "b", "tie"].contains(winner) else { throw fields.error("winner", expected: "\"a\", \"b\" or \"tie\"", found: fields.object["winner"]) }
            return .judgment(Judgment(id: id, source: try fields.optionalString("source") ?? "judgment", prompt: try fields.string("prompt"),
                                      responseA: try fields.string("response_a"), responseB: try fields.string("response_b"), winner: winner))
        }
    }

    /// `build`'s fast path for thread records, read from the line's bytes (`ThreadLine`, texts
    /// kept in their written form): what `build` makes of the parsed line, or nil to leave the
    /// line to the parser and `build`.
    public func build(line: UnsafeRawBufferPointer, at location: SourceLocation) -> Result<PreferenceItem, Dropped>? {
        guard input == .auto || input == .thread, let thread = ThreadLine<ResponseText>(line: line) else { return nil }
        return Result { () throws(Dropped) in try pairs(thread) }
    }

    /// A thread's answers, scored, as pairs: every step after reading, shared by both paths.
    func pairs(_ thread: ThreadLine<ResponseText>) throws(Dropped) -> PreferenceItem {
        if thread.answers.isEmpty { throw Dropped("no_answers") }
        let scored = thread.answers.enumerated().map { i, answer in
            ScoredResponse(index: i, text: answer.body, score: threadScore(votes: answer.votes, accepted: answer.accepted))
        }
        return .pairs(try records(id: thread.id, source: thread.source, prompt: thread.prompt, scored))
    }

    /// A response's score: the mean of its `aspects` (numbers, or numbers written as text as
    /// UltraFeedback does; "N/A" and missing aspects are left out), else its `score`.
    func score(_ response: JSONValue, _ fields: Fields, _ i: Int) throws -> Double? {
        guard !aspects.isEmpty else {
            guard let value = response["score"], value != .null else { return nil }
            guard let number = value.double else { throw fields.error("responses.\(i).score", expected: "a number", found: value) }
            return number
        }
        var total = 0.0, count = 0
        for path in aspects {
            switch response.value(at: path) {
            case .number(let n)?: total += n.double; count += 1
            case .string(let s)?:
                if let number = Double(s.trimmingSpaces) { total += number; count += 1 }
            default: continue
            }
        }
        return count > 0 ? total / Double(count) : nil
    }

    /// The pairs of one prompt's responses as records. Texts, source and scores are written
    /// once, however many pairs they are copied into (all-pairs writes each response 4 times).
    func records(id: String, source: String, prompt: ResponseText, _ scored: [ScoredResponse]) throws(Dropped) -> [PreferenceRecord] {
        let pairs = try pairing.pairs(scored, key: id)
        let source = ResponseText(source)
        var scores = [JSONValue?](repeating: nil, count: scored.count)
        func score(_ response: ScoredResponse) -> JSONValue {
            if let known = scores[response.index] { return known }
            let value = Self.number(response.score)
            scores[response.index] = value
            return value
        }
        return pairs.map { pair in
            PreferenceRecord(line: line(id: "\(id):\(pair.chosen.index)>\(pair.rejected.index)", source: source, prompt: prompt, pair,
                                        scores: (score(pair.chosen), score(pair.rejected))),
                             prompt: prompt)
        }
    }

    /// A score as JSON (null for a score that is not finite).
    static func number(_ score: Double) -> JSONValue { JSONNumber(score).map(JSONValue.number) ?? .null }

    /// One preference record; key order is fixed so output bytes are.
    func line(id: String, source: ResponseText, prompt: ResponseText, _ pair: ResponsePair, scores: (JSONValue, JSONValue)) -> [UInt8] {
        // 300: the keys, the message lists around three texts, two scores.
        var object = JSONObjectWriter(capacity: prompt.json.count + pair.chosen.text.json.count + pair.rejected.text.json.count
                                      + id.utf8.count + source.json.count + 300)
        object.string("id", id)
        object.field("prompt") { write(prompt, role: "user", into: &$0) }
        object.field("chosen") { write(pair.chosen.text, role: "assistant", into: &$0) }
        object.field("rejected") { write(pair.rejected.text, role: "assistant", into: &$0) }
        object.value("score_chosen", scores.0)
        object.value("score_rejected", scores.1)
        object.serialised("source", source.json)
        return object.finish()
    }

    /// `text` as a prompt or response is written in the configured style: a list of one
    /// message with `role` (conversational), or the text itself (standard).
    func write(_ text: ResponseText, role: StaticString, into out: inout [UInt8]) {
        func append(_ literal: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        }
        guard style == .conversational else {
            out.append(contentsOf: text.json)
            return
        }
        append(#"[{"role":""#)
        append(role)
        append(#"","content":"#)
        out.append(contentsOf: text.json)
        append("}]")
    }
}
