#if canImport(Glibc)
import Glibc
#endif

/// Turns the HTML left in scraped and converted text into plain text and Markdown: entities
/// decoded, known tags removed or replaced by their Markdown form, `<pre>` blocks kept as
/// fenced code.
///
/// This is deliberately small and lives in LatheData (which may not import LatheText's libxml2
/// extractor): its input is text that is mostly not HTML, so only tag names HTML defines are
/// taken as tags, and `a < b`, `Vec<T>` or `#include <stdio.h>` stay as they are. Markdown
/// fenced blocks are copied untouched, since code there means what it says.
public enum HTMLRemnants {
    /// `text` cleaned; the same string when there was nothing to clean.
    public static func clean(_ text: String) -> String {
        var probe = text
        let markup = probe.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, Int32(UInt8(ascii: "<")), bytes.count) != nil || memchr(base, Int32(UInt8(ascii: "&")), bytes.count) != nil
        }
        guard markup else { return text }
        var cleaner = Cleaner(Array(text.utf8))
        guard let out = cleaner.run() else { return text }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `clean` would change `text`.
    public static func contains(_ text: String) -> Bool { clean(text) != text }

    static let blockTags: Set<String> = ["p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table",
                                         "thead", "tbody", "tr", "dl", "section", "article", "header", "footer", "center", "figure"]
    static let inlineTags: Set<String> = ["span", "b", "i", "em", "strong", "a", "u", "s", "strike", "del", "ins", "font", "small",
                                          "big", "sup", "sub", "kbd", "tt", "abbr", "mark", "td", "th", "dt", "dd", "img", "html",
                                          "body", "head", "nav", "caption", "label", "cite", "q", "var", "samp"]
    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "ndash": "\u{2013}", "mdash": "\u{2014}",
        "hellip": "\u{2026}", "lsquo": "\u{2018}", "rsquo": "\u{2019}", "ldquo": "\u{201C}", "rdquo": "\u{201D}",
        "copy": "\u{00A9}", "reg": "\u{00AE}", "trade": "\u{2122}", "times": "\u{00D7}", "divide": "\u{00F7}",
        "deg": "\u{00B0}", "euro": "\u{20AC}", "pound": "\u{00A3}", "middot": "\u{00B7}", "bull": "\u{2022}",
        "laquo": "\u{00AB}", "raquo": "\u{00BB}", "shy": "",
    ]

    private struct Cleaner {
        let bytes: [UInt8]
        var out: [UInt8] = []
        var i = 0
        var changed = false

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            out.reserveCapacity(bytes.count)
        }

        mutating func run() -> [UInt8]? {
            var lineStart = true
            while i < bytes.count {
                if lineStart, startsFence(at: i) {
                    copyFence()
                    continue
                }
                let b = bytes[i]
                lineStart = b == 0x0A
                if b == UInt8(ascii: "&"), let decoded = entity(at: i) {
                    out.append(contentsOf: decoded.text.utf8)
                    i = decoded.end
                    changed = true
                } else if b == UInt8(ascii: "<"), tag(at: i) {
                    changed = true
                } else {
                    out.append(b)
                    i += 1
                }
            }
            guard changed else { return nil }
            return tidy(out)
        }

        /// "```" or "~~~" at the start of a line.
        func startsFence(at p: Int) -> Bool {
            var q = p
            while q < bytes.count, bytes[q] == 0x20, q - p < 4 { q += 1 }
            guard q + 3 <= bytes.count else { return false }
            let c = bytes[q]
            return (c == UInt8(ascii: "`") || c == UInt8(ascii: "~")) && bytes[q + 1] == c && bytes[q + 2] == c
        }

        /// Copies a fenced block through its closing fence (or to the end).
        mutating func copyFence() {
            var firstLine = true
            while i < bytes.count {
                let start = i
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                if i < bytes.count { i += 1 }
                out.append(contentsOf: bytes[start..<i])
                if !firstLine, startsFence(at: start) { return }
                firstLine = false
            }
        }

        /// `&name;`, `&#NNN;` or `&#xHH;` starting at `p`.
        func entity(at p: Int) -> (text: String, end: Int)? {
            var q = p + 1
            while q < bytes.count, q - p <= 10, bytes[q] != UInt8(ascii: ";") { q += 1 }
            guard q < bytes.count, bytes[q] == UInt8(ascii: ";"), q > p + 1 else { return nil }
            let name = String(decoding: bytes[(p + 1)..<q], as: UTF8.self)
            if name.hasPrefix("#") {
                let digits = name.dropFirst()
                let value = digits.first == "x" || digits.first == "X" ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
                guard let value, value != 0, let scalar = Unicode.Scalar(value) else { return nil }
                return (String(Character(scalar)), q + 1)
            }
            guard let text = HTMLRemnants.entities[name] else { return nil }
            return (text, q + 1)
        }

        /// The tag name and end (one past `>`) of an HTML tag at `p`, when it is one HTML defines.
        func tagSpan(at p: Int) -> (name: String, closing: Bool, end: Int)? {
            var q = p + 1
            let closing = q < bytes.count && bytes[q] == UInt8(ascii: "/")
            if closing { q += 1 }
            let nameStart = q
            while q < bytes.count, isAlnum(bytes[q]) { q += 1 }
            guard q > nameStart, isAlpha(bytes[nameStart]) else { return nil }
            let name = String(decoding: bytes[nameStart..<q], as: UTF8.self).lowercased()
            guard name == "br" || name == "hr" || name == "li" || name == "pre" || name == "code"
                || HTMLRemnants.blockTags.contains(name) || HTMLRemnants.inlineTags.contains(name) else { return nil }
            // Attributes run to '>' on a reasonable span, without another tag opening inside.
            while q < bytes.count, q - p < 2000, bytes[q] != UInt8(ascii: ">"), bytes[q] != UInt8(ascii: "<") { q += 1 }
            guard q < bytes.count, bytes[q] == UInt8(ascii: ">") else { return nil }
            guard q == nameStart + name.utf8.count || !isAlnum(bytes[nameStart + name.utf8.count]) else { return nil }
            return (name, closing, q + 1)
        }

        /// Replaces the tag (or comment, or whole `<pre>` block) at `i`; false when it is not one.
        mutating func tag(at p: Int) -> Bool {
            if bytes[p...].starts(with: Array("<!--".utf8)) {
                guard let end = find(Array("-->".utf8), from: p + 4) else { return false }
                i = end + 3
                return true
            }
            guard let tag = tagSpan(at: p) else { return false }
            i = tag.end
            switch tag.name {
            case "br": out.append(0x0A)
            case "hr": out.append(contentsOf: Array("\n\n---\n\n".utf8))
            case "li": if !tag.closing { out.append(contentsOf: Array("\n- ".utf8)) }
            case "pre": if !tag.closing { preBlock() }
            case "code": out.append(UInt8(ascii: "`"))
            default: if HTMLRemnants.blockTags.contains(tag.name) { out.append(contentsOf: [0x0A, 0x0A]) }
            }
            return true
        }

        /// The inside of `<pre>` up to `</pre>` as a fenced block: `<code>` tags dropped,
        /// entities decoded, nothing else touched.
        mutating func preBlock() {
            let closeTag = Array("</pre".utf8)
            var end = i
            while end < bytes.count, !(bytes[end] == UInt8(ascii: "<") && bytes[end...].prefix(5).map(lower).elementsEqual(closeTag)) { end += 1 }
            var code: [UInt8] = []
            var p = i
            while p < end {
                if bytes[p] == UInt8(ascii: "<"), let inner = tagSpan(at: p), inner.name == "code" {
                    p = inner.end
                } else if bytes[p] == UInt8(ascii: "&"), let decoded = entity(at: p) {
                    code.append(contentsOf: decoded.text.utf8)
                    p = decoded.end
                } else {
                    code.append(bytes[p])
                    p += 1
                }
            }
            while code.first == 0x0A { code.removeFirst() }
            while code.last == 0x0A { code.removeLast() }
            out.append(contentsOf: Array("\n\n```\n".utf8))
            out.append(contentsOf: code)
            out.append(contentsOf: Array("\n```\n\n".utf8))
            i = end < bytes.count ? (tagSpan(at: end)?.end ?? end + 5) : end
        }

        func find(_ needle: [UInt8], from p: Int) -> Int? {
            var q = p
            while q + needle.count <= bytes.count {
                if bytes[q] == needle[0], bytes[q..<(q + needle.count)].elementsEqual(needle) { return q }
                q += 1
            }
            return nil
        }

        /// Runs of blank lines made by removed block tags collapsed to one, spaces at line
        /// ends dropped, and the ends of the text trimmed.
        func tidy(_ text: [UInt8]) -> [UInt8] {
            var result: [UInt8] = []
            result.reserveCapacity(text.count)
            var inFence = false
            var lineStart = 0
            for b in text {
                guard b == 0x0A else {
                    result.append(b)
                    continue
                }
                let isFenceLine = result[lineStart...].drop(while: { $0 == 0x20 }).starts(with: Array("```".utf8))
                if !inFence && !isFenceLine {
                    while result.count > lineStart, result.last == 0x20 || result.last == 0x09 { result.removeLast() }
                }
                if isFenceLine { inFence.toggle() }
                let blankRun = result.count >= 2 && result[result.count - 1] == 0x0A && result[result.count - 2] == 0x0A
                if inFence || !blankRun { result.append(b) }
                lineStart = result.count
            }
            while let last = result.last, last == 0x0A || last == 0x20 { result.removeLast() }
            let lead = result.prefix { $0 == 0x0A || $0 == 0x20 }.count
            return Array(result.dropFirst(lead))
        }

        func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
        func isAlnum(_ b: UInt8) -> Bool { isAlpha(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) }
        func lower(_ b: UInt8) -> UInt8 { b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b }
    }
}
