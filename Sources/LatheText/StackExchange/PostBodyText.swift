import CLibXML2
import Glibc

/// HTML to text in "full-content" mode: every visible part of the input is kept (nothing is
/// judged boilerplate), with its structure written as light Markdown:
///
/// - paragraphs, headings (`## `), `<hr>` (`---`) and tables (`| a | b |` rows) as blocks
///   separated by a blank line; `<div>`-like containers and `<br>` as line breaks;
/// - `<pre>` as a fenced code block, its text verbatim, the fence longer than any backtick
///   run inside, and a `lang-xxx` class (StackExchange's hint) as the info string;
/// - inline `<code>` in backticks; lists as `- item` / `1. item`, nested by indentation;
///   `<blockquote>` lines prefixed with `> `;
/// - links as their text; images, scripts, styles and form controls dropped; entities decoded
///   (by libxml2), runs of white space outside `<pre>` collapsed, no-break spaces as spaces.
///
/// `PostBodyText` below is the entry point for an HTML fragment such as a post body; a post is
/// small and wants every node, so it walks libxml2's tree (the web-page extractor, which keeps
/// little of a large page, reads libxml2's SAX events instead: `PageScan`).
public struct FullContentText {
    private var out: [UInt8] = []
    /// Line prefixes of the enclosing blocks, outermost first: `> ` for a quote, the marker
    /// and then the indentation for a list item.
    private var prefixes: [Prefix] = []
    /// Line breaks owed before the next content: 1 starts a line, 2 leaves a blank line.
    private var pendingBreaks = 0
    /// The prefix depth the owed blank line belongs to (the shallowest block it separates).
    private var breakDepth = 0
    private var pendingSpace = false
    private var lineHasContent = false

    private struct Prefix {
        var first: [UInt8]
        var rest: [UInt8]
        var usedFirst = false
    }

    public init() {}

    /// The text of `node` and its descendants.
    public static func render(_ node: xmlNodePtr) -> String {
        var writer = FullContentText()
        writer.walk(node)
        return writer.finish()
    }

    /// The children of `node`, for callers that hold a container they do not want rendered
    /// as a block itself.
    public static func renderChildren(_ node: xmlNodePtr) -> String {
        var writer = FullContentText()
        writer.walkChildren(node)
        return writer.finish()
    }

    mutating func finish() -> String {
        while let last = out.last, last == 0x20 || last == 0x0A { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: The walk

    private mutating func walkChildren(_ node: xmlNodePtr) {
        var child = node.pointee.children
        while let current = child {
            walk(current)
            child = current.pointee.next
        }
    }

    mutating func walk(_ node: xmlNodePtr) {
        switch node.pointee.type {
        case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
            if let content = node.pointee.content { text(content) }
        case XML_ELEMENT_NODE:
            element(node)
        case XML_DOCUMENT_NODE, XML_HTML_DOCUMENT_NODE, XML_DOCUMENT_FRAG_NODE:
            walkChildren(node)
        default:
            break  // comments, processing instructions, DTDs
        }
    }

    private mutating func element(_ node: xmlNodePtr) {
        let tag = node.pointee.name.map { HTMLTag(name: $0) } ?? .other
        switch tag {
        case .dropped:
            break
        case .paragraph:
            block(2) { $0.walkChildren(node) }
        case .container:
            block(1) { $0.walkChildren(node) }
        case .heading(let level):
            block(2) {
                $0.raw(Array(repeating: UInt8(ascii: "#"), count: level) + [0x20])
                $0.walkChildren(node)
            }
        case .lineBreak:
            if !out.isEmpty || pendingBreaks > 0 { owe(min(2, pendingBreaks + 1)) }
        case .rule:
            block(2) { $0.raw(Array("---".utf8)) }
        case .preformatted:
            codeBlock(node)
        case .code:
            inlineCode(node)
        case .list(let ordered):
            list(node, ordered: ordered)
        case .listItem:
            // An item outside a list: a bulleted line all the same.
            item(node, marker: Array("- ".utf8))
        case .quote:
            owe(2)
            prefixes.append(Prefix(first: Array("> ".utf8), rest: Array("> ".utf8)))
            walkChildren(node)
            prefixes.removeLast()
            owe(2)
        case .table:
            table(node)
        case .other:
            walkChildren(node)
        }
    }

    private mutating func block(_ breaks: Int, _ body: (inout FullContentText) -> Void) {
        owe(breaks)
        body(&self)
        owe(breaks)
    }

    private mutating func list(_ node: xmlNodePtr, ordered: Bool) {
        // Nested lists hug their item; top-level lists are blocks.
        let inItem = prefixes.contains { $0.first != $0.rest }
        owe(inItem ? 1 : 2)
        var number = ordered ? (attribute(node, "start").flatMap { Int($0) } ?? 1) : 0
        var child = node.pointee.children
        while let current = child {
            child = current.pointee.next
            if current.pointee.type == XML_ELEMENT_NODE, let name = current.pointee.name, HTMLTag(name: name) == .listItem {
                item(current, marker: ordered ? Array("\(number). ".utf8) : Array("- ".utf8))
                number += 1
            } else {
                walk(current)  // stray text or a nested list directly inside the list
            }
        }
        owe(inItem ? 1 : 2)
    }

    private mutating func item(_ node: xmlNodePtr, marker: [UInt8]) {
        owe(1)
        prefixes.append(Prefix(first: marker, rest: Array(repeating: 0x20, count: marker.count)))
        walkChildren(node)
        prefixes.removeLast()
        owe(1)
    }

    private mutating func codeBlock(_ node: xmlNodePtr) {
        var code = textContent(node)
        // HTML drops a newline right after <pre>; trailing newlines are the fence's job.
        if code.first == 0x0A { code.removeFirst() }
        while let last = code.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { code.removeLast() }
        var longestRun = 0, run = 0
        for byte in code {
            run = byte == UInt8(ascii: "`") ? run + 1 : 0
            longestRun = max(longestRun, run)
        }
        let fence = Array(repeating: UInt8(ascii: "`"), count: max(3, longestRun + 1))
        owe(2)
        raw(fence + language(node))
        var lineStart = 0
        for i in 0...code.count where i == code.count || code[i] == 0x0A {
            var end = i
            if end > lineStart && code[end - 1] == 0x0D { end -= 1 }
            newLine(blank: end == lineStart)
            out.append(contentsOf: code[lineStart..<end])
            lineStart = i + 1
        }
        newLine(blank: false)
        out.append(contentsOf: fence)
        lineHasContent = true
        owe(2)
    }

    /// The language of a code block from a `lang-xxx` / `language-xxx` class on the `<pre>` or
    /// its `<code>`, as StackExchange and most highlighters mark it.
    private func language(_ pre: xmlNodePtr) -> [UInt8] {
        var classes = attribute(pre, "class") ?? ""
        if let code = pre.pointee.children, code.pointee.type == XML_ELEMENT_NODE {
            classes += " " + (attribute(code, "class") ?? "")
        }
        for word in classes.split(separator: " ") {
            for prefix in ["lang-", "language-"] where word.hasPrefix(prefix) {
                let name = word.dropFirst(prefix.count)
                if !name.isEmpty && name != "none" && name != "default" && name.allSatisfy({ $0.isLetter || $0.isNumber || "+#-_.".contains($0) }) {
                    return Array(name.utf8)
                }
            }
        }
        return []
    }

    private mutating func inlineCode(_ node: xmlNodePtr) {
        var code = textContent(node)
        for i in code.indices where code[i] == 0x0A || code[i] == 0x0D || code[i] == 0x09 { code[i] = 0x20 }
        guard code.contains(where: { $0 != 0x20 }) else { return }
        var longestRun = 0, run = 0
        for byte in code {
            run = byte == UInt8(ascii: "`") ? run + 1 : 0
            longestRun = max(longestRun, run)
        }
        let ticks = Array(repeating: UInt8(ascii: "`"), count: longestRun + 1)
        let pad: [UInt8] = (code.first == UInt8(ascii: "`") || code.last == UInt8(ascii: "`")) ? [0x20] : []
        raw(ticks + pad + code + pad + ticks)
    }

    private mutating func table(_ node: xmlNodePtr) {
        owe(2)
        var rows: [(cells: [[UInt8]], header: Bool)] = []
        collectRows(node, into: &rows)
        for (index, row) in rows.enumerated() where !row.cells.isEmpty {
            owe(1)
            raw(Array("| ".utf8) + Array(row.cells.joined(separator: Array(" | ".utf8))) + Array(" |".utf8))
            if index == 0 && row.header {
                owe(1)
                raw(Array(([String](repeating: "| ---", count: row.cells.count).joined(separator: " ") + " |").utf8))
            }
        }
        owe(2)
    }

    private func collectRows(_ node: xmlNodePtr, into rows: inout [(cells: [[UInt8]], header: Bool)]) {
        var child = node.pointee.children
        while let current = child {
            child = current.pointee.next
            guard current.pointee.type == XML_ELEMENT_NODE, let name = current.pointee.name else { continue }
            switch String(cString: name) {
            case "tr":
                var cells: [[UInt8]] = []
                var header = true
                var cell = current.pointee.children
                while let c = cell {
                    cell = c.pointee.next
                    guard c.pointee.type == XML_ELEMENT_NODE, let cellName = c.pointee.name else { continue }
                    let cellTag = String(cString: cellName)
                    let isHeader = cellTag == "th"
                    guard isHeader || cellTag == "td" else { continue }
                    header = header && isHeader
                    var text = Array(FullContentText.renderChildren(c).utf8)
                    for i in text.indices where text[i] == 0x0A { text[i] = 0x20 }
                    cells.append(text.flatMap { $0 == UInt8(ascii: "|") ? [UInt8(ascii: "\\"), $0] : [$0] })
                }
                rows.append((cells, header && !cells.isEmpty))
            case "table":
                break  // a nested table is its own block, not rows of this one
            default:
                collectRows(current, into: &rows)  // thead, tbody, tfoot
            }
        }
    }

    // MARK: Output with owed breaks and line prefixes

    private mutating func owe(_ breaks: Int) {
        if breaks > pendingBreaks || pendingBreaks == 0 { breakDepth = prefixes.count }
        breakDepth = min(breakDepth, prefixes.count)
        pendingBreaks = max(pendingBreaks, breaks)
        pendingSpace = false
    }

    /// Pays owed breaks and writes the line prefix before content.
    private mutating func beginContent() {
        if out.isEmpty {
            pendingBreaks = 0
        } else if pendingBreaks > 0 {
            out.append(0x0A)
            if pendingBreaks > 1 {
                writePrefix(depth: breakDepth, trimmed: true)
                out.append(0x0A)
            }
            lineHasContent = false
        }
        if pendingBreaks > 0 || !lineHasContent {
            writePrefix(depth: prefixes.count, trimmed: false)
        }
        pendingBreaks = 0
        lineHasContent = true
    }

    /// Ends the line and starts the next one inside the current blocks (code block lines).
    private mutating func newLine(blank: Bool) {
        out.append(0x0A)
        writePrefix(depth: prefixes.count, trimmed: blank)
    }

    private mutating func writePrefix(depth: Int, trimmed: Bool) {
        let start = out.count
        for i in 0..<depth {
            if prefixes[i].usedFirst || trimmed {
                out.append(contentsOf: prefixes[i].rest)
            } else {
                out.append(contentsOf: prefixes[i].first)
                prefixes[i].usedFirst = true
            }
        }
        if trimmed { while out.count > start, out.last == 0x20 { out.removeLast() } }
    }

    /// Text whose white space is collapsed, as a browser lays it out.
    private mutating func text(_ content: UnsafePointer<xmlChar>) {
        var p = content
        while p.pointee != 0 {
            let byte = p.pointee
            if byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == 0x0C {
                if lineHasContent || pendingBreaks == 0 && !out.isEmpty { pendingSpace = true }
                p += 1
                continue
            }
            if byte == 0xC2 && (p + 1).pointee == 0xA0 {  // no-break space
                if lineHasContent { pendingSpace = true }
                p += 2
                continue
            }
            let space = pendingSpace && pendingBreaks == 0 && lineHasContent && out.last != 0x20
            if pendingBreaks > 0 || !lineHasContent { beginContent() }
            if space { out.append(0x20) }
            pendingSpace = false
            out.append(byte)
            p += 1
        }
    }

    /// Bytes written as they are (markers, fences, code spans), after any owed break or space.
    private mutating func raw(_ bytes: [UInt8]) {
        let space = pendingSpace && pendingBreaks == 0 && lineHasContent
        if pendingBreaks > 0 || !lineHasContent { beginContent() }
        if space { out.append(0x20) }
        pendingSpace = false
        out.append(contentsOf: bytes)
    }

    private func textContent(_ node: xmlNodePtr) -> [UInt8] {
        guard let content = xmlNodeGetContent(node) else { return [] }
        defer { free(content) }  // libxml2 allocates with malloc (xmlFree is free unless xmlMemSetup changes it)
        return Array(UnsafeBufferPointer(start: content, count: strlen(content)))
    }

    private func attribute(_ node: xmlNodePtr, _ name: String) -> String? {
        guard let value = name.withCString({ xmlGetProp(node, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) })
        else { return nil }
        defer { free(value) }
        return String(cString: value)
    }
}

/// How the full-content walk treats an element.
enum HTMLTag: Equatable {
    case paragraph, container, heading(Int), lineBreak, rule, preformatted, code
    case list(ordered: Bool), listItem, quote, table
    /// Not text a reader sees: scripts, styles, images, form controls, embedded objects.
    case dropped
    /// Inline or unknown: its children are walked in place.
    case other

    init(name: UnsafePointer<xmlChar>) {
        self = Self.byName[NameKey(name)] ?? .other
    }

    /// An element name without a String: its length and first 8 bytes, which tell every name
    /// in the table apart (libxml2's HTML parser lower-cases names). Looked up once per element,
    /// so it must not allocate.
    private struct NameKey: Hashable {
        var length: Int
        var head: UInt64

        init(_ name: UnsafePointer<xmlChar>) {
            length = strlen(name)
            head = 0
            for i in 0..<min(length, 8) { head |= UInt64(name[i]) << (8 * UInt64(i)) }
        }

        init(_ name: String) {
            self = Array(name.utf8CString).withUnsafeBufferPointer {
                UnsafeRawPointer($0.baseAddress!).withMemoryRebound(to: xmlChar.self, capacity: $0.count) { NameKey($0) }
            }
        }
    }

    private static let byName: [NameKey: HTMLTag] = {
        var table: [String: HTMLTag] = [:]
        for name in ["p", "address", "figure", "details", "fieldset", "center"] { table[name] = .paragraph }
        for name in ["div", "section", "article", "main", "header", "footer", "nav", "aside", "summary", "figcaption",
                     "dl", "dt", "dd", "form", "caption", "legend", "body", "html"] { table[name] = .container }
        for level in 1...6 { table["h\(level)"] = .heading(level) }
        for name in ["script", "style", "noscript", "template", "head", "title", "iframe", "object", "embed", "svg",
                     "canvas", "img", "picture", "video", "audio", "select", "input", "button", "textarea", "map"] {
            table[name] = .dropped
        }
        table["br"] = .lineBreak
        table["hr"] = .rule
        table["pre"] = .preformatted
        table["listing"] = .preformatted
        table["xmp"] = .preformatted
        table["code"] = .code
        table["ul"] = .list(ordered: false)
        table["menu"] = .list(ordered: false)
        table["ol"] = .list(ordered: true)
        table["li"] = .listItem
        table["blockquote"] = .quote
        table["table"] = .table
        return Dictionary(uniqueKeysWithValues: table.map { (NameKey($0.key), $0.value) })
    }()
}

/// Converts HTML fragments (post bodies) with one reused libxml2 HTML parser context.
/// Not thread-safe: one per thread.
public final class PostBodyText {
    private let parser: htmlParserCtxtPtr

    /// Recover from any tag soup, say nothing about it, never touch the network.
    private static let options = Int32(HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue
        | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_NONET.rawValue | HTML_PARSE_COMPACT.rawValue)

    public init() {
        parser = htmlNewParserCtxt()
    }

    deinit { htmlFreeParserCtxt(parser) }

    /// The text of an HTML fragment in UTF-8, as `FullContentText` writes it.
    public func text(html: [UInt8]) -> String {
        guard !html.isEmpty else { return "" }
        let document = html.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                htmlCtxtReadMemory(parser, $0, Int32(buffer.count), nil, "UTF-8", Self.options)
            }
        }
        guard let document else { return "" }
        defer { xmlFreeDoc(document) }
        return FullContentText.render(UnsafeMutableRawPointer(document).assumingMemoryBound(to: xmlNode.self))
    }

    public func text(html: String) -> String { text(html: Array(html.utf8)) }
}
