import Foundation
import LatheData
import LatheIO
import Testing

struct RecordCase: CustomTestStringConvertible, Sendable {
    let kind: RecordKind
    let record: String
    /// nil for a record the schema must accept; otherwise the first violation's path and a
    /// fragment of its message.
    let path: String?
    let fragment: String?

    static func good(_ kind: RecordKind, _ record: String) -> RecordCase {
        RecordCase(kind: kind, record: record, path: nil, fragment: nil)
    }
    static func bad(_ kind: RecordKind, _ record: String, at path: String, _ fragment: String) -> RecordCase {
        RecordCase(kind: kind, record: record, path: path, fragment: fragment)
    }

    var testDescription: String { "\(kind.rawValue) \(path == nil ? "accepts" : "rejects") \(record)" }
}

let recordCases: [RecordCase] = [
    .good(.document, #"{"id":"d1","text":"Hello.","source":"web"}"#),
    .good(.document, #"{"id":"d2","text":"","source":"web","url":"https://a.example/","title":"T","lang":"en","meta":{"k":1},"added":"2024"}"#),
    .bad(.document, #"{"id":"d1","source":"web"}"#, at: "$", #"missing required property "text""#),
    .bad(.document, #"{"id":17,"text":"x","source":"web"}"#, at: "$.id", "expected string, found integer 17"),
    .bad(.document, #"{"id":"","text":"x","source":"web"}"#, at: "$.id", "found an empty string"),
    .bad(.document, #"{"id":"d1","text":"x","source":"web","meta":"none"}"#, at: "$.meta", "expected object"),
    .bad(.document, #"["d1","x"]"#, at: "$", "expected object, found an array of 2 items"),

    .good(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":0},"answers":[]}"#),
    .good(.thread, #"{"id":"t2","source":"se","question":{"title":"Q","body":"B","score":-2,"tags":["a"]},"answers":[{"body":"A","score":3,"accepted":true}]}"#),
    .bad(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":1.5},"answers":[]}"#, at: "$.question.score", "expected integer, found number 1.5"),
    .bad(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":1,"tags":"a,b"},"answers":[]}"#, at: "$.question.tags", "expected array"),
    .bad(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":1,"tags":["a",2]},"answers":[]}"#, at: "$.question.tags[1]", "expected string"),
    .bad(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":1},"answers":[{"body":"A","score":1,"accepted":true},{"body":"A","score":1}]}"#, at: "$.answers[1]", #"missing required property "accepted""#),
    .bad(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":1},"answers":[{"body":"A","score":1,"accepted":"yes"}]}"#, at: "$.answers[0].accepted", "expected boolean"),
    .bad(.thread, #"{"id":"t1","source":"se","question":{"title":"Q","body":"B","score":1}}"#, at: "$", #"missing required property "answers""#),

    .good(.conversation, #"{"id":"c1","messages":[{"role":"user","content":"Hi"}]}"#),
    .good(.conversation, #"{"prompt":"2+2=","completion":"4"}"#),
    .good(.conversation, #"{"prompt":[{"role":"user","content":"Hi"}],"completion":[{"role":"assistant","content":"Hello"}]}"#),
    .bad(.conversation, #"{"id":"c1","messages":[]}"#, at: "$.messages", "expected at least 1 item, found an empty array"),
    .bad(.conversation, #"{"id":"c1","messages":[{"role":"user","content":"Hi"},{"role":"bot","content":"Hello"}]}"#, at: "$.messages[1].role", #"expected one of "system", "user", "assistant"; found string "bot" (in "messages form""#),
    .bad(.conversation, #"{"id":"c1","messages":[{"role":"tool","content":"{}"}]}"#, at: "$.messages[0].role", #"found string "tool""#),
    .bad(.conversation, #"{"id":"c1","messages":[{"role":"user","text":"Hi"}]}"#, at: "$.messages[0]", #"missing required property "content""#),
    .bad(.conversation, #"{"id":"c1","messages":[{"role":"user","content":["Hi"]}]}"#, at: "$.messages[0].content", "expected string, found an array of 1 item"),
    .bad(.conversation, #"{"messages":[{"role":"user","content":"Hi"}]}"#, at: "$", #"missing required property "id" (in "messages form""#),
    .bad(.conversation, #"{"prompt":"2+2="}"#, at: "$", #"missing required property "completion" (in "prompt-completion form""#),
    .bad(.conversation, #"{"prompt":"2+2=","completion":4}"#, at: "$.completion", "expected string, found integer 4"),
    .bad(.conversation, #"{"id":"c1","messages":[{"role":"user","content":"Hi"}],"prompt":"x","completion":"y"}"#, at: "$.messages", #"property "messages" is not allowed here (in "prompt-completion form""#),
    .bad(.conversation, #"{"id":"c1"}"#, at: "$", #"missing required property "messages""#),
    .bad(.conversation, #""hello""#, at: "$", "expected object, found string"),

    .good(.candidates, #"{"id":"k1","prompt":"P","responses":[{"content":"a","score":0.5},{"content":"b"}]}"#),
    .bad(.candidates, #"{"id":"k1","prompt":"P","responses":[]}"#, at: "$.responses", "expected at least 1 item"),
    .bad(.candidates, #"{"id":"k1","prompt":"P","responses":["a","b"]}"#, at: "$.responses[0]", "expected object, found string \"a\""),
    .bad(.candidates, #"{"id":"k1","prompt":"P","responses":[{"content":"a","score":"high"}]}"#, at: "$.responses[0].score", "expected number"),

    .good(.judgment, #"{"id":"j1","prompt":"P","response_a":"x","response_b":"y","winner":"tie"}"#),
    .bad(.judgment, #"{"id":"j1","prompt":"P","response_a":"x","response_b":"y","winner":"A"}"#, at: "$.winner", #"expected one of "a", "b", "tie"; found string "A""#),
    .bad(.judgment, #"{"id":"j1","prompt":"P","response_a":"x","response_b":"y","winner":null}"#, at: "$.winner", "found null"),
    .bad(.judgment, #"{"id":"j1","prompt":"P","response_a":"x","winner":"a"}"#, at: "$", #"missing required property "response_b""#),

    .good(.preference, #"{"id":"p1","prompt":"P","chosen":"a","rejected":"b"}"#),
    .good(.preference, #"{"id":"p2","prompt":"P","chosen":"a","rejected":"b","score_chosen":7,"score_rejected":2.5}"#),
    .good(.preference, #"{"id":"p3","prompt":[{"role":"user","content":"P"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}"#),
    .bad(.preference, #"{"id":"p1","prompt":"P","chosen":"a"}"#, at: "$", #"missing required property "rejected" (in "standard form""#),
    .bad(.preference, #"{"id":"p1","prompt":[{"role":"user","content":"P"}],"chosen":"a","rejected":"b"}"#, at: "$.prompt", "expected string, found an array of 1 item (in \"standard form\""),
    .bad(.preference, #"{"id":"p1","prompt":[{"role":"user","content":"P"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"model","content":"b"}]}"#, at: "$.rejected[0].role", #"found string "model" (in "conversational form""#),
    .bad(.preference, #"{"id":"p1","prompt":[],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}"#, at: "$.prompt", "expected at least 1 item"),
    .bad(.preference, #"{"id":"p1","prompt":"P","chosen":"a","rejected":"b","score_chosen":"7"}"#, at: "$.score_chosen", "expected number"),
    .bad(.preference, #"{"prompt":"P","chosen":"a","rejected":"b"}"#, at: "$", #"missing required property "id""#),

    .good(.evalResult, #"{"checkpoint":"ck","task":"t","metric":"acc","value":0.5,"n":10}"#),
    .good(.evalResult, #"{"checkpoint":"ck","step":100,"task":"t","metric":"acc","value":1,"stderr":0.01,"n":10}"#),
    .bad(.evalResult, #"{"checkpoint":"ck","task":"t","metric":"acc","value":0.5,"n":10,"stdev":0.1}"#, at: "$.stdev", #"unexpected property "stdev""#),
    .bad(.evalResult, #"{"checkpoint":"ck","task":"t","metric":"acc","value":0.5,"n":10.5}"#, at: "$.n", "expected integer"),
    .bad(.evalResult, #"{"checkpoint":"ck","task":"t","metric":"acc","value":"0.5","n":10}"#, at: "$.value", "expected number"),

    .good(.trainLog, #"{"step":1,"tokens":512,"loss":2.5,"lr":0.001,"grad_norm":1.2,"tokens_per_s":900}"#),
    .good(.trainLog, #"{"step":1,"tokens":512,"loss":2.5,"lr":0.001,"grad_norm":1.2,"tokens_per_s":900,"kl":0.01,"reward":null}"#),
    .bad(.trainLog, #"{"step":1,"tokens":512,"loss":2.5,"lr":0.001,"grad_norm":1.2}"#, at: "$", #"missing required property "tokens_per_s""#),
    .bad(.trainLog, #"{"step":1,"tokens":512,"loss":2.5,"lr":0.001,"grad_norm":1.2,"tokens_per_s":900,"kl":"nan"}"#, at: "$.kl", #"expected number or null, found string "nan""#),
    .bad(.trainLog, #"{"step":1.5,"tokens":512,"loss":2.5,"lr":0.001,"grad_norm":1.2,"tokens_per_s":900}"#, at: "$.step", "expected integer"),
]

@Test(arguments: recordCases)
func recordSchemaDecides(_ testCase: RecordCase) throws {
    let found = try violations(testCase.kind.schema, testCase.record)
    if let path = testCase.path, let fragment = testCase.fragment {
        let first = try #require(found.first, "expected a violation")
        #expect(first.path == path)
        #expect(first.message.contains(fragment), "message was: \(first.message)")
    } else {
        #expect(found.isEmpty, "unexpected: \(found)")
    }
}

@Test func everyKindHasGoodAndBadCases() {
    for kind in RecordKind.allCases {
        #expect(recordCases.contains { $0.kind == kind && $0.path == nil }, "no good example for \(kind)")
        #expect(recordCases.contains { $0.kind == kind && $0.path != nil }, "no bad example for \(kind)")
    }
}

@Test func recordKindValidateUsesTheKindsSchema() throws {
    let record = try JSONParser.parse(#"{"id":"j1","prompt":"P","response_a":"x","response_b":"y","winner":"c"}"#)
    #expect(RecordKind.judgment.validate(record).map(\.path) == ["$.winner"])
    #expect(RecordKind.evalResult.schemaFileName == "eval-result.schema.json")
    #expect(try RecordKind.trainLog.loadSchema().title == "train log")
}

// MARK: - Schema files

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func readJSON(_ url: URL) throws -> JSONValue {
    try JSONParser.parse(String(contentsOf: url, encoding: .utf8))
}

/// Every field a schema names has a description, so the schema documents the record; a
/// `false` (forbidden) or a `$ref` (described at its definition) needs none.
func undescribedFields(_ schema: JSONValue, at location: String) -> [String] {
    guard case .object(let object) = schema else { return [] }
    var missing: [String] = []
    for (keyword, value) in object {
        switch keyword {
        case "properties":
            for (name, field) in value.object ?? JSONObject() {
                if case .object(let f) = field, f["description"] == nil, f["$ref"] == nil {
                    missing.append("\(location)/properties/\(name)")
                }
                missing += undescribedFields(field, at: "\(location)/properties/\(name)")
            }
        case "$defs":
            for (name, def) in value.object ?? JSONObject() {
                if def.object?["description"] == nil { missing.append("\(location)/$defs/\(name)") }
                missing += undescribedFields(def, at: "\(location)/$defs/\(name)")
            }
        case "items", "additionalProperties":
            missing += undescribedFields(value, at: "\(location)/\(keyword)")
        case "oneOf", "anyOf":
            for (i, branch) in (value.array ?? []).enumerated() {
                missing += undescribedFields(branch, at: "\(location)/\(keyword)/\(i)")
            }
        default:
            break
        }
    }
    return missing
}

@Test(arguments: RecordKind.allCases)
func schemaFileIsDocumented(_ kind: RecordKind) throws {
    let url = repoRoot.appendingPathComponent("Sources/LatheData/schemas/\(kind.schemaFileName)")
    let schema = try readJSON(url)
    #expect(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema")
    #expect(schema["$id"] == .string("urn:lathe:schema:\(kind.rawValue)"))
    #expect(schema["title"]?.string?.isEmpty == false)
    #expect(schema["description"]?.string?.isEmpty == false)
    #expect(schema["$comment"]?.string?.isEmpty == false, "say why additionalProperties and id are as they are")
    #expect(undescribedFields(schema, at: "#") == [])
    // The embedded copy is the one the tools load; it must be this file, byte for byte
    // (scripts/embed-schemas.sh regenerates it).
    let text = try String(contentsOf: url, encoding: .utf8)
    #expect(kind.schemaText == text, "Sources/LatheData/EmbeddedSchemas.swift is stale: run scripts/embed-schemas.sh")
    _ = try kind.loadSchema()
}

@Test func schemasDirectoryHoldsExactlyTheKinds() throws {
    let dir = repoRoot.appendingPathComponent("Sources/LatheData/schemas")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
    #expect(files == RecordKind.allCases.map(\.schemaFileName).sorted())
}

// MARK: - Fixtures

func fixtureLines(_ kind: RecordKind) throws -> [String] {
    let url = repoRoot.appendingPathComponent("fixtures/records/\(kind.rawValue).jsonl")
    return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
}

@Test(arguments: RecordKind.allCases)
func everyFixtureLineValidates(_ kind: RecordKind) throws {
    let lines = try fixtureLines(kind)
    #expect((3...6).contains(lines.count), "fixtures/records/\(kind.rawValue).jsonl should hold 3 to 6 records")
    for (i, line) in lines.enumerated() {
        let found = try violations(kind.schema, line)
        #expect(found.isEmpty, "fixtures/records/\(kind.rawValue).jsonl:\(i + 1): \(found)")
    }
}

/// The schemas tell the kinds apart: no fixture passes for a kind other than its own, so a
/// schema that accepted nearly anything would show here.
@Test(arguments: RecordKind.allCases)
func fixturesFailOtherKindsSchemas(_ kind: RecordKind) throws {
    for (i, line) in try fixtureLines(kind).enumerated() {
        let value = try JSONParser.parse(line)
        for other in RecordKind.allCases where other != kind {
            #expect(!other.schema.isValid(value), "fixtures/records/\(kind.rawValue).jsonl:\(i + 1) passes as \(other.rawValue)")
        }
    }
}
