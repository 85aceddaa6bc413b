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

/// Stable identifiers for inputs that carry none: 128 bits of FNV-1a over the parts, each
/// half finished with SplitMix64's mixer, as 32 hex digits.
public enum StableID {
    public static func make(_ parts: String...) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x6c62_272e_07bb_0142
        for part in parts {
            for byte in part.utf8 {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 &+ 0x9E37_79B9
            }
            a = (a ^ 0xFF) &* 0x0000_0100_0000_01B3
            b = (b ^ 0xFE) &* 0x0000_0100_0000_01B3
        }
        return hex(mix(a)) + hex(mix(b ^ a))
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func hex(_ x: UInt64) -> String {
        let s = String(x, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
