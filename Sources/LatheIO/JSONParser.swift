/// What was wrong with a JSON text, and the byte offset where it was found (0-based, within
/// the text that was parsed, which for JSON Lines is one line).
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "\(message) at byte \(offset)" }
}

/// A byte-level JSON reader (RFC 8259) that works straight on UTF-8 bytes.
///
/// Strict where the RFC is: no trailing commas, no comments, no leading zeros, no raw control
/// characters in strings, no lone surrogates, no invalid UTF-8, no duplicate keys (a record
/// whose fields are ambiguous cannot be passed on faithfully). Leading and trailing
/// whitespace around the value is allowed.
public struct JSONParser {
    public static let defaultMaxDepth = 512

    /// Parses exactly one JSON value from `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw JSONError(offset: 0, message: "empty input: expected a JSON value")
        }
        var parser = JSONParser(base: base, end: bytes.count, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.pos < parser.end {
            throw parser.error("unexpected \(parser.describeByte(parser.base[parser.pos])) after the JSON value")
        }
        return value
    }

    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        let array = Array(bytes)
        do {
            return try array.withUnsafeBytes { buffer in try parse(buffer, maxDepth: maxDepth) }
        } catch let error as JSONError {
            throw error
        } catch {
            fatalError("unreachable: parse throws only JSONError")
        }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private let maxDepth: Int
    private var pos = 0
    /// Reused for strings that contain escapes, so an escape costs no allocation of its own.
    private var scratch: [UInt8] = []

    private init(base: UnsafePointer<UInt8>, end: Int, maxDepth: Int) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
    }

    private func error(_ message: String, at offset: Int? = nil) -> JSONError {
        JSONError(offset: offset ?? pos, message: message)
    }

    private func describeByte(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while pos < end {
            let b = base[pos]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            pos += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard pos < end else { throw error("unexpected end of input: expected a JSON value") }
        switch base[pos] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case let b: throw error("unexpected \(describeByte(b)): expected a JSON value")
        }
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        let start = pos
        guard end - pos >= count, memcmp(base + pos, word.utf8Start, count) == 0 else {
            throw error("invalid literal: expected '\(word)'", at: start)
        }
        pos += count
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        pos += 1
        var object = JSONObject()
        // Past a handful of keys the duplicate check hashes; a linear scan made a 49k-entry
        // tokenizer vocabulary quadratic (over a minute).
        skipWhitespace()
        if pos < end && base[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(object)
        }
        while true {
            guard pos < end else { throw error("unexpected end of input inside an object") }
            guard base[pos] == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeByte(base[pos])): expected a string key")
            }
            let keyOffset = pos
            let key = try parseString()
            if object.index(of: key) != nil { throw error("duplicate key \"\(key)\"", at: keyOffset) }
            skipWhitespace()
            guard pos < end, base[pos] == UInt8(ascii: ":") else {
                throw error(pos < end ? "unexpected \(describeByte(base[pos])): expected ':'" : "unexpected end of input: expected ':'")
            }
            pos += 1
            skipWhitespace()
            object.appendUnchecked(key, try parseValue(depth: depth))
            skipWhitespace()
            guard pos < end else { throw error("unexpected end of input inside an object") }
            switch base[pos] {
            case UInt8(ascii: ","):
                pos += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                pos += 1
                return .object(object)
            case let b:
                throw error("unexpected \(describeByte(b)): expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        pos += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < end && base[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard pos < end else { throw error("unexpected end of input inside an array") }
            switch base[pos] {
            case UInt8(ascii: ","):
                pos += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                pos += 1
                return .array(elements)
            case let b:
                throw error("unexpected \(describeByte(b)): expected ',' or ']'")
            }
        }
    }

    private mutating func parseNumber() throws(JSONError) -> JSONNumber {
        let start = pos
        if base[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < end, isDigit(base[pos]) else { throw error("invalid number: expected a digit") }
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < end, isDigit(base[pos]) { throw error("invalid number: leading zero") }
        } else {
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        if pos < end, base[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < end, isDigit(base[pos]) else { throw error("invalid number: expected a digit after '.'") }
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        if pos < end, base[pos] | 0x20 == UInt8(ascii: "e") {
            pos += 1
            if pos < end, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, isDigit(base[pos]) else { throw error("invalid number: expected a digit in the exponent") }
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
        return JSONNumber(unchecked: text)
    }

    @inline(__always)
    private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// Moves `pos` past string bytes that need no attention, eight at a time, stopping at or
    /// before the first word holding '"', '\\' or a control character; non-ASCII bytes do not
    /// stop it but set `nonASCII`. Uses the exact "has a byte less than n" form
    /// `(x - n) & ~x & 0x80`, whose borrows can only flag bytes above a real hit.
    @inline(__always)
    private mutating func skipPlain(_ nonASCII: inout Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        var seenHigh: UInt64 = 0
        while end - pos >= 8 {
            let word = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                | ((word &- ones &* 0x20) & ~word)
            if special & high != 0 { break }
            seenHigh |= word
            pos += 8
        }
        if seenHigh & high != 0 { nonASCII = true }
    }

    /// Parses a string starting at its opening quote. The common case, a string with no
    /// escapes, is scanned eight bytes at a time and copied once.
    private mutating func parseString() throws(JSONError) -> String {
        pos += 1
        let start = pos
        var sawNonASCII = false
        scan: while true {
            skipPlain(&sawNonASCII)
            guard pos < end else { throw error("unterminated string", at: start - 1) }
            let b = base[pos]
            switch b {
            case UInt8(ascii: "\""):
                break scan
            case UInt8(ascii: "\\"):
                return try parseEscapedString(from: start, sawNonASCII: sawNonASCII)
            case 0..<0x20:
                throw error("raw control character \(describeByte(b)) in a string: it must be escaped")
            case 0x80...:
                sawNonASCII = true
                pos += 1
            default:
                pos += 1
            }
        }
        let bytes = UnsafeBufferPointer(start: base + start, count: pos - start)
        pos += 1
        if !sawNonASCII {
            return String(decoding: bytes, as: UTF8.self)
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw error("invalid UTF-8", at: start + firstInvalidUTF8(bytes))
        }
        return string
    }

    /// The slow path for strings with escapes: decodes into `scratch`, then validates once.
    private mutating func parseEscapedString(from start: Int, sawNonASCII: Bool) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: base + start, count: pos - start))
        var sawNonASCII = sawNonASCII
        while true {
            guard pos < end else { throw error("unterminated string", at: start - 1) }
            let b = base[pos]
            switch b {
            case UInt8(ascii: "\""):
                pos += 1
                guard sawNonASCII else { return String(decoding: scratch, as: UTF8.self) }
                if let string = scratch.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) }) {
                    return string
                }
                // Escapes only ever produce valid UTF-8, so the bad byte is a raw one: find it
                // in the source to report its real offset.
                let raw = UnsafeBufferPointer(start: base + start, count: pos - 1 - start)
                throw error("invalid UTF-8", at: start + firstInvalidUTF8(raw))
            case UInt8(ascii: "\\"):
                try appendEscape()
            case 0..<0x20:
                throw error("raw control character \(describeByte(b)) in a string: it must be escaped")
            default:
                if b >= 0x80 { sawNonASCII = true }
                // Copy the plain run that starts here in one append, not byte by byte: a text
                // with one newline escape near its start is otherwise copied a byte at a time.
                let runStart = pos
                pos += 1
                skipPlain(&sawNonASCII)
                scratch.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: pos - runStart))
            }
        }
    }

    private mutating func appendEscape() throws(JSONError) {
        let escapeStart = pos
        pos += 1
        guard pos < end else { throw error("unterminated escape", at: escapeStart) }
        let c = base[pos]
        pos += 1
        if let b = JSONScanner.unescaped(c) {
            scratch.append(b)
            return
        }
        switch c {
        case UInt8(ascii: "u"):
            var scalar = try readHex4(escapeStart)
            if (0xD800..<0xDC00).contains(scalar) {
                guard end - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                    throw error("lone high surrogate \\u\(String(scalar, radix: 16, uppercase: true)): expected a low surrogate to follow", at: escapeStart)
                }
                pos += 2
                let low = try readHex4(escapeStart)
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error("high surrogate followed by \\u\(String(low, radix: 16, uppercase: true)), not a low surrogate", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("lone low surrogate \\u\(String(scalar, radix: 16, uppercase: true))", at: escapeStart)
            }
            appendUTF8(scalar, to: &scratch)
        default:
            throw error("invalid escape \\\(describeByte(c).trimmingQuotes)", at: escapeStart)
        }
    }

    private mutating func readHex4(_ escapeStart: Int) throws(JSONError) -> UInt32 {
        guard end - pos >= 4, let value = hexValue4(base + pos) else {
            throw error(end - pos >= 4 ? "invalid \\u escape: expected four hex digits" : "truncated \\u escape", at: escapeStart)
        }
        pos += 4
        return value
    }
}

/// The offset of the first byte that starts an invalid UTF-8 sequence (or `bytes.count`).
public func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    var i = 0
    let n = bytes.count
    while i < n {
        if base[i] < 0x80 {
            i += 1
            continue
        }
        guard let length = utf8SequenceLength(base + i, available: n - i) else { return i }
        i += length
    }
    return n
}

/// The length of the well-formed UTF-8 sequence at `p`, whose first byte is not ASCII, with
/// `available` bytes readable; nil when it is not well formed (overlong forms, surrogates and
/// values past U+10FFFF included).
@inlinable @inline(__always)
public func utf8SequenceLength(_ p: UnsafePointer<UInt8>, available: Int) -> Int? {
    let length: Int
    var low: UInt8 = 0x80, high: UInt8 = 0xBF
    switch p[0] {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; high = 0x9F
    case 0xF0: length = 4; low = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; high = 0x8F
    default: return nil
    }
    guard available >= length, p[1] >= low && p[1] <= high else { return nil }
    for k in 2..<length where p[k] & 0xC0 != 0x80 { return nil }
    return length
}

/// The value of the four hex digits at `p` (those of a `\u` escape), or nil.
@inlinable @inline(__always)
public func hexValue4(_ p: UnsafePointer<UInt8>) -> UInt32? {
    var value: UInt32 = 0
    for i in 0..<4 {
        let b = p[i]
        let digit: UInt8
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt32(digit)
    }
    return value
}

extension String {
    fileprivate var trimmingQuotes: String {
        hasPrefix("'") && hasSuffix("'") && count > 2 ? String(dropFirst().dropLast()) : self
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
