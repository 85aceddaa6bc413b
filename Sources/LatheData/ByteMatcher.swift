import LatheIO


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
    let scan: JSONScanner

    init(links: [SchemaNode.Link], base: UnsafePointer<UInt8>, end: Int, maxDepth: Int) {
        self.links = links
        scan = JSONScanner(base: base, end: end, maxDepth: maxDepth)
    }

    var base: UnsafePointer<UInt8> { scan.base }
    var end: Int { scan.end }
    var maxDepth: Int { scan.maxDepth }

    /// The schema `true`: any JSON value, still scanned for syntax.
    private static let anything = SchemaNode()

    @inline(__always)
    func skipWhitespace(_ start: Int) -> Int { scan.skipWhitespace(start) }

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
            guard let contents = scan.scanString(&pos) else { return .unsure }
            let escaped = contents.contains(.escapes)
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
            guard scan.literal("true", &pos) else { return .unsure }
            guard types.contains(.boolean), !stringEnum else { return .no }
        case UInt8(ascii: "f"):
            guard scan.literal("false", &pos) else { return .unsure }
            guard types.contains(.boolean), !stringEnum else { return .no }
        case UInt8(ascii: "n"):
            guard scan.literal("null", &pos) else { return .unsure }
            guard types.contains(.null), !stringEnum else { return .no }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let plainInteger = scan.scanNumber(&pos) else { return .unsure }
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
        var seen: UInt64 = 0
        var next = 0
        var verdict = Verdict.yes
        let complete = scan.members(&pos) { keyRange, pos in
            let key = UnsafeBufferPointer(start: base + keyRange.lowerBound, count: keyRange.count)
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
                seen |= 1 << UInt64(p)
                next = p + 1
                schema = node.properties[p].schema ?? Self.anything
            } else if !checksObject {
                schema = Self.anything
            } else {
                switch node.additional {
                case .allowed: schema = Self.anything
                case .forbidden:
                    verdict = .no
                    return false
                case .schema(let extra): schema = extra.node
                }
            }
            verdict = match(schema, &pos, depth: depth)
            return verdict == .yes
        }
        // The scanner stops on bad syntax, a repeated, escaped or non-ASCII key, or too many keys.
        guard complete else { return verdict == .yes ? .unsure : verdict }
        if checksObject, seen & node.requiredMask != node.requiredMask { return .no }
        return .yes
    }

    private func matchArray(_ node: SchemaNode, _ pos: inout Int, depth: Int) -> Verdict {
        let items = node.items?.node ?? Self.anything
        var count = 0
        var verdict = Verdict.yes
        let complete = scan.elements(&pos) { _, pos in
            verdict = match(items, &pos, depth: depth)
            count += 1
            return verdict == .yes
        }
        guard complete else { return verdict == .yes ? .unsure : verdict }
        return count < node.minItems ? .no : .yes
    }

}
