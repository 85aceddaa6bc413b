import LatheIO

/// A JSON number as sign × digits × 10^exponent, with no leading or trailing zeros in `digits`.
///
/// JSON Schema compares numbers by value (`1`, `1.0` and `10e-1` are one number, and `1.0` is an
/// integer), while `JSONNumber` keeps only the text. Going through Double would answer the same
/// questions but merge distinct 64-bit ids above 2^53, so the comparison stays decimal.
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

extension JSONNumber {
    /// Whether the value has no fractional part, as JSON Schema's `integer` type means it:
    /// `3`, `3.0` and `3e2` are integers, `3.5` and `1e-2` are not.
    var isIntegral: Bool {
        // The common case, an integer written as one, needs no decimal arithmetic.
        var plain = true
        for b in text.utf8 where b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            plain = false
            break
        }
        return plain || DecimalNumber(self).isInteger
    }

    /// The narrowest JSON Schema type of the value, for messages (LatheIO's `typeName` calls
    /// `1.0` a number; JSON Schema calls it an integer).
    var schemaTypeName: String { isIntegral ? "integer" : "number" }
}

/// Two strings are the same JSON string when their code points are, which is stricter than
/// Swift's `==`: that treats canonically equivalent strings (é as one scalar or as e + accent,
/// the Kelvin sign and K) as equal, and JSON Schema does not.
@inline(__always)
func sameCodePoints(_ a: String, _ b: String) -> Bool {
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

/// JSON Schema's equality for `enum` and `const`: numbers by value, objects regardless of key
/// order, strings by code points. `JSONValue`'s own `==` compares number text and key order.
func jsonEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.string(let x), .string(let y)): return sameCodePoints(x, y)
    case (.number(let x), .number(let y)): return x.text == y.text || DecimalNumber(x) == DecimalNumber(y)
    case (.array(let x), .array(let y)):
        guard x.count == y.count else { return false }
        for i in x.indices where !jsonEqual(x[i], y[i]) { return false }
        return true
    case (.object(let x), .object(let y)):
        guard x.count == y.count else { return false }
        for i in 0..<x.keys.count {
            let key = x.keys[i]
            guard let j = y.keys.firstIndex(where: { sameCodePoints($0, key) }), jsonEqual(x.values[i], y.values[j]) else {
                return false
            }
        }
        return true
    default:
        return false
    }
}
