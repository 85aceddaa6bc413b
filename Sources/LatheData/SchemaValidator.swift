import LatheIO

/// One way a value fails its schema: where (a JSON path such as `$.messages[2].role`) and what
/// was expected against what was found.
public struct SchemaViolation: Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

extension JSONSchema {
    /// Enough to fix a record by hand; a value wrong in more ways than this is wrong wholesale.
    public static let defaultMaxViolations = 20

    /// Whether `value` satisfies the schema. Allocates nothing and builds no strings, so it is
    /// the call for the per-record hot path.
    public func isValid(_ value: JSONValue) -> Bool {
        Matcher(definitions: definitions).matches(root, value)
    }

    /// Every way `value` fails the schema, up to `maxViolations`, in document order; empty when
    /// it is valid. A valid value costs exactly what `isValid` costs: messages are built only
    /// after the fast check has failed.
    ///
    /// Where `oneOf`/`anyOf` has no matching branch, the violations are those of the closest
    /// branch (the one whose type fits and that got deepest into the value before failing), or
    /// one "expected string or array" when the value's type fits no branch at all.
    public func validate(_ value: JSONValue, maxViolations: Int = defaultMaxViolations) -> [SchemaViolation] {
        let matcher = Matcher(definitions: definitions)
        if matcher.matches(root, value) { return [] }
        var collector = ViolationCollector(matcher: matcher, cap: max(1, maxViolations), path: [])
        collector.check(root, value)
        if collector.found.isEmpty {
            // The two walks disagree, which is a bug here; still never call an invalid value valid.
            return [SchemaViolation(path: "$", message: "does not match the schema")]
        }
        return collector.found.map { SchemaViolation(path: renderPath($0.path), message: $0.message) }
    }
}

/// The yes/no walk. Mirrors `ViolationCollector.check` keyword for keyword; the tests hold the
/// two to the same verdict on every case.
///
/// Values travel by pointer and child schemas by unmanaged reference: passing a `JSONValue`
/// read out of an array copies it, and each copy of a string, array or object is a retain and
/// a release, which was most of the cost of validating a record.
struct Matcher {
    let definitions: [SchemaNode]
    private let links: [SchemaNode.Link]

    init(definitions: [SchemaNode]) {
        self.definitions = definitions
        links = definitions.map(SchemaNode.Link.init)
    }

    func matches(_ node: SchemaNode, _ value: JSONValue) -> Bool {
        withUnsafePointer(to: value) { matches(node, $0) }
    }

    func matches(_ node: SchemaNode, _ value: UnsafePointer<JSONValue>) -> Bool {
        let checks = node.checks
        if checks.isEmpty { return true }
        if checks.contains(.rejectAll) { return false }
        // Most leaves are a bare type; testing the case without binding its payload costs no copy.
        if checks == .type {
            switch value.pointee {
            case .null: return node.types.contains(.null)
            case .bool: return node.types.contains(.boolean)
            case .string: return node.types.contains(.string)
            case .array: return node.types.contains(.array)
            case .object: return node.types.contains(.object)
            case .number(let number): return node.types.contains(.number) || (node.types.contains(.integer) && number.isIntegral)
            }
        }
        let types = checks.contains(.type) ? node.types : TypeSet.all
        // String-only enums (the common case) are settled in the .string case; any other enum
        // goes through general equality below.
        let stringEnum = checks.contains(.enum) && !node.enumStrings.isEmpty
        // One switch, binding each payload once: every read of `value.pointee` into a binding
        // or argument is a copy.
        switch value.pointee {
        case .null:
            if !types.contains(.null) || stringEnum { return false }
        case .bool:
            if !types.contains(.boolean) || stringEnum { return false }
        case .number(let number):
            if stringEnum { return false }
            if !types.contains(.number), !(types.contains(.integer) && number.isIntegral) { return false }
        case .string(let string):
            if !types.contains(.string) { return false }
            if stringEnum, !node.enumStrings.contains(where: { $0.matches(string, count: string.utf8.count) }) { return false }
            if checks.contains(.minLength), !hasAtLeastScalars(string, node.minLength) { return false }
        case .array(let elements):
            if !types.contains(.array) || stringEnum { return false }
            if elements.count < node.minItems { return false }
            if let items = node.items, !allMatch(items, elements) { return false }
        case .object(let object):
            if !types.contains(.object) || stringEnum { return false }
            if checks.contains(.object), !objectMatches(node, object) { return false }
        }
        if checks.contains(.const), node.constValue != value.pointee { return false }
        if checks.contains(.enum), !stringEnum, !enumMatches(node, value.pointee) { return false }
        if checks.contains(.ref), !links[node.ref].with({ matches($0, value) }) { return false }
        if checks.contains(.anyOf) {
            var any = false
            for branch in node.anyOf where branch.with({ matches($0, value) }) {
                any = true
                break
            }
            if !any { return false }
        }
        if checks.contains(.oneOf), matchCount(node.oneOf, value, stopAt: 2) != 1 { return false }
        return true
    }

    func matchCount(_ branches: [SchemaNode.Link], _ value: JSONValue, stopAt limit: Int) -> Int {
        withUnsafePointer(to: value) { matchCount(branches, $0, stopAt: limit) }
    }

    func matchCount(_ branches: [SchemaNode.Link], _ value: UnsafePointer<JSONValue>, stopAt limit: Int) -> Int {
        var count = 0
        for branch in branches where branch.with({ matches($0, value) }) {
            count += 1
            if count == limit { break }
        }
        return count
    }

    private func allMatch(_ items: SchemaNode.Link, _ elements: [JSONValue]) -> Bool {
        elements.withUnsafeBufferPointer { buffer in
            items.with { items in
                for i in 0..<buffer.count where !matches(items, buffer.baseAddress! + i) { return false }
                return true
            }
        }
    }

    /// One pass over the value's keys does properties, additionalProperties and required:
    /// each key found sets its property's bit, and required is then one mask comparison.
    private func objectMatches(_ node: SchemaNode, _ object: JSONObject) -> Bool {
        var seen: UInt64 = 0
        let ok = object.keys.withUnsafeBufferPointer { keys in
            object.values.withUnsafeBufferPointer { values in
                let base = values.baseAddress!
                var next = 0
                for i in 0..<keys.count {
                    if let p = node.propertyIndex(keys[i], from: next) {
                        next = p + 1
                        seen |= 1 << UInt64(p)
                        if let link = node.properties[p].link, !link.with({ matches($0, base + i) }) { return false }
                    } else {
                        switch node.additional {
                        case .allowed: continue
                        case .forbidden: return false
                        case .schema(let extra): if !extra.with({ matches($0, base + i) }) { return false }
                        }
                    }
                }
                return true
            }
        }
        return ok && seen & node.requiredMask == node.requiredMask
    }
}

@inline(__always)
func typeMatches(_ types: TypeSet, _ value: JSONValue) -> Bool {
    switch value {
    case .null: return types.contains(.null)
    case .bool: return types.contains(.boolean)
    case .string: return types.contains(.string)
    case .array: return types.contains(.array)
    case .object: return types.contains(.object)
    case .number(let n):
        if types.contains(.number) { return true }
        return types.contains(.integer) && n.isIntegral
    }
}

@inline(__always)
func enumMatches(_ node: SchemaNode, _ value: JSONValue) -> Bool {
    if !node.enumStrings.isEmpty {
        guard case .string(let s) = value else { return false }
        let count = s.utf8.count
        for candidate in node.enumStrings where candidate.matches(s, count: count) { return true }
        return false
    }
    for candidate in node.enumValues where candidate == value { return true }
    return false
}

/// minLength counts Unicode scalars, which is JSON Schema's "characters" (code points; the
/// parser admits no lone surrogates, so the two agree). Grapheme clusters would make "é"
/// written as e + accent two characters in some tools and one in others.
@inline(__always)
func hasAtLeastScalars(_ string: String, _ minimum: Int) -> Bool {
    // A scalar is 1 to 4 UTF-8 bytes, so the byte count, which is O(1), settles most cases.
    let bytes = string.utf8.count
    if bytes < minimum { return false }
    if bytes >= 4 * minimum { return true }
    var count = 0
    for _ in string.unicodeScalars {
        count += 1
        if count >= minimum { return true }
    }
    return false
}

enum PathComponent {
    case key(String)
    case index(Int)
}

/// `$`, then `.name` for plain names and `["odd name"]` otherwise, `[i]` for array elements.
func renderPath(_ path: [PathComponent]) -> String {
    var out = "$"
    for component in path {
        switch component {
        case .index(let i):
            out += "[\(i)]"
        case .key(let key):
            if isPlainName(key) {
                out += ".\(key)"
            } else {
                out += "[\(JSONWriter.string(.string(key)))]"
            }
        }
    }
    return out
}

private func isPlainName(_ key: String) -> Bool {
    guard let first = key.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
    return key.utf8.allSatisfy { b in
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }
}

/// The walk that explains a failure. Runs only on values the `Matcher` has rejected, and
/// descends only into the parts that fail, so its cost is proportional to what is wrong.
struct ViolationCollector {
    struct Found {
        var path: [PathComponent]
        var message: String
        /// The types the schema wanted, when the value's own type was wrong; lets a failed
        /// oneOf whose branches all want other types say "expected string or array".
        var expectedTypes: [String]?
    }

    let matcher: Matcher
    let cap: Int
    var path: [PathComponent]
    var found: [Found] = []

    var isFull: Bool { found.count >= cap }

    private mutating func report(_ message: String, expectedTypes: [String]? = nil) {
        guard !isFull else { return }
        found.append(Found(path: path, message: message, expectedTypes: expectedTypes))
    }

    mutating func check(_ node: SchemaNode, _ value: JSONValue) {
        guard !isFull else { return }
        let checks = node.checks
        if checks.contains(.rejectAll) {
            report("no value is allowed here, found \(describe(value))")
            return
        }
        if checks.contains(.type), !typeMatches(node.types, value) {
            // Every other keyword would only restate this one.
            report("expected \(joinedAlternatives(node.typeNames)), found \(describe(value))", expectedTypes: node.typeNames)
            return
        }
        if checks.contains(.const), node.constValue != value {
            report("expected \(preview(node.constValue)), found \(describe(value))")
        }
        if checks.contains(.enum), !enumMatches(node, value) {
            let list = node.enumValues.map(preview).joined(separator: ", ")
            report(node.enumValues.count == 1 ? "expected \(list), found \(describe(value))" : "expected one of \(list); found \(describe(value))")
        }
        switch value {
        case .string(let string):
            if checks.contains(.minLength), !hasAtLeastScalars(string, node.minLength) {
                let have = string.unicodeScalars.count
                report("expected a string of at least \(node.minLength) character\(node.minLength == 1 ? "" : "s"), found "
                    + (have == 0 ? "an empty string" : "\(have) character\(have == 1 ? "" : "s")"))
            }
        case .array(let elements):
            if elements.count < node.minItems {
                report("expected at least \(node.minItems) item\(node.minItems == 1 ? "" : "s"), found \(describe(value))")
            }
            if let items = node.items?.node {
                for (i, element) in elements.enumerated() where !isFull && !matcher.matches(items, element) {
                    path.append(.index(i))
                    check(items, element)
                    path.removeLast()
                }
            }
        case .object(let object):
            if checks.contains(.object) { checkObject(node, object) }
        default:
            break
        }
        if checks.contains(.ref) { check(matcher.definitions[node.ref], value) }
        if checks.contains(.anyOf), matcher.matchCount(node.anyOf, value, stopAt: 1) == 0 {
            explainNoMatch(node.anyOf, keyword: "anyOf", value)
        }
        if checks.contains(.oneOf) {
            let matching = node.oneOf.indices.filter { matcher.matches(node.oneOf[$0].node, value) }
            if matching.isEmpty {
                explainNoMatch(node.oneOf, keyword: "oneOf", value)
            } else if matching.count > 1 {
                let names = matching.map { branchName(node.oneOf, $0, keyword: "oneOf") }
                report("matches \(names.count) alternatives (\(names.joined(separator: ", "))) where exactly one must match")
            }
        }
    }

    private mutating func checkObject(_ node: SchemaNode, _ object: JSONObject) {
        for name in node.requiredNames where !object.keys.contains(where: { sameCodePoints($0, name) }) {
            report("missing required property \(preview(.string(name)))")
        }
        for i in 0..<object.keys.count where !isFull {
            let key = object.keys[i]
            let value = object.values[i]
            let schema: SchemaNode
            if let p = node.propertyIndex(key) {
                guard let named = node.properties[p].schema else { continue }
                schema = named
            } else {
                switch node.additional {
                case .allowed:
                    continue
                case .forbidden:
                    path.append(.key(key))
                    let allowed = node.properties.map(\.name).joined(separator: ", ")
                    report("unexpected property \(preview(.string(key))); this object allows only: \(allowed)")
                    path.removeLast()
                    continue
                case .schema(let extra):
                    schema = extra.node
                }
            }
            guard !matcher.matches(schema, value) else { continue }
            path.append(.key(key))
            if schema.checks.contains(.rejectAll) {
                report("property \(preview(.string(key))) is not allowed here")
            } else {
                check(schema, value)
            }
            path.removeLast()
        }
    }

    /// No branch matched: say what the closest one wanted, since "matched none of 3
    /// alternatives" tells the user nothing they can fix.
    private mutating func explainNoMatch(_ branches: [SchemaNode.Link], keyword: String, _ value: JSONValue) {
        let depth = path.count
        var outcomes: [[Found]] = []
        for branch in branches {
            var sub = ViolationCollector(matcher: matcher, cap: cap, path: path)
            sub.check(branch.node, value)
            outcomes.append(sub.found)
        }
        func rootTypes(_ found: [Found]) -> [String]? {
            found.first { $0.path.count == depth && $0.expectedTypes != nil }?.expectedTypes
        }
        if outcomes.allSatisfy({ rootTypes($0) != nil }) {
            var names: [String] = []
            for outcome in outcomes {
                for name in rootTypes(outcome)! where !names.contains(name) { names.append(name) }
            }
            report("expected \(joinedAlternatives(names)), found \(describe(value))", expectedTypes: names)
            return
        }
        // Rank: the value's type fits; fewest failures at the value itself (a missing required
        // field says the wrong form was tried); fewest failures; the one that got deepest.
        func rank(_ found: [Found]) -> (Int, Int, Int, Int) {
            let typeMiss = rootTypes(found) != nil ? 1 : 0
            let shallow = found.count { $0.path.count == depth }
            let deepest = found.map(\.path.count).max() ?? depth
            return (typeMiss, shallow, found.count, -deepest)
        }
        var best = 0
        for i in outcomes.indices.dropFirst() where rank(outcomes[i]) < rank(outcomes[best]) { best = i }
        let note = branches.count > 1 ? " (in \(branchName(branches, best, keyword: keyword)), the closest of \(branches.count) alternatives)" : ""
        for var item in outcomes[best] where !isFull {
            item.message += note
            found.append(item)
        }
    }

    private func branchName(_ branches: [SchemaNode.Link], _ index: Int, keyword: String) -> String {
        let branch = branches[index].node
        if let title = branch.title { return "\"\(title)\"" }
        if branch.checks.contains(.ref), let title = matcher.definitions[branch.ref].title { return "\"\(title)\"" }
        return "\(keyword)[\(index)]"
    }
}

private func joinedAlternatives(_ names: [String]) -> String {
    switch names.count {
    case 0: return "nothing"
    case 1: return names[0]
    default: return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// A value as a message shows what was found: its type and, for scalars, the value itself,
/// shortened so a whole document's text never lands in an error line.
func describe(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .number(let n): return "\(JSONValue.number(n).typeName) \(shorten(n.text))"
    case .string(let s): return s.isEmpty ? "an empty string" : "string \(preview(value))"
    case .array(let a): return a.isEmpty ? "an empty array" : "an array of \(a.count) item\(a.count == 1 ? "" : "s")"
    case .object(let o):
        if o.isEmpty { return "an empty object" }
        let shown = o.keys.prefix(6).joined(separator: ", ")
        return "an object with keys \(shown)\(o.count > 6 ? ", …" : "")"
    }
}

/// Compact JSON for a value, cut to a readable length.
func preview(_ value: JSONValue) -> String {
    if case .string(let s) = value, s.unicodeScalars.count > 40 {
        return JSONWriter.string(.string(String(String.UnicodeScalarView(s.unicodeScalars.prefix(40))))) + "…"
    }
    return shorten(JSONWriter.string(value))
}

private func shorten(_ text: String) -> String {
    text.unicodeScalars.count > 60 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(60))) + "…" : text
}
