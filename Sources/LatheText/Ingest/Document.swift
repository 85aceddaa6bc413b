import LatheIO

/// A document record (schemas/document.schema.json) on its way out of `lathe-ingest`.
public struct Document: Sendable, Equatable {
    public var id: String
    public var text: String
    public var source: String
    public var url: String?
    public var title: String?
    public var lang: String?
    public var meta = JSONObject()
    /// Fields of an input record that Lathe does not know, passed through unchanged (JSONL input).
    public var extra = JSONObject()

    public init(id: String, text: String, source: String, url: String? = nil, title: String? = nil, lang: String? = nil) {
        self.id = id
        self.text = text
        self.source = source
        self.url = url
        self.title = title
        self.lang = lang
    }

    public var json: JSONValue {
        var object = JSONObject([("id", .string(id)), ("text", .string(text)), ("source", .string(source))])
        if let url { object["url"] = .string(url) }
        if let title { object["title"] = .string(title) }
        if let lang { object["lang"] = .string(lang) }
        for (key, value) in extra where object[key] == nil && key != "meta" { object[key] = value }
        if !meta.isEmpty { object["meta"] = .object(meta) }
        return .object(object)
    }
}

/// What a filter says about a document.
public enum FilterDecision: Sendable, Equatable {
    case keep
    /// `reason` is the name the drop is counted under (`gopher_short_document`, `lang`, ...).
    case drop(reason: String, detail: JSONValue? = nil)
}

/// One step that every document goes through after extraction, in the order given: quality
/// rules, language id, PII redaction, blocked domains. A filter may change the document
/// (redact it, set its `lang`) and says keep or drop; the counting is done elsewhere.
public struct DocumentStep: Sendable {
    public var name: String
    public var apply: @Sendable (inout Document) -> FilterDecision

    public init(name: String, apply: @escaping @Sendable (inout Document) -> FilterDecision) {
        self.name = name
        self.apply = apply
    }
}
