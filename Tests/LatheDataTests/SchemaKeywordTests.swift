import LatheData
import LatheIO
import Testing

/// Validates `instance` and holds the fast yes/no walk to the same verdict as the explaining one.
func violations(_ schema: JSONSchema, _ instance: String, maxViolations: Int = JSONSchema.defaultMaxViolations) throws -> [SchemaViolation] {
    let value = try JSONParser.parse(instance)
    let found = schema.validate(value, maxViolations: maxViolations)
    #expect(schema.isValid(value) == found.isEmpty, "isValid and validate disagree on \(instance)")
    // The byte-level fast path may pass a value on to the full path, but never accept a bad one.
    let accepted = Array(instance.utf8).withUnsafeBytes { schema.accepts(line: $0) }
    #expect(!accepted || found.isEmpty, "accepts(line:) passed an invalid value: \(instance)")
    return found
}

/// One keyword case: a schema, an instance, and either nil (valid) or the path and a fragment
/// of the message of the first violation.
struct KeywordCase: CustomTestStringConvertible, Sendable {
    let schema: String
    let instance: String
    let path: String?
    let fragment: String?

    static func accepts(_ schema: String, _ instance: String) -> KeywordCase {
        KeywordCase(schema: schema, instance: instance, path: nil, fragment: nil)
    }
    static func rejects(_ schema: String, _ instance: String, at path: String, _ fragment: String) -> KeywordCase {
        KeywordCase(schema: schema, instance: instance, path: path, fragment: fragment)
    }

    var testDescription: String { "\(schema) \(path == nil ? "accepts" : "rejects") \(instance)" }
}

let keywordCases: [KeywordCase] = [
    // type, one name
    .accepts(#"{"type":"string"}"#, #""a""#),
    .rejects(#"{"type":"string"}"#, "1", at: "$", "expected string, found integer 1"),
    .accepts(#"{"type":"boolean"}"#, "false"),
    .rejects(#"{"type":"boolean"}"#, "0", at: "$", "expected boolean, found integer 0"),
    .accepts(#"{"type":"null"}"#, "null"),
    .rejects(#"{"type":"null"}"#, #""""#, at: "$", "found an empty string"),
    .accepts(#"{"type":"object"}"#, "{}"),
    .rejects(#"{"type":"object"}"#, "[]", at: "$", "expected object, found an empty array"),
    .accepts(#"{"type":"array"}"#, "[1]"),
    .rejects(#"{"type":"array"}"#, #"{"a":1}"#, at: "$", "expected array, found an object with keys a"),
    .accepts(#"{"type":"number"}"#, "2.5"),
    .accepts(#"{"type":"number"}"#, "-3"),
    .rejects(#"{"type":"number"}"#, #""2.5""#, at: "$", #"found string "2.5""#),
    // integer is by value, as JSON Schema has it: 3.0 and 3e2 are integers
    .accepts(#"{"type":"integer"}"#, "3"),
    .accepts(#"{"type":"integer"}"#, "3.0"),
    .accepts(#"{"type":"integer"}"#, "3e2"),
    .accepts(#"{"type":"integer"}"#, "1.50e1"),
    .accepts(#"{"type":"integer"}"#, "-0.0"),
    .accepts(#"{"type":"integer"}"#, "123456789012345678901234567890"),
    .rejects(#"{"type":"integer"}"#, "3.5", at: "$", "expected integer, found number 3.5"),
    .rejects(#"{"type":"integer"}"#, "1e-2", at: "$", "found number 1e-2"),
    .rejects(#"{"type":"integer"}"#, "15e-1", at: "$", "expected integer"),
    .rejects(#"{"type":"integer"}"#, "true", at: "$", "expected integer, found true"),
    // type, a list
    .accepts(#"{"type":["string","null"]}"#, "null"),
    .accepts(#"{"type":["string","null"]}"#, #""x""#),
    .rejects(#"{"type":["string","null"]}"#, "7", at: "$", "expected string or null, found integer 7"),
    .rejects(#"{"type":["string","integer","null"]}"#, "[]", at: "$", "expected string, integer or null"),
    // properties
    .accepts(#"{"properties":{"a":{"type":"string"}}}"#, #"{"a":"x","b":1}"#),
    .accepts(#"{"properties":{"a":{"type":"string"}}}"#, "{}"),
    .accepts(#"{"properties":{"a":{"type":"string"}}}"#, "5"),
    .rejects(#"{"properties":{"a":{"type":"string"}}}"#, #"{"a":1}"#, at: "$.a", "expected string, found integer 1"),
    .rejects(#"{"properties":{"a b":{"type":"string"}}}"#, #"{"a b":1}"#, at: #"$["a b"]"#, "expected string"),
    .rejects(#"{"properties":{"2x":{"type":"string"}}}"#, #"{"2x":1}"#, at: #"$["2x"]"#, "expected string"),
    .rejects(#"{"properties":{"a":false}}"#, #"{"a":1}"#, at: "$.a", #"property "a" is not allowed here"#),
    // required
    .accepts(#"{"required":["a","b"]}"#, #"{"b":null,"a":0}"#),
    .rejects(#"{"required":["a","b"]}"#, #"{"a":0}"#, at: "$", #"missing required property "b""#),
    .rejects(#"{"properties":{"o":{"required":["x"]}}}"#, #"{"o":{}}"#, at: "$.o", #"missing required property "x""#),
    .accepts(#"{"required":["a"]}"#, "[]"),
    // additionalProperties
    .accepts(#"{"properties":{"a":{}},"additionalProperties":false}"#, #"{"a":1}"#),
    .rejects(#"{"properties":{"a":{}},"additionalProperties":false}"#, #"{"a":1,"b":2}"#, at: "$.b", #"unexpected property "b"; this object allows only: a"#),
    .accepts(#"{"additionalProperties":{"type":"number"}}"#, #"{"x":1,"y":2.5}"#),
    .rejects(#"{"additionalProperties":{"type":"number"}}"#, #"{"x":1,"y":"2"}"#, at: "$.y", "expected number"),
    .accepts(#"{"properties":{"s":{"type":"string"}},"additionalProperties":{"type":"number"}}"#, #"{"s":"t","n":1}"#),
    .accepts(#"{"additionalProperties":true}"#, #"{"x":[]}"#),
    // items
    .accepts(#"{"items":{"type":"integer"}}"#, "[1,2,3]"),
    .accepts(#"{"items":{"type":"integer"}}"#, "[]"),
    .rejects(#"{"items":{"type":"integer"}}"#, #"[1,2,"x"]"#, at: "$[2]", #"expected integer, found string "x""#),
    .rejects(#"{"items":{"items":{"type":"string"}}}"#, #"[[],["a",1]]"#, at: "$[1][1]", "expected string"),
    .rejects(#"{"items":false}"#, "[1]", at: "$[0]", "no value is allowed here"),
    // enum, compared as JSON Schema compares: numbers by value, objects in any key order
    .accepts(#"{"enum":["a","b","tie"]}"#, #""tie""#),
    .rejects(#"{"enum":["a","b","tie"]}"#, #""A""#, at: "$", #"expected one of "a", "b", "tie"; found string "A""#),
    .rejects(#"{"enum":["a","b","tie"]}"#, "1", at: "$", "found integer 1"),
    .accepts(#"{"enum":[1,null,{"k":[1,2]}]}"#, "1.0"),
    .accepts(#"{"enum":[1,null,{"k":[1,2]}]}"#, "null"),
    .accepts(#"{"enum":[1,null,{"k":[1,2]}]}"#, #"{"k":[1.0,20e-1]}"#),
    .rejects(#"{"enum":[1,null,{"k":[1,2]}]}"#, #"{"k":[2,1]}"#, at: "$", "expected one of"),
    .rejects(#"{"enum":[1,null,{"k":[1,2]}]}"#, "false", at: "$", "found false"),
    .rejects(#"{"enum":[9007199254740993]}"#, "9007199254740992", at: "$", "expected 9007199254740993"),
    // const
    .accepts(#"{"const":{"a":1,"b":[true]}}"#, #"{"b":[true],"a":1}"#),
    .rejects(#"{"const":{"a":1,"b":[true]}}"#, #"{"a":1}"#, at: "$", #"expected {"a":1,"b":[true]}, found an object with keys a"#),
    .accepts(#"{"const":"é"}"#, #""\u00e9""#),
    .rejects(#"{"const":"é"}"#, #""e\u0301""#, at: "$", #"expected "é""#),
    .rejects(#"{"const":0}"#, "false", at: "$", "expected 0, found false"),
    .accepts(#"{"const":0}"#, "-0"),
    // minLength counts Unicode scalars
    .accepts(#"{"minLength":2}"#, #""ab""#),
    .accepts(#"{"minLength":2}"#, #""e\u0301""#),
    .accepts(#"{"minLength":2}"#, #""😀😀""#),
    .rejects(#"{"minLength":2}"#, #""é""#, at: "$", "expected a string of at least 2 characters, found 1 character"),
    .rejects(#"{"minLength":2}"#, #""😀""#, at: "$", "found 1 character"),
    .rejects(#"{"minLength":1}"#, #""""#, at: "$", "expected a string of at least 1 character, found an empty string"),
    .accepts(#"{"minLength":5}"#, "12"),
    // minItems
    .accepts(#"{"minItems":2}"#, "[1,2]"),
    .rejects(#"{"minItems":2}"#, "[1]", at: "$", "expected at least 2 items, found an array of 1 item"),
    .rejects(#"{"minItems":1}"#, "[]", at: "$", "expected at least 1 item, found an empty array"),
    // anyOf
    .accepts(#"{"anyOf":[{"type":"number"},{"type":"integer"}]}"#, "1"),
    .accepts(#"{"anyOf":[{"type":"string"},{"minItems":2}]}"#, "[1,2]"),
    .rejects(#"{"anyOf":[{"type":"string"},{"type":"array","minItems":2}]}"#, "[1]", at: "$", "expected at least 2 items"),
    .rejects(#"{"anyOf":[{"type":"string"},{"type":"array"}]}"#, "5", at: "$", "expected string or array, found integer 5"),
    // oneOf
    .accepts(#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#, "1"),
    .accepts(#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, "1.5"),
    .rejects(#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, "1", at: "$", "matches 2 alternatives (oneOf[0], oneOf[1]) where exactly one must match"),
    .rejects(#"{"oneOf":[{"title":"text","type":"string"},{"title":"list","type":"array"}]}"#, "{}", at: "$", "expected string or array, found an empty object"),
    .rejects(
        #"{"oneOf":[{"title":"pair","required":["a","b"]},{"title":"single","required":["c"],"properties":{"c":{"type":"string"}}}]}"#,
        #"{"c":3}"#, at: "$.c", #"expected string, found integer 3 (in "single", the closest of 2 alternatives)"#),
    .rejects(
        #"{"oneOf":[{"required":["a","b"]},{"required":["c"],"properties":{"c":{"type":"string"}}}]}"#,
        #"{"a":3}"#, at: "$", #"missing required property "b" (in oneOf[0], the closest of 2 alternatives)"#),
    // $ref
    .accepts(##"{"$defs":{"pos":{"type":"integer"}},"items":{"$ref":"#/$defs/pos"}}"##, "[1,2]"),
    .rejects(##"{"$defs":{"pos":{"type":"integer"}},"items":{"$ref":"#/$defs/pos"}}"##, "[1,2.5]", at: "$[1]", "expected integer, found number 2.5"),
    .rejects(##"{"$defs":{"a/b":{"type":"integer"}},"$ref":"#/$defs/a~1b"}"##, "null", at: "$", "expected integer, found null"),
    // boolean schemas
    .accepts("true", #"{"anything":[1,2]}"#),
    .rejects("false", "1", at: "$", "no value is allowed here, found integer 1"),
    // annotations are accepted and change nothing
    .accepts(#"{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"urn:x","title":"t","description":"d","$comment":"c","examples":[1],"default":2}"#, #""any""#),
]

@Test(arguments: keywordCases)
func keywordIsChecked(_ testCase: KeywordCase) throws {
    let schema = try JSONSchema(json: testCase.schema)
    let found = try violations(schema, testCase.instance)
    if let path = testCase.path, let fragment = testCase.fragment {
        let first = try #require(found.first, "expected a violation")
        #expect(first.path == path)
        #expect(first.message.contains(fragment), "message was: \(first.message)")
    } else {
        #expect(found.isEmpty, "unexpected: \(found)")
    }
}

@Test func recursiveRefReportsTheDeepPath() throws {
    let schema = try JSONSchema(json: #"""
        {"$ref": "#/$defs/node",
         "$defs": {"node": {"type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string"},
                                           "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}}
        """#)
    let good = #"{"name":"r","children":[{"name":"a","children":[{"name":"b"},{"name":"c"}]}]}"#
    #expect(try violations(schema, good).isEmpty)
    let bad = #"{"name":"r","children":[{"name":"a","children":[{"name":"b"},{"name":7}]},{"children":[]}]}"#
    let found = try violations(schema, bad)
    #expect(found.map(\.path) == ["$.children[0].children[1].name", "$.children[1]"])
    #expect(found.map(\.message) == ["expected string, found integer 7", #"missing required property "name""#])
}

@Test func everyViolationIsReportedUpToTheCap() throws {
    let schema = try JSONSchema(json: #"{"items":{"type":"string"}}"#)
    let instance = "[" + (0..<100).map(String.init).joined(separator: ",") + "]"
    let all = try violations(schema, instance)
    #expect(all.count == JSONSchema.defaultMaxViolations)
    #expect(all.first?.path == "$[0]")
    #expect(all.last?.path == "$[\(JSONSchema.defaultMaxViolations - 1)]")
    #expect(try violations(schema, instance, maxViolations: 3).map(\.path) == ["$[0]", "$[1]", "$[2]"])
    #expect(try violations(schema, #"[1,"a",2]"#).map(\.path) == ["$[0]", "$[2]"])
}

@Test func violationsComeInDocumentOrder() throws {
    let schema = try JSONSchema(json: #"""
        {"type":"object","required":["id","text"],"additionalProperties":false,
         "properties":{"id":{"type":"string"},"text":{"type":"string"},"n":{"type":"integer"}}}
        """#)
    let found = try violations(schema, #"{"id":1,"n":"x","extra":true}"#)
    #expect(found.map(\.description) == [
        #"$: missing required property "text""#,
        "$.id: expected string, found integer 1",
        #"$.n: expected integer, found string "x""#,
        #"$.extra: unexpected property "extra"; this object allows only: id, text, n"#,
    ])
}

@Test func longValuesAreShortenedInMessages() throws {
    let schema = try JSONSchema(json: #"{"type":"integer"}"#)
    let long = String(repeating: "word ", count: 200)
    let message = try #require(try violations(schema, "\"\(long)\"").first).message
    #expect(message.count < 120)
    #expect(message.hasSuffix("\"…"))
}

/// A schema the validator cannot enforce fully must not build: every case names where it failed.
struct BadSchemaCase: CustomTestStringConvertible, Sendable {
    let schema: String
    let location: String
    let fragment: String
    var testDescription: String { schema }
}

let badSchemaCases: [BadSchemaCase] = [
    BadSchemaCase(schema: #"{"type":"string","pattern":"^a"}"#, location: "#/pattern", fragment: #"unsupported keyword "pattern""#),
    BadSchemaCase(schema: #"{"properties":{"n":{"type":"number","maximum":3}}}"#, location: "#/properties/n/maximum", fragment: #"unsupported keyword "maximum""#),
    BadSchemaCase(schema: #"{"items":{"format":"uri"}}"#, location: "#/items/format", fragment: "unsupported keyword"),
    BadSchemaCase(schema: #"{"prefixItems":[{}]}"#, location: "#/prefixItems", fragment: "unsupported keyword"),
    BadSchemaCase(schema: #"{"definitions":{}}"#, location: "#/definitions", fragment: "unsupported keyword"),
    BadSchemaCase(schema: #"{"type":"str"}"#, location: "#/type", fragment: #"unknown type "str""#),
    BadSchemaCase(schema: #"{"type":[]}"#, location: "#/type", fragment: "non-empty array"),
    BadSchemaCase(schema: #"{"required":["a",1]}"#, location: "#/required", fragment: "only strings"),
    BadSchemaCase(schema: #"{"required":["a","a"]}"#, location: "#/required", fragment: "listed twice"),
    BadSchemaCase(schema: #"{"minLength":-1}"#, location: "#/minLength", fragment: "non-negative integer"),
    BadSchemaCase(schema: #"{"minItems":1.5}"#, location: "#/minItems", fragment: "non-negative integer"),
    BadSchemaCase(schema: #"{"enum":[]}"#, location: "#/enum", fragment: "non-empty array"),
    BadSchemaCase(schema: #"{"oneOf":{}}"#, location: "#/oneOf", fragment: "non-empty array of schemas"),
    BadSchemaCase(schema: #"{"anyOf":[{"type":"string"},3]}"#, location: "#/anyOf/1", fragment: "must be an object or a boolean"),
    BadSchemaCase(schema: #"{"title":5}"#, location: "#/title", fragment: "title must be a string"),
    BadSchemaCase(schema: ##"{"$ref":"#/definitions/x"}"##, location: "#/$ref", fragment: "only \"#/$defs/<name>\""),
    BadSchemaCase(schema: #"{"$ref":"other.json#/$defs/x"}"#, location: "#/$ref", fragment: "unsupported $ref"),
    BadSchemaCase(schema: ##"{"$ref":"#/$defs/missing","$defs":{"x":{}}}"##, location: "#/$ref", fragment: "names no entry"),
    BadSchemaCase(schema: #"{"items":{"$defs":{}}}"#, location: "#/items/$defs", fragment: "only at the schema root"),
    BadSchemaCase(schema: ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}}}"##, location: "#/$defs/a", fragment: "$ref cycle"),
    BadSchemaCase(schema: "[]", location: "#", fragment: "must be an object or a boolean"),
    BadSchemaCase(schema: #"{"type":"string""#, location: "#", fragment: "not valid JSON"),
]

@Test(arguments: badSchemaCases)
func unsupportedOrMalformedSchemaIsRejected(_ testCase: BadSchemaCase) {
    #expect {
        _ = try JSONSchema(json: testCase.schema)
    } throws: { error in
        guard let error = error as? SchemaError else { return false }
        return error.location == testCase.location && error.message.contains(testCase.fragment)
    }
}

@Test func refCycleThroughTheValueIsAllowed() throws {
    // A definition may refer to itself below an items or properties step: that recursion ends
    // with the value.
    let schema = try JSONSchema(json: ##"{"$defs":{"list":{"type":"array","items":{"$ref":"#/$defs/list"}}},"$ref":"#/$defs/list"}"##)
    #expect(try violations(schema, "[[],[[]]]").isEmpty)
    #expect(try violations(schema, "[[],[[1]]]").map(\.path) == ["$[1][0][0]"])
}

/// The byte-level fast path: takes the common valid records itself, and says no to every
/// text the parser refuses.
@Test func byteMatcherAcceptsValidRecordsAndRefusesBadJSON() throws {
    let schema = RecordKind.document.schema
    func accepts(_ bytes: [UInt8], maxDepth: Int = JSONParser.defaultMaxDepth) -> Bool {
        bytes.withUnsafeBytes { schema.accepts(line: $0, maxDepth: maxDepth) }
    }
    let good = #"{"id":"d1","text":"Caf\u00e9 \ud83d\ude00 na\"ive\n東京","source":"s","url":"https://x.example/","meta":{"k":[1,2.5,-0.1e3,true,null,{"a":"b"}]}}"#
    #expect(accepts(Array(good.utf8)))
    #expect(accepts(Array(("  " + good + " \r").utf8)))
    #expect(throws: Never.self) { try JSONParser.parse(good) }
    #expect(schema.validate(try JSONParser.parse(good)).isEmpty)
    let head = #"{"id":"d1","source":"s","text":""#
    let bad: [[UInt8]] = [
        Array((head + #"x"}"#).utf8) + [0x20, 0x78],                              // trailing bytes
        Array(head.utf8) + [0x61, 0xC3, 0x28] + Array(#""}"#.utf8),                 // invalid UTF-8
        Array(head.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),                 // encoded surrogate
        Array(head.utf8) + [0x61, 0x01] + Array(#""}"#.utf8),                       // raw control character
        Array((head + #"\ud83d x"}"#).utf8),                                      // lone high surrogate
        Array((head + #"\ude00"}"#).utf8),                                        // lone low surrogate
        Array((head + #"\q"}"#).utf8),                                            // unknown escape
        Array((head + #"x","id":"d2"}"#).utf8),                                    // duplicate property
        Array((head + #"x","meta":{"a":1,"a":2}}"#).utf8),                         // duplicate extra key
        Array((head + #"x","meta":{"a":01}}"#).utf8),                              // leading zero
        Array((head + #"x","meta":{"a":[1,]}}"#).utf8),                            // trailing comma
        Array((head + #"x""#).utf8),                                               // cut off
        Array((head + #"x","url":7}"#).utf8),                                      // wrong type
        Array(#"{"id":"","source":"s","text":"x"}"#.utf8),                         // minLength
        Array(#"{"id":"d1","source":"s"}"#.utf8),                                  // required missing
    ]
    for bytes in bad {
        #expect(!accepts(bytes), "accepted \(String(decoding: bytes, as: UTF8.self))")
    }
    // Nesting past the limit is refused, as the parser refuses it.
    let deep = Array((head + #"x","meta":{"a":[[[1]]]}}"#).utf8)
    #expect(accepts(deep))
    #expect(!accepts(deep, maxDepth: 4))
    #expect(throws: JSONError.self) { try JSONParser.parse(deep, maxDepth: 4) }
}
