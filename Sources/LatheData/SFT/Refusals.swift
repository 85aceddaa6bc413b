import Foundation

/// Finds canned refusals and "as an AI language model" disclaimers in assistant turns, which
/// teach a model to refuse or to hedge rather than to answer.
public struct RefusalDetector: Sendable {
    /// Lower-case phrases, matched anywhere in an assistant turn (curly apostrophes read as straight).
    public let phrases: [String]

    public static let builtIn: [String] = [
        "as an ai language model",
        "as a language model",
        "as an ai assistant, i",
        "as an ai, i",
        "i'm just an ai",
        "i am just an ai",
        "i'm sorry, but i cannot",
        "i'm sorry, but i can't",
        "i am sorry, but i cannot",
        "i'm sorry, i cannot",
        "i'm sorry, i can't",
        "i apologize, but i cannot",
        "i apologize, but i can't",
        "i cannot fulfill",
        "i can't fulfill",
        "i cannot assist with",
        "i can't assist with",
        "i cannot help with that",
        "i can't help with that",
        "i'm unable to help",
        "i am unable to help",
        "i'm not able to provide",
        "i cannot provide assistance",
        "i do not have personal opinions",
        "i don't have personal opinions",
        "i do not have the ability to",
        "my knowledge cutoff",
        "openai's content policy",
        "openai's use case policy",
        "against my programming",
        "it is not appropriate for me to",
        "it's not appropriate for me to",
    ]

    /// The built-in phrases and `extra` ones (a `--refusals` file, one phrase per line).
    public init(extra: [String] = [], includeBuiltIn: Bool = true) {
        let added = extra.map { Self.normalise($0).trimmingSpaces }.filter { !$0.isEmpty }
        phrases = (includeBuiltIn ? Self.builtIn : []) + added
    }

    /// The first phrase found in `text`, or nil.
    public func match(_ text: String) -> String? {
        let lowered = Self.normalise(text)
        return phrases.first { lowered.contains($0) }
    }

    static func normalise(_ text: String) -> String {
        text.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }

    /// Whether the text is empty or only whitespace; ASCII is decided from its bytes.
    var isBlank: Bool {
        for byte in utf8 {
            if byte >= 0x80 { return unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
            if byte != 0x20 && !(0x09...0x0D).contains(byte) { return false }
        }
        return true
    }

    /// `unicodeScalars.count`, counted on the UTF-8 bytes: every byte but a continuation byte
    /// starts a scalar.
    var scalarCount: Int {
        var text = self
        return text.withUTF8 { bytes in bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
    }
}
