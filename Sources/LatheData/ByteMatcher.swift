import LatheIO

#if canImport(Glibc)
import Glibc
#endif

extension JSONSchema {
    /// The validation fast path: whether `line` is one JSON value that satisfies the schema,
    /// decided from its bytes without building a `JSONValue` or a `String`.
    ///
    /// `true` is certain: the text is JSON as `JSONParser` reads it (UTF-8, escapes, surrogates,
    /// no duplicate keys, within `maxDepth`) and the value matches. `false` means invalid *or*
    /// a case left to the full path (escaped or non-ASCII keys, `const`, enums of non-strings,
    /// escaped strings under `enum`/`minLength`, non-plain numbers where only integers pass),
    /// so a caller then parses and runs `validate` for the verdict and the message.
    public func accepts(line: UnsafeRawBufferPointer, maxDepth: Int = JSONParser.defaultMaxDepth) -> Bool {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        let matcher = ByteMatcher(links: definitions.map(SchemaNode.Link.init), base: base, end: line.count, maxDepth: maxDepth)
        var pos = matcher.skipWhitespace(0)
        guard matcher.match(root, &pos, depth: 0) == .yes else { return false }
        return matcher.skipWhitespace(pos) == line.count
    }
}

/// The walk behind `JSONSchema.accepts(line:)`. Mirrors `Matcher` keyword for keyword, but over
/// bytes; each value is scanned where it lies, and a branch of anyOf/oneOf rescans it.
struct ByteMatcher {
    enum Verdict { case yes, no, unsure }

    let links: [SchemaNode.Link]
    let base: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int

    /// The schema `true`: any JSON value, still scanned for syntax.
    private static let anything = SchemaNode()
    /// Keys an object can hold outside `properties` before the duplicate check gives up.
    private static let maxExtraKeys = 16

    @inline(__always)
    func skipWhitespace(_ start: Int) -> Int {
        var pos = start
        while pos < end {
            let b = base[pos]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { break }
            pos += 1
        }
        return pos
    }

    /// Matches the value at `pos` (no whitespace before it); on `.yes`, `pos` is just past it.
    func match(_ node: SchemaNode, _ pos: inout Int, depth: Int) -> Verdict {
        let checks = node.checks
        if checks.contains(.rejectAll) { return .no }
        if checks.contains(.const) { return .unsure }
        let stringEnum = checks.contains(.enum)
        if stringEnum && node.enumStrings.isEmpty { return .unsure }
        guard pos < end else { return .unsure }
        let start = pos
        let types = checks.contains(.type) ? node.types : TypeSet.all
        switch base[pos] {
        case UInt8(ascii: "\""):
            guard types.contains(.string) else { return .no }
            guard let escaped = scanString(&pos) else { return .unsure }
            let content = UnsafeBufferPointer(start: base + start + 1, count: pos - start - 2)
            if stringEnum || checks.contains(.minLength) {
                if escaped { return .unsure }
                if stringEnum, !node.enumStrings.contains(where: { $0.utf8.elementsEqual(content) }) { return .no }
                if checks.contains(.minLength) {
                    var scalars = 0
                    for b in content where b & 0xC0 != 0x80 { scalars += 1 }
                    if scalars < node.minLength { return .no }
                }
            }
        case UInt8(ascii: "{"):
            guard types.contains(.object), !stringEnum else { return .no }
            guard depth + 1 <= maxDepth else { return .unsure }
            let verdict = matchObject(node, &pos, depth: depth + 1)
            if verdict != .yes { return verdict }
        case UInt8(ascii: "["):
            guard types.contains(.array), !stringEnum else { return .no }
            guard depth + 1 <= maxDepth else { return .unsure }
            let verdict = matchArray(node, &pos, depth: depth + 1)
            if verdict != .yes { return verdict }
        case UInt8(ascii: "t"):
            guard literal("true", &pos) else { return .unsure }
            guard types.contains(.boolean), !stringEnum else { return .no }
        case UInt8(ascii: "f"):
            guard literal("false", &pos) else { return .unsure }
            guard types.contains(.boolean), !stringEnum else { return .no }
        case UInt8(ascii: "n"):
            guard literal("null", &pos) else { return .unsure }
            guard types.contains(.null), !stringEnum else { return .no }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let plainInteger = scanNumber(&pos) else { return .unsure }
            if stringEnum { return .no }
            if !types.contains(.number) {
                guard types.contains(.integer) else { return .no }
                // 1.0 and 1e2 are integers too; deciding that is the full path's job.
                if !plainInteger { return .unsure }
            }
        default:
            return .unsure
        }
        // The combinators see the same value again, each from its start.
        if checks.contains(.ref) {
            var p = start
            let verdict = links[node.ref].with { match($0, &p, depth: depth) }
            if verdict != .yes { return verdict }
        }
        if checks.contains(.anyOf) {
            var unsure = false
            var any = false
            for branch in node.anyOf {
                var p = start
                switch branch.with({ match($0, &p, depth: depth) }) {
                case .yes: any = true
                case .unsure: unsure = true
                case .no: continue
                }
                if any { break }
            }
            if !any { return unsure ? .unsure : .no }
        }
        if checks.contains(.oneOf) {
            var count = 0
            for branch in node.oneOf {
                var p = start
                switch branch.with({ match($0, &p, depth: depth) }) {
                case .yes: count += 1
                case .unsure: return .unsure
                case .no: continue
                }
            }
            if count != 1 { return .no }
        }
        return .yes
    }

    private func matchObject(_ node: SchemaNode, _ pos: inout Int, depth: Int) -> Verdict {
        let checksObject = node.checks.contains(.object)
        pos = skipWhitespace(pos + 1)
        var seen: UInt64 = 0
        var next = 0
        // Keys outside `properties`, as (start, count), for the duplicate check.
        return withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: Self.maxExtraKeys) { extras in
            var extraCount = 0
            if pos < end && base[pos] == UInt8(ascii: "}") {
                pos += 1
            } else {
                while true {
                    guard pos < end, base[pos] == UInt8(ascii: "\"") else { return .unsure }
                    let keyStart = pos + 1
                    guard let escaped = scanString(&pos), !escaped else { return .unsure }
                    let key = UnsafeBufferPointer(start: base + keyStart, count: pos - keyStart - 1)
                    // The parser's duplicate check uses canonical equivalence; non-ASCII keys go the full path.
                    for b in key where b >= 0x80 { return .unsure }
                    pos = skipWhitespace(pos)
                    guard pos < end, base[pos] == UInt8(ascii: ":") else { return .unsure }
                    pos = skipWhitespace(pos + 1)
                    var property: Int? = nil
                    if checksObject {
                        let n = node.properties.count
                        var i = next < n ? next : 0
                        for _ in 0..<n {
                            if node.properties[i].utf8.elementsEqual(key) {
                                property = i
                                break
                            }
                            i = i + 1 == n ? 0 : i + 1
                        }
                    }
                    let schema: SchemaNode
                    if let p = property {
                        if seen & (1 << UInt64(p)) != 0 { return .unsure }
                        seen |= 1 << UInt64(p)
                        next = p + 1
                        schema = node.properties[p].schema ?? Self.anything
                    } else {
                        for k in 0..<extraCount where extras[k].1 == key.count
                            && memcmp(base + extras[k].0, key.baseAddress!, key.count) == 0 { return .unsure }
                        guard extraCount < Self.maxExtraKeys else { return .unsure }
                        extras[extraCount] = (keyStart, key.count)
                        extraCount += 1
                        if !checksObject {
                            schema = Self.anything
                        } else {
                            switch node.additional {
                            case .allowed: schema = Self.anything
                            case .forbidden: return .no
                            case .schema(let extra): schema = extra.node
                            }
                        }
                    }
                    let verdict = match(schema, &pos, depth: depth)
                    if verdict != .yes { return verdict }
                    pos = skipWhitespace(pos)
                    guard pos < end else { return .unsure }
                    if base[pos] == UInt8(ascii: ",") {
                        pos = skipWhitespace(pos + 1)
                    } else if base[pos] == UInt8(ascii: "}") {
                        pos += 1
                        break
                    } else {
                        return .unsure
                    }
                }
            }
            if checksObject, seen & node.requiredMask != node.requiredMask { return .no }
            return .yes
        }
    }

    private func matchArray(_ node: SchemaNode, _ pos: inout Int, depth: Int) -> Verdict {
        pos = skipWhitespace(pos + 1)
        var count = 0
        if pos < end && base[pos] == UInt8(ascii: "]") {
            pos += 1
        } else {
            let items = node.items?.node ?? Self.anything
            while true {
                let verdict = match(items, &pos, depth: depth)
                if verdict != .yes { return verdict }
                count += 1
                pos = skipWhitespace(pos)
                guard pos < end else { return .unsure }
                if base[pos] == UInt8(ascii: ",") {
                    pos = skipWhitespace(pos + 1)
                } else if base[pos] == UInt8(ascii: "]") {
                    pos += 1
                    break
                } else {
                    return .unsure
                }
            }
        }
        return count < node.minItems ? .no : .yes
    }

    @inline(__always)
    private func literal(_ word: StaticString, _ pos: inout Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - pos >= count, memcmp(base + pos, word.utf8Start, count) == 0 else { return false }
        pos += count
        return true
    }

    /// Scans a number with JSON's grammar; nil if it breaks it, else whether it is written as
    /// a plain integer (no fraction, no exponent).
    private func scanNumber(_ pos: inout Int) -> Bool? {
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

    @inline(__always)
    private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// Scans a string from its opening quote to just past its closing one, checking escapes,
    /// surrogate pairs, control characters and UTF-8 as `JSONParser` does; nil if any is wrong,
    /// else whether the string holds an escape.
    private func scanString(_ pos: inout Int) -> Bool? {
        pos += 1
        var escaped = false
        while true {
            // Eight bytes at a time past plain ASCII (see JSONParser.skipPlain).
            while end - pos >= 8 {
                let word = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let quote = word ^ (ones &* 0x22)
                let backslash = word ^ (ones &* 0x5C)
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                    | (word &- ones &* 0x20) | word
                if special & 0x8080_8080_8080_8080 != 0 { break }
                pos += 8
            }
            guard pos < end else { return nil }
            let b = base[pos]
            switch b {
            case UInt8(ascii: "\""):
                pos += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                guard scanEscape(&pos) else { return nil }
            case 0..<0x20:
                return nil
            case 0x80...:
                guard let length = utf8SequenceLength(base + pos, available: end - pos) else { return nil }
                pos += length
            default:
                pos += 1
            }
        }
    }

    private func scanEscape(_ pos: inout Int) -> Bool {
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
}
