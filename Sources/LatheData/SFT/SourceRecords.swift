import LatheIO

/// A record left out on purpose, with the reason it is counted under (`no_answers`,
/// `empty_turn`, ...). Thrown inside the conversions and turned into a counted drop by the
/// stage; a record of the wrong shape is a `RecordError` instead.
public struct Dropped: Error, Sendable, Equatable {
    public var reason: String
    public var detail: String?

    public init(_ reason: String, _ detail: String? = nil) {
        self.reason = reason
        self.detail = detail
    }
}

/// Reading fields of an input record, with errors that say `file:line: expected ..., found ...`.
struct Fields {
    let object: JSONObject
    let location: SourceLocation
    let kind: String

    init(_ record: JSONValue, _ location: SourceLocation, kind: String) throws(RecordError) {
        guard case .object(let object) = record else {
            throw RecordError(location, "expected a \(kind) record (a JSON object), found \(describe(record))")
        }
        self.object = object
        self.location = location
        self.kind = kind
    }

    func error(_ path: String, expected: String, found: JSONValue?) -> RecordError {
        RecordError(location, "expected \(expected) at '\(path)' in this \(kind) record, found \(found.map(describe) ?? "no such field")")
    }

    func string(_ path: String) throws(RecordError) -> String {
        let value = path.utf8.contains(UInt8(ascii: ".")) ? JSONValue.object(object).value(at: path) : object[path]
        guard let text = value?.string else { throw error(path, expected: "a string", found: value) }
        return text
    }

    /// The string at `key.member`, without reading a dotted path.
    func string(_ key: String, _ member: String) throws(RecordError) -> String {
        let value = object[key]?[member]
        guard let text = value?.string else { throw error("\(key).\(member)", expected: "a string", found: value) }
        return text
    }

    func optionalString(_ key: String) throws(RecordError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.string else { throw error(key, expected: "a string", found: value) }
        return text
    }

    func array(_ key: String) throws(RecordError) -> [JSONValue] {
        guard let items = object[key]?.array else { throw error(key, expected: "an array", found: object[key]) }
        return items
    }
}

/// The record's `id` as a string (integer ids, common in public data sets, are kept as their
/// digits), or nil when it has none.
func recordID(_ object: JSONObject) -> String? {
    switch object["id"] {
    case .string(let s)? where !s.isEmpty: s
    case .number(let n)?: n.text
    default: nil
    }
}

/// A Q&A thread as `lathe-ingest` writes it (schemas/thread.schema.json).
public struct QAThread: Sendable, Equatable {
    public struct Answer: Sendable, Equatable {
        public var body: String
        public var score: Int
        public var accepted: Bool

        public init(body: String, score: Int, accepted: Bool) {
            self.body = body
            self.score = score
            self.accepted = accepted
        }
    }

    public var id: String
    public var source: String
    /// The question as the user turn: its title, a blank line, its body.
    public var prompt: String
    public var answers: [Answer]

    public init(id: String, source: String, prompt: String, answers: [Answer]) {
        self.id = id
        self.source = source
        self.prompt = prompt
        self.answers = answers
    }

    /// The user turn of a question: its title, a blank line, its body (either alone when the
    /// other is empty).
    static func prompt(title: String, body: String) -> String {
        title.isEmpty ? body : body.isEmpty ? title : title + "\n\n" + body
    }

    public static func isThread(_ object: JSONObject) -> Bool {
        object["question"] != nil && object["answers"] != nil
    }

    public init(_ record: JSONValue, at location: SourceLocation) throws(RecordError) {
        let fields = try Fields(record, location, kind: "thread")
        guard let id = recordID(fields.object) else { throw fields.error("id", expected: "a non-empty string", found: fields.object["id"]) }
        self.id = id
        source = try fields.optionalString("source") ?? "thread"
        let title = try fields.string("question", "title")
        let body = try fields.string("question", "body")
        prompt = Self.prompt(title: title, body: body)
        var answers: [Answer] = []
        for (i, item) in try fields.array("answers").enumerated() {
            guard case .object(let answer) = item else { throw fields.error("answers.\(i)", expected: "an answer object", found: item) }
            guard let body = answer["body"]?.string else { throw fields.error("answers.\(i).body", expected: "a string", found: answer["body"]) }
            guard let score = answer["score"]?.int else { throw fields.error("answers.\(i).score", expected: "an integer", found: answer["score"]) }
            let accepted = answer["accepted"]?.bool ?? false
            answers.append(Answer(body: body, score: score, accepted: accepted))
        }
        self.answers = answers
    }
}
