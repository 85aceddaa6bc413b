#if canImport(Glibc)
import Glibc
#endif

/// Reads JSON text where it lies, without building a `JSONValue` or a `String`: the byte-level
/// fast paths (schema validation, dedupe's key fields) stand on it.
///
/// It is as strict as `JSONParser` (same grammar, UTF-8 and surrogate checks, depth limit, no
/// duplicate keys) but gives up rather than explain: a nil or false answer means "invalid, or a
/// case left to the parser" (escaped or non-ASCII keys, whose duplicate check needs canonical
/// equivalence; objects with more than `maxCheckedKeys` keys), and the caller then parses the
/// line for the verdict and the message. A yes is certain.
public struct JSONScanner {
    public let base: UnsafePointer<UInt8>
    public let end: Int
    public let maxDepth: Int

    /// Keys an object may hold before the duplicate check gives up.
    public static let maxCheckedKeys = 16
    /// Nesting past which `skipValue` leaves the line to the parser, bounding its stack use
    /// on worker threads (records nest a few levels; the parser has the real limit).
    public static let maxScannedDepth = 64

    @inlinable
    public init(base: UnsafePointer<UInt8>, end: Int, maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
    }

    /// What a scanned string, or every string of a scanned value, held.
    public struct Contents: OptionSet, Sendable {
        public let rawValue: UInt8
        @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let escapes = Contents(rawValue: 1)
        public static let nonASCII = Contents(rawValue: 2)
    }

    @inlinable @inline(__always)
    public func skipWhitespace(_ start: Int) -> Int {
        var pos = start
        while pos < end {
            let b = base[pos]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { break }
            pos += 1
        }
        return pos
    }

    @inlinable @inline(__always)
    public func literal(_ word: StaticString, _ pos: inout Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - pos >= count else { return false }
        for k in 0..<count where base[pos + k] != word.utf8Start[k] { return false }
        pos += count
        return true
    }

    @inlinable @inline(__always)
    func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// Scans a number with JSON's grammar; nil if it breaks it, else whether it is written as
    /// a plain integer (no fraction, no exponent).
    @inlinable
    public func scanNumber(_ pos: inout Int) -> Bool? {
        var plain = true
        if base[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < end, isDigit(base[pos]) else { return nil }
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < end, isDigit(base[pos]) { return nil }
        } else {
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        if pos < end, base[pos] == UInt8(ascii: ".") {
            plain = false
            pos += 1
            guard pos < end, isDigit(base[pos]) else { return nil }
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        if pos < end, base[pos] | 0x20 == UInt8(ascii: "e") {
            plain = false
            pos += 1
            if pos < end, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, isDigit(base[pos]) else { return nil }
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        return plain
    }

    /// Scans a string from its opening quote to just past its closing one, checking escapes,
    /// surrogate pairs, control characters and UTF-8 as `JSONParser` does; nil if any is wrong.
    @inlinable
    public func scanString(_ pos: inout Int) -> Contents? {
        pos += 1
        var contents: Contents = []
        while true {
            // Eight bytes at a time past plain ASCII (see JSONParser.skipPlain), up to the first
            // quote, backslash, control or non-ASCII byte, which is read on its own below.
            while end - pos >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
                let ones: UInt64 = 0x0101_0101_0101_0101
                let quote = word ^ (ones &* 0x22)
                let backslash = word ^ (ones &* 0x5C)
                let special = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                    | (word &- ones &* 0x20) | word) & 0x8080_8080_8080_8080
                if special != 0 {
                    // A borrow flags bytes only above a byte really flagged, so the lowest flag
                    // is the first special byte and those before it are plain.
                    pos += special.trailingZeroBitCount >> 3
                    break
                }
                pos += 8
            }
            guard pos < end else { return nil }
            let b = base[pos]
            switch b {
            case UInt8(ascii: "\""):
                pos += 1
                return contents
            case UInt8(ascii: "\\"):
                contents.insert(.escapes)
                guard scanEscape(&pos) else { return nil }
            case 0..<0x20:
                return nil
            case 0x80...:
                guard let length = utf8SequenceLength(base + pos, available: end - pos) else { return nil }
                contents.insert(.nonASCII)
                pos += length
            default:
                pos += 1
            }
        }
    }

    @inlinable
    func scanEscape(_ pos: inout Int) -> Bool {
        pos += 1
        guard pos < end else { return false }
        let c = base[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return true
        case UInt8(ascii: "u"):
            guard end - pos >= 4, let unit = hexValue4(base + pos) else { return false }
            pos += 4
            if (0xDC00..<0xE000).contains(unit) { return false }
            guard (0xD800..<0xDC00).contains(unit) else { return true }
            guard end - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else { return false }
            pos += 2
            guard end - pos >= 4, let low = hexValue4(base + pos) else { return false }
            pos += 4
            return (0xDC00..<0xE000).contains(low)
        default:
            return false
        }
    }

    /// The byte a one-letter escape (`\n`, `\"`, ...) stands for; nil for `u` and the rest.
    @inlinable @inline(__always)
    public static func unescaped(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        case UInt8(ascii: "/"): 0x2F
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// The String the parser makes of the string `start..<end` (quotes included), which
    /// `scanString` accepted with `contents`: its bytes as they lie when it has no escapes.
    public func decodedString(_ start: Int, _ end: Int, _ contents: Contents) -> String {
        guard contents.contains(.escapes) else {
            return String(decoding: UnsafeBufferPointer(start: base + start + 1, count: end - start - 2), as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(end - start)
        appendDecoded(start, end, into: &decoded)
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Appends the content of the string `start..<end` (quotes included), which `scanString`
    /// accepted, with its escapes decoded: the UTF-8 of the String the parser makes of it.
    public func appendDecoded(_ start: Int, _ end: Int, into out: inout [UInt8]) {
        var i = start + 1
        let stop = end - 1
        while i < stop {
            let found = memchr(base + i, 0x5C, stop - i)
            let run = found.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? stop
            out.append(contentsOf: UnsafeBufferPointer(start: base + i, count: run - i))
            guard run < stop else { return }
            let c = base[run + 1]
            if let b = Self.unescaped(c) {
                out.append(b)
                i = run + 2
                continue
            }
            // `\uXXXX`, a high surrogate followed by its low one (checked by the scan).
            var scalar = hexValue4(base + run + 2) ?? 0xFFFD
            i = run + 6
            if (0xD800..<0xDC00).contains(scalar) {
                let low = hexValue4(base + run + 8) ?? 0xDC00
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                i = run + 12
            }
            appendUTF8(scalar, to: &out)
        }
    }

    /// Scans an object key at `pos` (its opening quote) and the colon after it; nil unless
    /// the key is plain ASCII without escapes. On success `pos` is at the member's value.
    @inlinable
    public func scanKey(_ pos: inout Int) -> Range<Int>? {
        guard pos < end, base[pos] == UInt8(ascii: "\"") else { return nil }
        let start = pos + 1
        guard let contents = scanString(&pos), contents.isEmpty else { return nil }
        let key = start..<(pos - 1)
        pos = skipWhitespace(pos)
        guard pos < end, base[pos] == UInt8(ascii: ":") else { return nil }
        pos = skipWhitespace(pos + 1)
        return key
    }

    /// Whether `key` repeats one of the first `count` of `keys`.
    @inlinable
    public func repeats(_ key: Range<Int>, among keys: UnsafeMutableBufferPointer<Range<Int>>, count: Int) -> Bool {
        for k in 0..<count where keys[k].count == key.count
            && memcmp(base + keys[k].lowerBound, base + key.lowerBound, key.count) == 0 { return true }
        return false
    }

    /// After a member or element: past the comma (false) or the closing `close` (true); nil if
    /// neither follows.
    @inlinable @inline(__always)
    public func separator(_ pos: inout Int, close: UInt8) -> Bool? {
        pos = skipWhitespace(pos)
        guard pos < end else { return nil }
        if base[pos] == UInt8(ascii: ",") {
            pos = skipWhitespace(pos + 1)
            return false
        }
        guard base[pos] == close else { return nil }
        pos += 1
        return true
    }

    /// Scans any value at `pos` (no whitespace before it) to just past it; what its strings
    /// held, or nil when it is not certainly valid (see the type's comment). `depth` is that
    /// of the value's container (0 for a line's top value).
    public func skipValue(_ pos: inout Int, depth: Int) -> Contents? {
        guard pos < end else { return nil }
        switch base[pos] {
        case UInt8(ascii: "\""):
            return scanString(&pos)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth + 1 <= min(maxDepth, Self.maxScannedDepth) else { return nil }
            var contents: Contents = []
            func member(_ valuePos: inout Int) -> Bool {
                guard let inner = skipValue(&valuePos, depth: depth + 1) else { return false }
                contents.formUnion(inner)
                return true
            }
            let complete = base[pos] == UInt8(ascii: "{") ? members(&pos) { member(&$1) } : elements(&pos) { member(&$1) }
            return complete ? contents : nil
        case UInt8(ascii: "t"): return literal("true", &pos) ? [] : nil
        case UInt8(ascii: "f"): return literal("false", &pos) ? [] : nil
        case UInt8(ascii: "n"): return literal("null", &pos) ? [] : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return scanNumber(&pos) == nil ? nil : []
        default:
            return nil
        }
    }

    /// Walks the object at `pos` (its `{`) member by member: `body` gets the key's byte range
    /// and must move the position from the value's start to just past it, or return false to
    /// stop. True when the whole object was read (keys checked for duplicates); `pos` is then
    /// past its `}`. The depth limit is the caller's to check.
    @inlinable
    public func members(_ pos: inout Int, _ body: (Range<Int>, inout Int) -> Bool) -> Bool {
        pos = skipWhitespace(pos + 1)
        if pos < end && base[pos] == UInt8(ascii: "}") {
            pos += 1
            return true
        }
        return withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: Self.maxCheckedKeys) { keys in
            var count = 0
            while true {
                guard let key = scanKey(&pos), count < Self.maxCheckedKeys, !repeats(key, among: keys, count: count) else { return false }
                keys.initializeElement(at: count, to: key)
                count += 1
                guard body(key, &pos) else { return false }
                guard let closed = separator(&pos, close: UInt8(ascii: "}")) else { return false }
                if closed { return true }
            }
        }
    }

    /// Walks the array at `pos` (its `[`) as `members` walks an object; `body` gets each
    /// element's index.
    @inlinable
    public func elements(_ pos: inout Int, _ body: (Int, inout Int) -> Bool) -> Bool {
        pos = skipWhitespace(pos + 1)
        if pos < end && base[pos] == UInt8(ascii: "]") {
            pos += 1
            return true
        }
        var index = 0
        while true {
            guard body(index, &pos) else { return false }
            index += 1
            guard let closed = separator(&pos, close: UInt8(ascii: "]")) else { return false }
            if closed { return true }
        }
    }

    /// Whether the key at `key` is `name`.
    @inlinable
    public func key(_ key: Range<Int>, is name: UnsafeBufferPointer<UInt8>) -> Bool {
        key.count == name.count && (name.isEmpty || memcmp(base + key.lowerBound, name.baseAddress!, key.count) == 0)
    }

    /// Whether the key at `key` is `name`.
    @inlinable
    public func key(_ key: Range<Int>, is name: StaticString) -> Bool {
        self.key(key, is: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }
}

/// Dotted paths (`text`, `meta.lang`, `messages.0.content`) read as `JSONValue.value(at:)`
/// reads them, for `JSONScanner.find`: a part names an object's member, or an array's element
/// when it reads as an `Int`.
public struct JSONPaths: Sendable {
    struct Part: Sendable {
        let key: [UInt8]
        let index: Int?
    }

    let parts: [[Part]]
    public var count: Int { parts.count }

    /// The paths among `among` (bits by index) whose parts pass `test`.
    @inline(__always)
    func select(_ among: UInt64, _ test: ([Part]) -> Bool) -> UInt64 {
        var chosen: UInt64 = 0
        var bits = among
        while bits != 0 {
            let i = bits.trailingZeroBitCount
            bits &= bits - 1
            if test(parts[i]) { chosen |= 1 << UInt64(i) }
        }
        return chosen
    }

    /// nil when a path is not ASCII (the parser's key lookup then follows canonical
    /// equivalence) or there are more than 64 paths.
    public init?(_ paths: [String]) {
        guard paths.count <= 64, paths.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) else { return nil }
        parts = paths.map { path in
            path.split(separator: ".", omittingEmptySubsequences: false).map { Part(key: Array($0.utf8), index: Int($0)) }
        }
    }
}

extension JSONScanner {
    /// Where a value lies: `start..<end` of the line, and what its strings hold.
    public struct Found: Sendable {
        public var start: Int
        public var end: Int
        public var contents: JSONScanner.Contents
    }

    /// Scans the line as one JSON value (whitespace around it allowed) and finds the value at
    /// each of `paths`, nil where a path leads nowhere; nil for the whole answer when the line
    /// is not certainly valid (see the type's comment). One pass, whatever the paths.
    ///
    /// When the value at path number `claimed` is a string, `claim` scans it in place of
    /// `scanString` and must answer as that does (moving the position from the opening quote
    /// to past the closing one), so a caller can read the string in the same pass.
    public func find(_ paths: JSONPaths, claimed: Int? = nil, _ claim: (inout Int) -> Contents? = { _ in nil }) -> [Found?]? {
        var found = [Found?](repeating: nil, count: paths.count)
        let all: UInt64 = paths.count == 64 ? ~0 : (1 << UInt64(paths.count)) - 1
        let claimedBit = claimed.map { UInt64(1) << UInt64($0) } ?? 0
        var pos = skipWhitespace(0)
        guard walk(&pos, depth: 0, level: 0, active: all, paths, &found, claimedBit, claim) != nil else { return nil }
        return skipWhitespace(pos) == end ? found : nil
    }

    /// Scans the value at `pos` as `skipValue` does while following the `active` paths (bits
    /// into `paths`), which have consumed `level` parts to get here.
    private func walk(_ pos: inout Int, depth: Int, level: Int, active: UInt64, _ paths: JSONPaths,
                      _ found: inout [Found?], _ claimed: UInt64, _ claim: (inout Int) -> Contents?) -> Contents? {
        guard active != 0 else { return skipValue(&pos, depth: depth) }
        let ending = paths.select(active) { $0.count == level }
        let going = active & ~ending
        let start = pos
        var contents: Contents?
        let nests = depth + 1 <= min(maxDepth, Self.maxScannedDepth)
        if going != 0 && pos < end && base[pos] == UInt8(ascii: "{") {
            guard nests else { return nil }
            var all: Contents = []
            let complete = members(&pos) { key, valuePos in
                let next = paths.select(going) { $0[level].key.withUnsafeBufferPointer { self.key(key, is: $0) } }
                guard let inner = walk(&valuePos, depth: depth + 1, level: level + 1, active: next, paths, &found, claimed, claim) else {
                    return false
                }
                all.formUnion(inner)
                return true
            }
            contents = complete ? all : nil
        } else if going != 0 && pos < end && base[pos] == UInt8(ascii: "[") {
            guard nests else { return nil }
            var all: Contents = []
            let complete = elements(&pos) { index, valuePos in
                let next = paths.select(going) { $0[level].index == index }
                guard let inner = walk(&valuePos, depth: depth + 1, level: level + 1, active: next, paths, &found, claimed, claim) else {
                    return false
                }
                all.formUnion(inner)
                return true
            }
            contents = complete ? all : nil
        } else if ending & claimed != 0 && pos < end && base[pos] == UInt8(ascii: "\"") {
            contents = claim(&pos)
        } else {
            contents = skipValue(&pos, depth: depth)
        }
        guard let contents else { return nil }
        var ended = ending
        while ended != 0 {
            let i = ended.trailingZeroBitCount
            ended &= ended - 1
            found[i] = Found(start: start, end: pos, contents: contents)
        }
        return contents
    }
}

/// Appends the UTF-8 encoding of `scalar` (a Unicode scalar value).
@inline(__always)
func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | scalar >> 6))
        out.append(UInt8(0x80 | scalar & 0x3F))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | scalar >> 12))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        out.append(UInt8(0x80 | scalar & 0x3F))
    default:
        out.append(UInt8(0xF0 | scalar >> 18))
        out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        out.append(UInt8(0x80 | scalar & 0x3F))
    }
}
