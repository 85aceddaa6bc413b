import Foundation
import LatheIO

/// A JSON Schema (draft 2020-12 vocabulary, the subset Lathe's record schemas use), compiled
/// once into a tree of checks so that validating a record does no keyword lookup.
///
/// The subset: `type` (one name or a list), `properties`, `required`, `additionalProperties`
/// (true, false or a schema), `items` (one schema for every element), `enum`, `const`, `oneOf`,
/// `anyOf`, `minItems`, `minLength`, and `$ref` to `#/$defs/<name>` with `$defs` at the root.
/// The annotations `$schema`, `$id`, `$comment`, `title`, `description`, `examples` and
/// `default` are accepted and not checked. Any other keyword is an error when the schema is
/// built: a keyword the validator skipped would look enforced to whoever reads the schema.
public struct JSONSchema: Sendable {
    let root: SchemaNode
    /// The compiled `$defs`, indexed by the numbers `$ref` nodes were resolved to.
    let definitions: [SchemaNode]
    /// The root schema's `title`, if it has one.
    public let title: String?

    public static let checkedKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "oneOf", "anyOf", "minItems", "minLength", "$ref", "$defs",
    ]
    public static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "examples", "default",
    ]

    public init(_ schema: JSONValue) throws(SchemaError) {
        var compiler = SchemaCompiler()
        if case .object(let object) = schema, let defs = object["$defs"] {
            try compiler.compileDefinitions(defs)
        }
        root = try compiler.compile(schema, at: "#", isRoot: true)
        definitions = compiler.definitions.map { $0! }
        title = schema["title"]?.string
        try compiler.rejectRefCycles()
    }

    /// Parses `text` as JSON and builds the schema from it.
    public init(json text: String) throws(SchemaError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw SchemaError(location: "#", message: "the schema is not valid JSON: \(error)")
        }
        try self.init(value)
    }
}

/// A schema that cannot be built, and where in it (a JSON Pointer such as
/// `#/properties/messages/items`).
public struct SchemaError: Error, Equatable, Sendable, CustomStringConvertible {
    public let location: String
    public let message: String

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// The JSON Schema types as bits, so a `type` list is checked with one AND.
struct TypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeSet(rawValue: 1 << 0)
    static let boolean = TypeSet(rawValue: 1 << 1)
    static let integer = TypeSet(rawValue: 1 << 2)
    /// `number` admits integers too; the type check tests `.number` before `.integer`.
    static let number = TypeSet(rawValue: 1 << 3)
    static let string = TypeSet(rawValue: 1 << 4)
    static let array = TypeSet(rawValue: 1 << 5)
    static let object = TypeSet(rawValue: 1 << 6)
    static let all = TypeSet(rawValue: 0x7F)

    static let byName: [String: TypeSet] = [
        "null": .null, "boolean": .boolean, "integer": .integer, "number": .number,
        "string": .string, "array": .array, "object": .object,
    ]
}

/// One compiled (sub)schema. Immutable once built; `$ref` holds an index into
/// `JSONSchema.definitions` rather than a pointer, so recursive schemas make no reference cycles.
///
/// The hot path reaches children through `Link`s, which do not retain: reference counting was
/// half the cost of validating a record. `owned` holds the strong references that keep every
/// linked child alive as long as its parent.
final class SchemaNode: Sendable {
    /// Which keywords this node has, so a visit tests one word instead of a dozen optionals.
    struct Checks: OptionSet, Sendable {
        let rawValue: UInt16
        static let rejectAll = Checks(rawValue: 1 << 0)
        static let type = Checks(rawValue: 1 << 1)
        static let const = Checks(rawValue: 1 << 2)
        static let `enum` = Checks(rawValue: 1 << 3)
        static let minLength = Checks(rawValue: 1 << 4)
        static let minItems = Checks(rawValue: 1 << 5)
        static let items = Checks(rawValue: 1 << 6)
        static let object = Checks(rawValue: 1 << 7)
        static let ref = Checks(rawValue: 1 << 8)
        static let anyOf = Checks(rawValue: 1 << 9)
        static let oneOf = Checks(rawValue: 1 << 10)
    }

    /// A child reference that costs no retain to follow; valid while its parent lives.
    struct Link: @unchecked Sendable {
        let unmanaged: Unmanaged<SchemaNode>
        init(node: SchemaNode) { unmanaged = .passUnretained(node) }
        var node: SchemaNode { unmanaged.takeUnretainedValue() }

        /// Runs `body` on the node as a borrowed reference, which `node` cannot promise.
        @inline(__always)
        func with<R>(_ body: (SchemaNode) -> R) -> R { unmanaged._withUnsafeGuaranteedRef(body) }
    }

    enum Additional: Sendable {
        case allowed
        case forbidden
        case schema(Link)
    }

    struct Property: @unchecked Sendable {
        let name: String
        /// Key comparison is by code points; for an ASCII name, Swift's `==` with equal byte
        /// counts is exactly that and much faster than a byte loop.
        let isASCII: Bool
        /// nil for a name that is only `required`, with no schema under `properties`.
        let link: Link?
        var schema: SchemaNode? { link?.node }
        /// The name's UTF-8, for `ByteMatcher`, which compares keys as they are in the line.
        let utf8: [UInt8]

        init(name: String, isASCII: Bool, link: Link?) {
            self.name = name
            self.isASCII = isASCII
            self.link = link
            utf8 = Array(name.utf8)
        }
    }

    let checks: Checks
    let types: TypeSet
    /// The `type` names as written, for messages.
    let typeNames: [String]
    let constValue: JSONValue
    let enumValues: [JSONValue]
    /// `enumValues` when every one is a string, the usual case (roles, winners), compared
    /// without going through general JSON equality; empty otherwise.
    let enumStrings: [Property]
    let minLength: Int
    let minItems: Int
    let items: Link?
    let properties: [Property]
    /// Bit i is set when `properties[i]` is required; the key walk ORs in the bits it sees.
    let requiredMask: UInt64
    /// The `required` names in schema order, for messages.
    let requiredNames: [String]
    let additional: Additional
    let anyOf: [Link]
    let oneOf: [Link]
    let ref: Int
    let title: String?
    private let owned: [SchemaNode]

    init(
        rejectsEverything: Bool = false, types: TypeSet? = nil, typeNames: [String] = [],
        constValue: JSONValue? = nil, enumValues: [JSONValue]? = nil, minLength: Int = 0, minItems: Int = 0,
        items: SchemaNode? = nil, properties: [(String, SchemaNode?)] = [], requiredMask: UInt64 = 0,
        requiredNames: [String] = [], additional: SchemaNode?? = nil, checksObject: Bool = false,
        anyOf: [SchemaNode] = [], oneOf: [SchemaNode] = [], ref: Int? = nil, title: String? = nil
    ) {
        var checks: Checks = []
        if rejectsEverything { checks.insert(.rejectAll) }
        if types != nil { checks.insert(.type) }
        if constValue != nil { checks.insert(.const) }
        if enumValues != nil { checks.insert(.enum) }
        if minLength > 0 { checks.insert(.minLength) }
        if minItems > 0 { checks.insert(.minItems) }
        if items != nil { checks.insert(.items) }
        if checksObject { checks.insert(.object) }
        if ref != nil { checks.insert(.ref) }
        if !anyOf.isEmpty { checks.insert(.anyOf) }
        if !oneOf.isEmpty { checks.insert(.oneOf) }
        self.checks = checks
        self.types = types ?? []
        self.typeNames = typeNames
        self.constValue = constValue ?? .null
        self.enumValues = enumValues ?? []
        let strings = (enumValues ?? []).compactMap(\.string)
        self.enumStrings = strings.count == enumValues?.count ? strings.map(Property.init(unlinked:)) : []
        self.minLength = minLength
        self.minItems = minItems
        self.items = items.map(Link.init)
        self.properties = properties.map { Property(name: $0.0, isASCII: $0.0.utf8.allSatisfy { $0 < 0x80 }, link: $0.1.map(Link.init)) }
        self.requiredMask = requiredMask
        self.requiredNames = requiredNames
        switch additional {
        case nil: self.additional = .allowed
        case .some(nil): self.additional = .forbidden
        case .some(.some(let schema)): self.additional = .schema(Link(node: schema))
        }
        self.anyOf = anyOf.map(Link.init)
        self.oneOf = oneOf.map(Link.init)
        self.ref = ref ?? -1
        self.title = title
        var owned = anyOf + oneOf + properties.compactMap(\.1)
        if let items { owned.append(items) }
        if case .some(.some(let schema)) = additional { owned.append(schema) }
        self.owned = owned
    }

    func propertyIndex(_ key: String) -> Int? {
        propertyIndex(key, from: 0)
    }

    /// Searches from `start` round to `start - 1`. Records usually list their keys in schema
    /// order, so a caller that starts just past the previous match finds most keys first try.
    @inline(__always)
    func propertyIndex(_ key: String, from start: Int) -> Int? {
        let count = key.utf8.count
        let n = properties.count
        var i = start < n ? start : 0
        for _ in 0..<n {
            if properties[i].matches(key, count: count) { return i }
            i = i + 1 == n ? 0 : i + 1
        }
        return nil
    }
}

extension SchemaNode.Property {
    init(unlinked name: String) {
        self.init(name: name, isASCII: name.utf8.allSatisfy { $0 < 0x80 }, link: nil)
    }

    @inline(__always)
    func matches(_ key: String, count: Int) -> Bool {
        guard name.utf8.count == count, name == key else { return false }
        // Equal byte counts and canonical equivalence imply equal bytes when one side is ASCII:
        // a non-ASCII string equivalent to an ASCII one is always longer (Kelvin sign, U+037E).
        return isASCII || sameCodePoints(name, key)
    }
}

/// Turns schema JSON into `SchemaNode`s, checking every keyword's value as it goes.
struct SchemaCompiler {
    var definitionIndex: [String: Int] = [:]
    var definitionNames: [String] = []
    var definitions: [SchemaNode?] = []

    mutating func compileDefinitions(_ defs: JSONValue) throws(SchemaError) {
        guard case .object(let object) = defs else {
            throw SchemaError(location: "#/$defs", message: "$defs must be an object of named schemas, found \(defs.typeName)")
        }
        // Indices first, so definitions can refer to each other in any order.
        for name in object.keys {
            definitionIndex[name] = definitionNames.count
            definitionNames.append(name)
        }
        definitions = Array(repeating: nil, count: definitionNames.count)
        for (i, name) in definitionNames.enumerated() {
            definitions[i] = try compile(object.values[i], at: "#/$defs/\(escapePointer(name))", isRoot: false)
        }
    }

    mutating func compile(_ schema: JSONValue, at location: String, isRoot: Bool) throws(SchemaError) -> SchemaNode {
        switch schema {
        case .bool(true): return SchemaNode()
        case .bool(false): return SchemaNode(rejectsEverything: true)
        case .object: break
        default:
            throw SchemaError(location: location, message: "a schema must be an object or a boolean, found \(schema.typeName)")
        }
        let object = schema.object!

        var types: TypeSet?
        var typeNames: [String] = []
        var constValue: JSONValue?
        var enumValues: [JSONValue]?
        var minLength = 0
        var minItems = 0
        var items: SchemaNode?
        var propertySchemas: [(String, SchemaNode?)] = []
        var required: [String] = []
        /// nil: any extra property; .some(nil): none; .some(schema): each must match it.
        var additional: SchemaNode?? = nil
        var checksObject = false
        var anyOf: [SchemaNode] = []
        var oneOf: [SchemaNode] = []
        var ref: Int?
        var title: String?

        for i in 0..<object.keys.count {
            let keyword = object.keys[i]
            let value = object.values[i]
            let here = "\(location)/\(escapePointer(keyword))"
            switch keyword {
            case "type":
                (types, typeNames) = try compileType(value, at: here)
            case "const":
                constValue = value
            case "enum":
                guard case .array(let values) = value, !values.isEmpty else {
                    throw SchemaError(location: here, message: "enum must be a non-empty array of allowed values")
                }
                enumValues = values
            case "minLength":
                minLength = try nonNegativeInteger(value, keyword: keyword, at: here)
            case "minItems":
                minItems = try nonNegativeInteger(value, keyword: keyword, at: here)
            case "items":
                items = try compile(value, at: here, isRoot: false)
            case "properties":
                guard case .object(let props) = value else {
                    throw SchemaError(location: here, message: "properties must be an object mapping names to schemas, found \(value.typeName)")
                }
                for j in 0..<props.keys.count {
                    let name = props.keys[j]
                    propertySchemas.append((name, try compile(props.values[j], at: "\(here)/\(escapePointer(name))", isRoot: false)))
                }
                checksObject = true
            case "required":
                guard case .array(let names) = value else {
                    throw SchemaError(location: here, message: "required must be an array of property names, found \(value.typeName)")
                }
                for name in names {
                    guard let name = name.string else {
                        throw SchemaError(location: here, message: "required must hold only strings, found \(name.typeName)")
                    }
                    guard !required.contains(where: { sameCodePoints($0, name) }) else {
                        throw SchemaError(location: here, message: "\"\(name)\" is listed twice in required")
                    }
                    required.append(name)
                }
                checksObject = true
            case "additionalProperties":
                switch value {
                case .bool(true): additional = nil
                case .bool(false): additional = .some(nil)
                default: additional = .some(try compile(value, at: here, isRoot: false))
                }
                checksObject = true
            case "anyOf":
                anyOf = try compileBranches(value, keyword: keyword, at: here)
            case "oneOf":
                oneOf = try compileBranches(value, keyword: keyword, at: here)
            case "$ref":
                ref = try resolveRef(value, at: here)
            case "$defs":
                guard isRoot else {
                    throw SchemaError(location: here, message: "$defs is supported only at the schema root; move these definitions there")
                }
            case "title":
                title = try annotationString(value, keyword: keyword, at: here)
            case "description", "$comment", "$id", "$schema":
                _ = try annotationString(value, keyword: keyword, at: here)
            case "examples", "default":
                break
            default:
                throw SchemaError(
                    location: here,
                    message: "unsupported keyword \"\(keyword)\": Lathe's validator checks only "
                        + JSONSchema.checkedKeywords.sorted().joined(separator: ", ")
                        + ", so a schema using \"\(keyword)\" would look enforced without being so")
            }
        }

        // Required names without a schema still need a slot, so the key walk can see them.
        var properties: [(String, SchemaNode?)] = propertySchemas
        var requiredMask: UInt64 = 0
        for name in required {
            let index: Int
            if let existing = properties.firstIndex(where: { sameCodePoints($0.0, name) }) {
                index = existing
            } else {
                index = properties.count
                properties.append((name, nil))
            }
            guard index < 64 else {
                throw SchemaError(location: "\(location)/required", message: "more than 64 named properties in one object schema are not supported")
            }
            requiredMask |= 1 << UInt64(index)
        }

        return SchemaNode(
            types: types, typeNames: typeNames, constValue: constValue, enumValues: enumValues,
            minLength: minLength, minItems: minItems, items: items, properties: properties,
            requiredMask: requiredMask, requiredNames: required, additional: additional,
            checksObject: checksObject, anyOf: anyOf, oneOf: oneOf, ref: ref, title: title)
    }

    private func compileType(_ value: JSONValue, at location: String) throws(SchemaError) -> (TypeSet, [String]) {
        let names: [JSONValue]
        switch value {
        case .string: names = [value]
        case .array(let list) where !list.isEmpty: names = list
        default:
            throw SchemaError(location: location, message: "type must be a type name or a non-empty array of them")
        }
        var set: TypeSet = []
        var written: [String] = []
        for name in names {
            guard let name = name.string, let bit = TypeSet.byName[name] else {
                throw SchemaError(
                    location: location,
                    message: "unknown type \(name.string.map { "\"\($0)\"" } ?? name.typeName); expected one of "
                        + "null, boolean, integer, number, string, array, object")
            }
            set.insert(bit)
            written.append(name)
        }
        return (set, written)
    }

    private mutating func compileBranches(_ value: JSONValue, keyword: String, at location: String) throws(SchemaError) -> [SchemaNode] {
        guard case .array(let list) = value, !list.isEmpty else {
            throw SchemaError(location: location, message: "\(keyword) must be a non-empty array of schemas")
        }
        var branches: [SchemaNode] = []
        for (i, branch) in list.enumerated() {
            branches.append(try compile(branch, at: "\(location)/\(i)", isRoot: false))
        }
        return branches
    }

    private func resolveRef(_ value: JSONValue, at location: String) throws(SchemaError) -> Int {
        guard let text = value.string else {
            throw SchemaError(location: location, message: "$ref must be a string, found \(value.typeName)")
        }
        let prefix = "#/$defs/"
        guard text.hasPrefix(prefix), !text.dropFirst(prefix.count).contains("/") else {
            throw SchemaError(location: location, message: "unsupported $ref \"\(text)\": only \"#/$defs/<name>\" is supported")
        }
        let name = String(text.dropFirst(prefix.count))
            .replacingOccurrences(of: "~1", with: "/")
            .replacingOccurrences(of: "~0", with: "~")
        guard let index = definitionIndex[name] else {
            throw SchemaError(location: location, message: "$ref \"\(text)\" names no entry in the root $defs")
        }
        return index
    }

    /// A `$ref` loop that never moves into the instance (`a` refers to `b`, `b` to `a`, possibly
    /// through anyOf/oneOf) would recurse forever on any value, so it fails at build time.
    func rejectRefCycles() throws(SchemaError) {
        let nodes = definitions.map { $0! }
        let edges = nodes.map { node in
            var targets: [Int] = []
            collectSameLocationRefs(node, into: &targets)
            return targets
        }
        // 0 unvisited, 1 on the current path, 2 finished.
        var state = Array(repeating: 0, count: nodes.count)
        func visit(_ i: Int) -> Int? {
            state[i] = 1
            for j in edges[i] {
                if state[j] == 1 { return j }
                if state[j] == 0, let loop = visit(j) { return loop }
            }
            state[i] = 2
            return nil
        }
        for i in nodes.indices where state[i] == 0 {
            if let loop = visit(i) {
                throw SchemaError(
                    location: "#/$defs/\(escapePointer(definitionNames[loop]))",
                    message: "$ref cycle that never descends into the value; it would recurse forever")
            }
        }
    }

    private func collectSameLocationRefs(_ node: SchemaNode, into targets: inout [Int]) {
        if node.checks.contains(.ref) { targets.append(node.ref) }
        for branch in node.anyOf { collectSameLocationRefs(branch.node, into: &targets) }
        for branch in node.oneOf { collectSameLocationRefs(branch.node, into: &targets) }
    }

    private func nonNegativeInteger(_ value: JSONValue, keyword: String, at location: String) throws(SchemaError) -> Int {
        guard case .number(let n) = value, let int = n.int, int >= 0 else {
            throw SchemaError(location: location, message: "\(keyword) must be a non-negative integer")
        }
        return int
    }

    private func annotationString(_ value: JSONValue, keyword: String, at location: String) throws(SchemaError) -> String {
        guard let text = value.string else {
            throw SchemaError(location: location, message: "\(keyword) must be a string, found \(value.typeName)")
        }
        return text
    }
}

/// RFC 6901 escaping for one JSON Pointer segment.
func escapePointer(_ segment: String) -> String {
    segment.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
}
