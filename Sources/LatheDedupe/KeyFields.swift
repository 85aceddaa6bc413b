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
