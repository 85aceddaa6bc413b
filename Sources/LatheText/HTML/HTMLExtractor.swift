import CLibXML2

#if canImport(Glibc)
import Glibc
#endif

/// How to turn a page into text.
public struct ExtractionOptions: Sendable {
    /// Keep headings (`#`), list items (`-`, `1.`) and code (fenced) as Markdown.
    public var markdown = false
    /// Keep all visible text in document order rather than choosing the main content; for
    /// fragments that are all content (a StackExchange post body).
    public var fullContent = false

    public init(markdown: Bool = false, fullContent: Bool = false) {
        self.markdown = markdown
        self.fullContent = fullContent
    }
}

/// A page's main text and what its markup says about it.
public struct ExtractedPage: Sendable, Equatable {
    public var text: String
    public var title: String?
    /// The `lang` attribute of `<html>` (or `<body>`), as written.
    public var htmlLang: String?
    public var canonicalURL: String?
    /// The publication date from meta tags, as written.
    public var published: String?

    public init(text: String, title: String? = nil, htmlLang: String? = nil, canonicalURL: String? = nil, published: String? = nil) {
        self.text = text
        self.title = title
        self.htmlLang = htmlLang
        self.canonicalURL = canonicalURL
        self.published = published
    }
}

/// Main-text extraction: libxml2 parses the page, Lathe chooses the content.
///
/// One walk over the tree drops what is never text (scripts, styles, forms' widgets,
/// hidden elements, comments) and cuts the rest into blocks: paragraphs, headings, list
/// items, table rows, preformatted text. Each block scores the elements above it by its
/// length and commas; the best-scoring element, discounted by its link density, is the
/// content, joined by siblings that score close to it. Furniture inside it (menus, share
/// bars, comment sections, link lists) is cut before the blocks are written out.
public enum HTMLExtractor {
    /// Call once before threads start parsing (libxml2 sets up its globals here).
    public static func initialize() { xmlInitParser() }

    private static let parseOptions = Int32(HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue
        | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_NONET.rawValue | HTML_PARSE_COMPACT.rawValue
        | HTML_PARSE_NODEFDTD.rawValue | HTML_PARSE_IGNORE_ENC.rawValue)

    /// Extracts from UTF-8 bytes (`Charset.decode` turns any page into them first).
    public static func extract(utf8 html: UnsafeBufferPointer<UInt8>, options: ExtractionOptions = ExtractionOptions()) -> ExtractedPage {
        guard html.count > 0, html.count < Int(Int32.max),
              let doc = html.withMemoryRebound(to: CChar.self, { htmlReadMemory($0.baseAddress, Int32($0.count), nil, "UTF-8", parseOptions) })
        else { return ExtractedPage(text: "") }
        defer { xmlFreeDoc(doc) }
        guard let root = xmlDocGetRootElement(doc) else { return ExtractedPage(text: "") }
        var walker = TreeWalker(options: options)
        walker.walk(root)
        var page = ExtractedPage(text: walker.composeText())
        page.title = walker.title ?? walker.ogTitle
        page.htmlLang = walker.htmlLang
        page.canonicalURL = walker.canonical ?? walker.ogURL
        page.published = walker.published
        return page
    }

    public static func extract(utf8 html: [UInt8], options: ExtractionOptions = ExtractionOptions()) -> ExtractedPage {
        html.withUnsafeBufferPointer { extract(utf8: $0, options: options) }
    }

    public static func extract(_ html: String, options: ExtractionOptions = ExtractionOptions()) -> ExtractedPage {
        extract(utf8: Array(html.utf8), options: options)
    }
}

/// One element of the page as the walk saw it; index order is document (pre-)order, so a
/// parent's index is below its children's.
struct Element {
    var node: xmlNodePtr
    var parent: Int32
    var tag: PageTag
    var hints: ClassHints
    /// Characters of kept text in the subtree, and of those inside links.
    var chars: Int32 = 0
    var linkChars: Int32 = 0
    var commas: Int32 = 0
    var score: Float = 0
    var isCandidate = false
    /// The innermost enclosing element that is furniture (itself included), or -1.
    var furnitureAnchor: Int32 = -1

    var linkDensity: Float { chars > 0 ? Float(linkChars) / Float(chars) : 0 }
}

enum BlockKind: Equatable {
    case paragraph
    case heading(Int)
    case listItem(depth: Int, ordinal: Int)  // ordinal 0: unordered
    case preformatted
    case tableRow
    case quote
}

/// A run of text that is one unit of the output (a line, or several for `<pre>` and `<br>`).
struct Block {
    var start: Int
    var end: Int
    var owner: Int32
    var kind: BlockKind
    var chars: Int32
    var linkChars: Int32
    var commas: Int32
}

struct TreeWalker {
    let options: ExtractionOptions
    var elements: [Element] = []
    var blocks: [Block] = []
    /// The text of every block, back to back.
    var text: [UInt8] = []

    // The block being filled.
    var blockStart = 0
    var blockOwner: Int32 = -1
    var blockKind = BlockKind.paragraph
    var blockChars: Int32 = 0
    var blockLinkChars: Int32 = 0
    var blockCommas: Int32 = 0
    var pendingSpace = false
    var rowHasCell = false

    var linkDepth = 0
    var hintCache = HintCache()
    var preDepth = 0
    var listDepth = 0
    var listCounters: [Int] = []

    var title: String?
    var ogTitle: String?
    var htmlLang: String?
    var canonical: String?
    var ogURL: String?
    var published: String?

    init(options: ExtractionOptions) {
        self.options = options
        elements.reserveCapacity(1024)
        blocks.reserveCapacity(512)
        text.reserveCapacity(1 << 15)
    }

    // MARK: Walk

    static let maxDepth = 400

    mutating func walk(_ root: xmlNodePtr) {
        visit(root, parent: -1, depth: 0)
        flushBlock()
        // Children follow their parents, so one backward pass sums subtrees.
        for i in stride(from: elements.count - 1, through: 1, by: -1) {
            let p = Int(elements[i].parent)
            guard p >= 0 else { continue }
            elements[p].chars += elements[i].chars
            elements[p].linkChars += elements[i].linkChars
            elements[p].commas += elements[i].commas
        }
    }

    private mutating func visit(_ node: xmlNodePtr, parent: Int32, depth: Int) {
        let tag = PageTag.named(node.pointee.name)
        if tag == .junk { return }
        if tag == .head {
            readHead(node)
            return
        }
        if tag == .meta || tag == .link || tag == .title {
            readHeadElement(node, tag: tag)
            return
        }
        var hints = ClassHints()
        if readAttributes(node, tag: tag, hints: &hints) { return }
        if tag == .br {
            if preDepth == 0 { appendNewline() }
            return
        }
        let index = Int32(elements.count)
        var element = Element(node: node, parent: parent, tag: tag, hints: hints)
        let furnitureByName = hints.furniture && tag != .body && tag != .html && tag != .article && tag != .main
        if tag.isFurniture || furnitureByName {
            element.furnitureAnchor = index
        } else if parent >= 0 {
            element.furnitureAnchor = elements[Int(parent)].furnitureAnchor
        }
        elements.append(element)

        var block = tag.isBlock
        // A layout cell (it holds blocks, or a lot of text) is a block; a data cell is part of its row.
        if tag == .td || tag == .th { block = cellHoldsBlocks(node) }
        if block { flushBlock() }
        let savedKind = blockKind, savedOwner = blockOwner
        if block {
            blockOwner = index
            blockKind = kind(for: tag, inherited: savedKind)
        }
        switch tag {
        case .a: linkDepth += 1
        case .pre: preDepth += 1
        case .ul, .ol, .menu:
            listDepth += 1
            listCounters.append(tag == .ol ? 1 : 0)
        case .td, .th:
            if !block && rowHasCell && blockChars > 0 { appendRaw(" | ") }
            rowHasCell = true
        case .tr: rowHasCell = false
        case .li:
            if var counter = listCounters.last, counter > 0 {
                blockKind = .listItem(depth: listDepth, ordinal: counter)
                counter += 1
                listCounters[listCounters.count - 1] = counter
            }
        case .img:
            break
        default: break
        }

        if depth < TreeWalker.maxDepth {
            var child = node.pointee.children
            while let c = child {
                switch c.pointee.type {
                case XML_ELEMENT_NODE: visit(c, parent: index, depth: depth + 1)
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE: appendText(c.pointee.content, element: index)
                default: break  // comments, processing instructions
                }
                child = c.pointee.next
            }
        }

        switch tag {
        case .a: linkDepth -= 1
        case .pre: preDepth -= 1
        case .ul, .ol, .menu:
            listDepth -= 1
            listCounters.removeLast()
        default: break
        }
        if block {
            flushBlock()
            blockKind = savedKind
            blockOwner = savedOwner
        }
    }

    private func kind(for tag: PageTag, inherited: BlockKind) -> BlockKind {
        switch tag {
        case .h1, .h2, .h3, .h4, .h5, .h6: return .heading(tag.headingLevel)
        case .li, .dt, .dd: return .listItem(depth: max(1, listDepth), ordinal: 0)
        case .pre: return .preformatted
        case .tr: return .tableRow
        case .blockquote: return .quote
        case .p, .div, .section, .article, .main, .figure, .figcaption, .header, .footer, .td, .th:
            // A paragraph inside a list item or quote is still part of it.
            switch inherited {
            case .listItem, .quote, .preformatted: return inherited
            default: return .paragraph
            }
        default: return .paragraph
        }
    }

    private func cellHoldsBlocks(_ node: xmlNodePtr) -> Bool {
        var child = node.pointee.children
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE {
                let tag = PageTag.named(c.pointee.name)
                if tag.isBlock || tag == .br { return true }
            }
            child = c.pointee.next
        }
        return false
    }

    /// Reads class, id, style and the hiding attributes; true when the element is hidden.
    private mutating func readAttributes(_ node: xmlNodePtr, tag: PageTag, hints: inout ClassHints) -> Bool {
        var attribute = node.pointee.properties
        while let a = attribute {
            let name = a.pointee.name!
            let value = a.pointee.children?.pointee.content
            switch (name[0], name[1]) {
            case (UInt8(ascii: "c"), UInt8(ascii: "l")) where strcmp(name, "class") == 0,
                 (UInt8(ascii: "i"), UInt8(ascii: "d")) where name[2] == 0:
                if let value { addHints(value, to: &hints) }
            case (UInt8(ascii: "h"), UInt8(ascii: "i")) where strcmp(name, "hidden") == 0:
                return true
            case (UInt8(ascii: "s"), UInt8(ascii: "t")) where strcmp(name, "style") == 0:
                if let value, Self.styleHides(value) { return true }
            case (UInt8(ascii: "a"), UInt8(ascii: "r")) where strcmp(name, "aria-hidden") == 0:
                if let value, strcmp(value, "true") == 0, tag != .body, tag != .html { return true }
            case (UInt8(ascii: "l"), UInt8(ascii: "a")) where strcmp(name, "lang") == 0:
                if htmlLang == nil, tag == .html || tag == .body, let value { htmlLang = Self.trimmed(value) }
            default: break
            }
            attribute = a.pointee.next
        }
        return hints.hidden && tag != .body && tag != .html
    }

    private mutating func addHints(_ value: UnsafePointer<UInt8>, to hints: inout ClassHints) {
        let found = hintCache.hints(for: value)
        hints.weight += found.weight
        hints.furniture = hints.furniture || found.furniture
        hints.hidden = hints.hidden || found.hidden
    }

    /// `display:none` or `visibility:hidden`, spaces and case aside.
    static func styleHides(_ style: UnsafePointer<UInt8>) -> Bool {
        var squeezed: [UInt8] = []
        var i = 0
        while style[i] != 0 && squeezed.count < 512 {
            let b = style[i]
            if b != 0x20 && b != 0x09 && b != 0x0A && b != 0x0D { squeezed.append((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b) }
            i += 1
        }
        return contains(squeezed, "display:none") || contains(squeezed, "visibility:hidden")
    }

    static func contains(_ haystack: [UInt8], _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard haystack.count >= n else { return false }
        let p = needle.utf8Start
        outer: for i in 0...(haystack.count - n) {
            for k in 0..<n where haystack[i + k] != p[k] { continue outer }
            return true
        }
        return false
    }

    // MARK: Head

    private mutating func readHead(_ head: xmlNodePtr) {
        var child = head.pointee.children
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE {
                let tag = PageTag.named(c.pointee.name)
                if tag == .meta || tag == .link || tag == .title { readHeadElement(c, tag: tag) }
            }
            child = c.pointee.next
        }
    }

    private mutating func readHeadElement(_ node: xmlNodePtr, tag: PageTag) {
        switch tag {
        case .title:
            if title == nil, let text = Self.textContent(node), !text.isEmpty { title = text }
        case .link:
            if canonical == nil, attributeKey(node, "rel") == "canonical",
               let href = attribute(node, "href"), !href.isEmpty { canonical = href }
        case .meta:
            // The key first: most meta tags are none of these, and their content (often long)
            // is then never read.
            let key = attributeKey(node, "property") ?? attributeKey(node, "name") ?? attributeKey(node, "itemprop") ?? ""
            func content() -> String? { attribute(node, "content").flatMap { $0.isEmpty ? nil : $0 } }
            switch key {
            case "og:title": if ogTitle == nil { ogTitle = content() }
            case "og:url": if ogURL == nil { ogURL = content() }
            case "article:published_time", "og:published_time", "datepublished", "date", "pubdate", "publishdate",
                 "publish-date", "dc.date", "dc.date.issued", "dcterms.created", "dcterms.date", "sailthru.date",
                 "parsely-pub-date", "citation_publication_date", "article.published":
                if published == nil { published = content() }
            default: break
            }
        default: break
        }
    }

    /// The attribute's value as `attribute(node, name)?.lowercased()` gives it, for matching
    /// against the short ASCII keys of meta and link tags; nil when there is no such attribute.
    /// Every meta tag of a page asks, so the common value (one text node of ASCII bytes) is
    /// read in place, without building a String from all of it.
    private func attributeKey(_ node: xmlNodePtr, _ name: String) -> String? {
        var attribute = node.pointee.properties
        while let a = attribute {
            if strcmp(a.pointee.name, name) == 0 {
                guard let text = a.pointee.children else { return "" }
                guard text.pointee.next == nil, let content = text.pointee.content else {
                    return self.attribute(node, name)?.lowercased()
                }
                func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
                var start = 0
                while isSpace(content[start]) { start += 1 }
                var end = start
                var ascii = true
                while content[end] != 0 {
                    if content[end] >= 0x80 { ascii = false }
                    end += 1
                }
                guard ascii else { return self.attribute(node, name)?.lowercased() }
                while end > start && isSpace(content[end - 1]) { end -= 1 }
                // No key is longer, and none has a space inside.
                guard end - start <= 32 else { return "" }
                var key: [UInt8] = []
                for i in start..<end {
                    let b = content[i]
                    if isSpace(b) { return "" }
                    key.append((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b)
                }
                return String(decoding: key, as: UTF8.self)
            }
            attribute = a.pointee.next
        }
        return nil
    }

    private func attribute(_ node: xmlNodePtr, _ name: String) -> String? {
        var attribute = node.pointee.properties
        while let a = attribute {
            if strcmp(a.pointee.name, name) == 0 {
                var value: [UInt8] = []
                var child = a.pointee.children
                while let c = child {
                    if let content = c.pointee.content { value.append(contentsOf: UnsafeBufferPointer(start: content, count: strlen(content))) }
                    child = c.pointee.next
                }
                return String(decoding: value, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            }
            attribute = a.pointee.next
        }
        return nil
    }

    static func trimmed(_ value: UnsafePointer<UInt8>) -> String {
        String(cString: value).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func textContent(_ node: xmlNodePtr) -> String? {
        var bytes: [UInt8] = []
        func collect(_ n: xmlNodePtr) {
            var child = n.pointee.children
            while let c = child {
                if c.pointee.type == XML_TEXT_NODE || c.pointee.type == XML_CDATA_SECTION_NODE, let content = c.pointee.content {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: content, count: strlen(content)))
                } else if c.pointee.type == XML_ELEMENT_NODE {
                    collect(c)
                }
                child = c.pointee.next
            }
        }
        collect(node)
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    // MARK: Text

    private mutating func appendText(_ content: UnsafeMutablePointer<UInt8>?, element: Int32) {
        guard let content else { return }
        if blockOwner < 0 { blockOwner = element }
        var chars: Int32 = 0, commas: Int32 = 0
        var i = 0
        if preDepth > 0 {
            while content[i] != 0 {
                let b = content[i]
                i += 1
                if b == 0x0D { continue }
                if b == 0x0A && text.count == blockStart { continue }
                text.append(b)
                if b & 0xC0 != 0x80 && b > 0x20 { chars += 1 }
            }
        } else {
            while true {
                let b = content[i]
                if b == 0 { break }
                i += 1
                if b <= 0x20 {
                    if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D || b == 0x0C { pendingSpace = true }
                    continue
                }
                if b == 0xC2 && content[i] == 0xA0 {  // no-break space
                    i += 1
                    pendingSpace = true
                    continue
                }
                if pendingSpace {
                    if text.count > blockStart && text[text.count - 1] != 0x0A { text.append(0x20) }
                    pendingSpace = false
                }
                text.append(b)
                if b & 0xC0 != 0x80 { chars += 1 }
                if b == 0x2C { commas += 1 }
                // Full-width and ideographic commas (U+FF0C, U+3001) count as commas too.
                if b == 0x8C && i >= 3 && content[i - 3] == 0xEF && content[i - 2] == 0xBC { commas += 1 }
                if b == 0x81 && i >= 3 && content[i - 3] == 0xE3 && content[i - 2] == 0x80 { commas += 1 }
            }
        }
        blockChars += chars
        blockCommas += commas
        elements[Int(element)].chars += chars
        elements[Int(element)].commas += commas
        if linkDepth > 0 {
            blockLinkChars += chars
            elements[Int(element)].linkChars += chars
        }
    }

    private mutating func appendRaw(_ s: StaticString) {
        text.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        pendingSpace = false
    }

    private mutating func appendNewline() {
        if text.count > blockStart && text[text.count - 1] != 0x0A { text.append(0x0A) }
        pendingSpace = false
    }

    private mutating func flushBlock() {
        // Drop trailing spaces and newlines.
        while text.count > blockStart, let last = text.last, last == 0x20 || last == 0x0A { text.removeLast() }
        if blockChars > 0 && text.count > blockStart && blockOwner >= 0 {
            blocks.append(Block(start: blockStart, end: text.count, owner: blockOwner, kind: blockKind,
                                chars: blockChars, linkChars: blockLinkChars, commas: blockCommas))
        } else {
            text.removeSubrange(blockStart...)
        }
        blockStart = text.count
        blockChars = 0
        blockLinkChars = 0
        blockCommas = 0
        pendingSpace = false
        rowHasCell = false
    }
}
