/// One JSON value, as RFC 8259 defines it.
///
/// Numbers keep the text they were written with, so `1`, `1.0` and `1e0` round-trip unchanged
/// and 64-bit ids never pass through a Double. Objects keep their key order.
///
/// Equality is JSON's (and JSON Schema's): numbers by value (`1`, `1.0` and `10e-1` are equal),
/// strings by code points (not Swift's canonical equivalence: "é" as one scalar differs from
/// "e" + U+0301), objects as sets of members whatever their order. Hashing agrees.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return sameCodePoints(x, y)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let b): hasher.combine(b ? 1 as UInt8 : 2)
        case .number(let n): hasher.combine(3 as UInt8); hasher.combine(n)
        case .string(let s): hasher.combine(4 as UInt8); hashCodePoints(s, into: &hasher)
        case .array(let a): hasher.combine(5 as UInt8); hasher.combine(a)
        case .object(let o): hasher.combine(6 as UInt8); hasher.combine(o)
        }
    }
}

/// A JSON number as written in the source text (already checked against the RFC 8259 grammar).
/// Two numbers are equal when their values are, whatever their spelling.
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

    /// Whether the text has a fraction or an exponent; without either it is an integer as written.
    private var isPlainInteger: Bool {
        for b in text.utf8 where b == UInt8(ascii: ".") || b | 0x20 == UInt8(ascii: "e") { return false }
        return true
    }

    /// Whether the value has no fractional part, as JSON Schema's `integer` type means it:
    /// `3`, `3.0` and `3e2` are integers, `3.5` and `1e-2` are not.
    public var isIntegral: Bool { isPlainInteger || DecimalNumber(self).isInteger }

    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        a.text == b.text || DecimalNumber(a) == DecimalNumber(b)
    }

    public func hash(into hasher: inout Hasher) {
        let value = DecimalNumber(self)
        hasher.combine(value.negative)
        hasher.combine(value.digits)
        hasher.combine(value.exponent)
    }
}

/// A JSON object with its keys in document order.
///
/// Records have a handful of keys, so lookup is a linear scan, which beats hashing at that size
/// and keeps the order for free; past `linearLimit` keys the object also keeps a key → position
/// table, so lookup, insertion and the parser's duplicate check stay O(1) on large objects.
/// Removing a key is O(n).
public struct JSONObject: Hashable, Sendable, Sequence {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []
    /// Position of each key; nil while the object has at most `linearLimit` keys.
    private var positions: [String: Int]? = nil

    static let linearLimit = 16

    public init() {}
    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// The position of `key` among `keys`, or nil.
    public func index(of key: String) -> Int? {
        if let positions { return positions[key] }
        return keys.firstIndex(of: key)
    }

    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { values[$0] } }
        set {
            if let index = index(of: key) {
                if let newValue { values[index] = newValue } else {
                    keys.remove(at: index)
                    values.remove(at: index)
                    if positions != nil { rebuildPositions() }
                }
            } else if let newValue {
                appendUnchecked(key, newValue)
            }
        }
    }

    /// Appends without looking for an existing key; the parser has already checked uniqueness.
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
        if positions != nil {
            positions![key] = keys.count - 1
        } else if keys.count > Self.linearLimit {
            rebuildPositions()
        }
    }

    private mutating func rebuildPositions() {
        guard keys.count > Self.linearLimit else {
            positions = nil
            return
        }
        var table = [String: Int](minimumCapacity: keys.count)
        for (i, key) in keys.enumerated() { table[key] = i }
        positions = table
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        zip(keys, values).lazy.map { (key: $0, value: $1) }.makeIterator()
    }

    /// The same members, in any order (keys compared by code points).
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.keys.count {
            let key = a.keys[i]
            var j = b.index(of: key)
            // `index(of:)` matches canonically equivalent keys; JSON tells them apart.
            if let found = j, !sameCodePoints(b.keys[found], key) {
                j = b.keys.firstIndex { sameCodePoints($0, key) }
            }
            guard let j, a.values[i] == b.values[j] else { return false }
        }
        return true
    }

    /// Order-independent: the members' hashes are summed.
    public func hash(into hasher: inout Hasher) {
        var sum = 0
        for i in 0..<keys.count {
            var member = Hasher()
            hashCodePoints(keys[i], into: &member)
            member.combine(values[i])
            sum = sum &+ member.finalize()
        }
        hasher.combine(keys.count)
        hasher.combine(sum)
    }
}

/// Two strings are the same JSON string when their code points are, which is stricter than
/// Swift's `==`: that treats canonically equivalent strings (é as one scalar or as e + accent,
/// the Kelvin sign and K) as equal, and JSON does not.
@inline(__always)
public func sameCodePoints(_ a: String, _ b: String) -> Bool {
    let count = a.utf8.count
    guard count == b.utf8.count else { return false }
    if count == 0 { return true }
    let fast = a.utf8.withContiguousStorageIfAvailable { pa in
        b.utf8.withContiguousStorageIfAvailable { pb in
            pa.elementsEqual(pb)
        }
    }
    if let fast, let fast { return fast }
    return a.utf8.elementsEqual(b.utf8)
}

private func hashCodePoints(_ s: String, into hasher: inout Hasher) {
    var s = s
    s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
}

/// A JSON number as sign × digits × 10^exponent, with no leading or trailing zeros in `digits`,
/// so equal values have equal fields. Decimal, not Double: Double would merge distinct 64-bit
/// ids above 2^53.
struct DecimalNumber: Equatable {
    var negative = false
    /// ASCII digits of the significand; empty for zero.
    var digits: [UInt8] = []
    var exponent = 0

    /// Exponents beyond this are clamped: no record holds such a number, and clamping keeps the
    /// arithmetic from overflowing on a hostile `1e99999999999999999999`.
    private static let exponentLimit = 1_000_000_000

    init(_ number: JSONNumber) {
        let bytes = Array(number.text.utf8)
        var i = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var all: [UInt8] = []
        var fractionDigits = 0
        var inFraction = false
        while i < bytes.count {
            let b = bytes[i]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                all.append(b)
                if inFraction { fractionDigits += 1 }
            } else if b == UInt8(ascii: ".") {
                inFraction = true
            } else {
                break
            }
            i += 1
        }
        var written = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var exponentNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") {
                written = min(written * 10 + Int(bytes[i] - UInt8(ascii: "0")), Self.exponentLimit)
                i += 1
            }
            if exponentNegative { written = -written }
        }
        let firstNonZero = all.firstIndex { $0 != UInt8(ascii: "0") }
        guard let firstNonZero else {
            negative = false
            return
        }
        var lastNonZero = all.count - 1
        while all[lastNonZero] == UInt8(ascii: "0") { lastNonZero -= 1 }
        digits = Array(all[firstNonZero...lastNonZero])
        exponent = written - fractionDigits + (all.count - 1 - lastNonZero)
    }

    var isInteger: Bool { digits.isEmpty || exponent >= 0 }
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

    /// The JSON Schema type name (draft 2020-12), used in error messages and schemas: a number
    /// with no fractional part is an `integer` however it is written (`1.0`, `1e2`).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.isIntegral ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
