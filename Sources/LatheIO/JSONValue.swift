/// One JSON value, as RFC 8259 defines it.
///
/// Numbers keep the text they were written with, so `1`, `1.0` and `1e0` round-trip unchanged
/// and 64-bit ids never pass through a Double. Objects keep their key order.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number as written in the source text (already checked against the RFC 8259 grammar).
public struct JSONNumber: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    /// Trusts `text` to be a valid JSON number; the parser is the only caller that has one.
    init(unchecked text: String) { self.text = text }

    public init(_ value: Int) { text = String(value) }

    /// A finite Double in its shortest round-tripping form; NaN and infinities have no JSON form.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        if value == value.rounded(), abs(value) < 1e15 {
            text = String(Int64(value))
        } else {
            text = "\(value)"
        }
    }

    public init?(_ value: Float) { self.init(Double(value)) }

    public var double: Double { Double(text) ?? .nan }
    /// The value as an Int when it is written as an integer that fits.
    public var int: Int? { Int(text) }
    public var description: String { text }
}

/// A JSON object with its keys in document order. Records have a handful of keys, so lookup
/// is a linear scan; that beats hashing at this size and keeps the order for free.
public struct JSONObject: Hashable, Sendable, Sequence {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []

    public init() {}
    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: String) -> JSONValue? {
        get { keys.firstIndex(of: key).map { values[$0] } }
        set {
            if let index = keys.firstIndex(of: key) {
                if let newValue { values[index] = newValue } else {
                    keys.remove(at: index)
                    values.remove(at: index)
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Appends without looking for an existing key; the parser has already checked uniqueness.
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        zip(keys, values).lazy.map { (key: $0, value: $1) }.makeIterator()
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = JSONNumber(value).map(JSONValue.number) ?? .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var object: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var number: JSONNumber? { if case .number(let n) = self { n } else { nil } }
    public var double: Double? { number?.double }
    public var int: Int? { number?.int }
    public var isNull: Bool { self == .null }

    /// The member `key` of an object; nil for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        get { object?[key] }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    /// The value at a dotted path (`question.title`, `messages.0.content`), the form every
    /// `--field` option takes.
    public func value(at path: String) -> JSONValue? {
        var current = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            switch current {
            case .object(let o):
                guard let next = o[String(part)] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(part), a.indices.contains(i) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    /// The JSON type name used in error messages and schemas.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.int != nil || !n.text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
