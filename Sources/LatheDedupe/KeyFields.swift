import LatheIO

/// The part of a record that decides whether it is a duplicate: one or more dotted paths
/// (`--key text`, `--key prompt --key chosen`, `--key messages`), rendered as one text.
public struct KeyFields: Sendable, Equatable {
    public let paths: [String]

    public init(_ paths: [String]) {
        precondition(!paths.isEmpty)
        self.paths = paths
    }

    /// Between two keys' texts, so `("ab", "c")` and `("a", "bc")` stay different; U+001F is
    /// neither whitespace nor a word character in any text worth training on.
    static let separator = "\n\u{1F}\n"

    /// The key text of `record`. A missing key (or one that is null) is an error naming it.
    public func text(of record: JSONValue, at location: SourceLocation) throws(RecordError) -> String {
        if paths.count == 1 { return try Self.render(record, paths[0], location) }
        var parts: [String] = []
        for path in paths { parts.append(try Self.render(record, path, location)) }
        return parts.joined(separator: Self.separator)
    }

    private static func render(_ record: JSONValue, _ path: String, _ location: SourceLocation) throws(RecordError) -> String {
        guard let value = record.value(at: path), !value.isNull else {
            throw RecordError(location, "missing key field '\(path)': pass --key with the field that holds the text (a dotted path such as messages or question.body), or --on-error skip to drop such records", reason: "missing_field")
        }
        return render(value)
    }

    /// Strings as they are; a conversation turn `{"role", "content"}` as `role: content`;
    /// arrays turn by turn on separate lines; other objects by their values; numbers and
    /// booleans by their JSON text.
    static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .array(let elements): return elements.map(render).joined(separator: "\n")
        case .object(let object):
            if let content = object["content"] {
                let role = object["role"]?.string.map { $0 + ": " } ?? ""
                return role + render(content)
            }
            return object.map { render($0.value) }.joined(separator: "\n")
        case .null: return ""
        case .bool, .number: return JSONWriter.string(value)
        }
    }
}

extension KeyFields {
    /// Calls `body` with the UTF-8 of `text(of:at:)` for the record in the scanned line, where
    /// `found` holds the values at `paths` (`JSONScanner.find`), and whether that text is known
    /// to be ASCII; nil when a key is missing or null, which the parsed record's path reports.
    func withText<R>(_ scan: JSONScanner, _ found: ArraySlice<JSONScanner.Found?>,
                     _ body: (UnsafeBufferPointer<UInt8>, _ ascii: Bool) -> R) -> R? {
        // The common key, one string without escapes, is read where it lies.
        if found.count == 1, let value = found.first!, scan.base[value.start] == UInt8(ascii: "\""),
           !value.contents.contains(.escapes) {
            return body(UnsafeBufferPointer(start: scan.base + value.start + 1, count: value.end - value.start - 2),
                        !value.contents.contains(.nonASCII))
        }
        var text: [UInt8] = []
        var ascii = true
        for (k, value) in found.enumerated() {
            guard let value, scan.base[value.start] != UInt8(ascii: "n") else { return nil }
            // A `\u` escape may stand for any character.
            ascii = ascii && value.contents.isEmpty
            if k > 0 { text.append(contentsOf: Self.separator.utf8) }
            if scan.base[value.start] == UInt8(ascii: "\"") {
                scan.appendDecoded(value.start, value.end, into: &text)
            } else {
                var pos = value.start
                Self.render(scan, &pos, into: &text)
            }
        }
        return text.withUnsafeBufferPointer { body($0, ascii) }
    }

    /// `render(_:)` over the valid value at `pos`, moving `pos` past it.
    private static func render(_ scan: JSONScanner, _ pos: inout Int, into out: inout [UInt8]) {
        let start = pos
        switch scan.base[pos] {
        case UInt8(ascii: "\""):
            appendString(scan, &pos, into: &out)
        case UInt8(ascii: "["):
            _ = scan.elements(&pos) { index, element in
                if index > 0 { out.append(0x0A) }
                render(scan, &element, into: &out)
                return true
            }
        case UInt8(ascii: "{"):
            // A turn renders its role before its content whatever their order, so note where
            // the values are, then render.
            var content: Int?, role: Int?, values: [Int] = []
            _ = scan.members(&pos) { key, value in
                if scan.key(key, is: contentKey) { content = value } else if scan.key(key, is: roleKey) { role = value }
                values.append(value)
                return scan.skipValue(&value, depth: 0) != nil
            }
            if let content {
                if var at = role, scan.base[at] == UInt8(ascii: "\"") {
                    appendString(scan, &at, into: &out)
                    out.append(contentsOf: ": ".utf8)
                }
                var at = content
                render(scan, &at, into: &out)
            } else {
                for (k, value) in values.enumerated() {
                    if k > 0 { out.append(0x0A) }
                    var at = value
                    render(scan, &at, into: &out)
                }
            }
        case UInt8(ascii: "n"):
            pos += 4
        default:
            // Numbers and booleans as written, which is how the parser keeps them.
            _ = scan.skipValue(&pos, depth: 0)
            out.append(contentsOf: UnsafeBufferPointer(start: scan.base + start, count: pos - start))
        }
    }

    private static var contentKey: UnsafeBufferPointer<UInt8> { staticBytes("content") }
    private static var roleKey: UnsafeBufferPointer<UInt8> { staticBytes("role") }

    private static func staticBytes(_ text: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Appends the decoded content of the valid string at `pos`, moving `pos` past it.
    private static func appendString(_ scan: JSONScanner, _ pos: inout Int, into out: inout [UInt8]) {
        let start = pos
        guard scan.scanString(&pos) != nil else { return }
        scan.appendDecoded(start, pos, into: &out)
    }
}

extension JSONValue {
    /// The record with the value at a dotted path replaced (the path must exist).
    func replacing(at path: Substring, with newValue: JSONValue) -> JSONValue {
        let head: Substring, rest: Substring?
        if let dot = path.firstIndex(of: ".") {
            head = path[..<dot]
            rest = path[path.index(after: dot)...]
        } else {
            head = path
            rest = nil
        }
        switch self {
        case .object(var object):
            guard let child = object[String(head)] else { return self }
            object[String(head)] = rest.map { child.replacing(at: $0, with: newValue) } ?? newValue
            return .object(object)
        case .array(var array):
            guard let i = Int(head), array.indices.contains(i) else { return self }
            array[i] = rest.map { array[i].replacing(at: $0, with: newValue) } ?? newValue
            return .array(array)
        default:
            return self
        }
    }
}
