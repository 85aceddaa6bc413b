import CLibXML2

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

/// Main-text extraction: libxml2's SAX parser reads the page, Lathe chooses the content.
///
/// The parse (`PageScan`) drops what is never text (scripts, styles, forms' widgets, hidden
/// elements, comments) and keeps the rest as element starts, ends and text. One walk over them
/// cuts the text into blocks: paragraphs, headings, list items, table rows, preformatted text.
/// Each block scores the elements above it by its length and commas; the best-scoring
/// element, discounted by its link density, is the content, joined by siblings that score close
/// to it. Furniture inside it (menus, share bars, comment sections, link lists) is cut before
/// the blocks are written out.
public enum HTMLExtractor {
    /// Call once before threads start parsing (libxml2 sets up its globals here).
    public static func initialize() { xmlInitParser() }

    /// Extracts from UTF-8 bytes (`Charset.decode` turns any page into them first).
    public static func extract(utf8 html: UnsafeBufferPointer<UInt8>, options: ExtractionOptions = ExtractionOptions()) -> ExtractedPage {
        let scan = PageScan.scan(utf8: html)
        var walker = TreeWalker(options: options)
        walker.walk(scan)
        var page = ExtractedPage(text: walker.composeText())
        page.title = scan.title ?? scan.ogTitle
        page.htmlLang = scan.htmlLang
        page.canonicalURL = scan.canonical ?? scan.ogURL
        page.published = scan.published
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
    var preDepth = 0
    var listDepth = 0
    var listCounters: [Int] = []

    init(options: ExtractionOptions) {
        self.options = options
        elements.reserveCapacity(1024)
        blocks.reserveCapacity(512)
        text.reserveCapacity(1 << 15)
    }

    // MARK: Walk

    /// An element the walk is inside, and what to restore when it ends.
    private struct OpenElement {
        var index: Int32
        var tag: PageTag
        var block: Bool
        var savedKind: BlockKind
        var savedOwner: Int32
    }

    mutating func walk(_ scan: PageScan) {
        var open: [OpenElement] = []
        scan.text.withUnsafeBufferPointer { pageText in
            for event in scan.events {
                switch event.kind {
                case .start:
                    open.append(enter(event, parent: open.last?.index ?? -1))
                case .end:
                    if let element = open.popLast() { leave(element) }
                case .text:
                    if let element = open.last {
                        appendText(UnsafeBufferPointer(rebasing: pageText[Int(event.textStart)..<Int(event.textEnd)]), element: element.index)
                    }
                case .lineBreak:
                    if preDepth == 0 { appendNewline() }
                }
            }
        }
        // The root, and whatever the parse left open.
        while let element = open.popLast() { leave(element) }
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

    private mutating func enter(_ event: PageEvent, parent: Int32) -> OpenElement {
        let tag = event.tag, hints = event.hints
        let index = Int32(elements.count)
        var element = Element(parent: parent, tag: tag, hints: hints)
        let furnitureByName = hints.furniture && tag != .body && tag != .html && tag != .article && tag != .main
        if tag.isFurniture || furnitureByName {
            element.furnitureAnchor = index
        } else if parent >= 0 {
            element.furnitureAnchor = elements[Int(parent)].furnitureAnchor
        }
        elements.append(element)

        // A layout cell (it holds blocks) is a block; a data cell is part of its row.
        let block = tag == .td || tag == .th ? event.holdsBlocks : tag.isBlock
        if block { flushBlock() }
        let open = OpenElement(index: index, tag: tag, block: block, savedKind: blockKind, savedOwner: blockOwner)
        if block {
            blockOwner = index
            blockKind = kind(for: tag, inherited: open.savedKind)
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
        default: break
        }
        return open
    }

    private mutating func leave(_ element: OpenElement) {
        switch element.tag {
        case .a: linkDepth -= 1
        case .pre: preDepth -= 1
        case .ul, .ol, .menu:
            listDepth -= 1
            listCounters.removeLast()
        default: break
        }
        if element.block {
            flushBlock()
            blockKind = element.savedKind
            blockOwner = element.savedOwner
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

    // MARK: Text

    private mutating func appendText(_ content: UnsafeBufferPointer<UInt8>, element: Int32) {
        if blockOwner < 0 { blockOwner = element }
        var chars: Int32 = 0, commas: Int32 = 0
        let n = content.count
        var i = 0
        if preDepth > 0 {
            while i < n {
                let b = content[i]
                i += 1
                if b == 0x0D { continue }
                if b == 0x0A && text.count == blockStart { continue }
                text.append(b)
                if b & 0xC0 != 0x80 && b > 0x20 { chars += 1 }
            }
        } else {
            while i < n {
                let b = content[i]
                i += 1
                if b <= 0x20 {
                    if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D || b == 0x0C { pendingSpace = true }
                    continue
                }
                if b == 0xC2 && i < n && content[i] == 0xA0 {  // no-break space
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
