import CLibXML2

#if canImport(Glibc)
import Glibc
#endif

/// One step of the walk over a page's visible elements, in document order.
struct PageEvent {
    enum Kind: UInt8 { case start, end, text, lineBreak }
    var kind: Kind
    var tag = PageTag.inline
    /// A table cell that holds blocks (a child element is a block or a `<br>`): a layout cell,
    /// a block of its own rather than a column of its row. Set when that child starts.
    var holdsBlocks = false
    var hints = ClassHints()
    /// `.text`: the bytes in `PageScan.text`.
    var textStart: Int32 = 0
    var textEnd: Int32 = 0
}

/// What the walk needs of a page, read by libxml2's HTML SAX parser in one pass: the starts
/// and ends of the elements the walk visits and their text, and the page's metadata. No
/// libxml2 tree is built, and nothing is kept of what is never text (scripts, styles, form
/// widgets, hidden elements, the head beyond its metadata).
///
/// The events are the ones libxml2's own tree builder would receive, so the tree they describe
/// is the one `htmlReadMemory` builds, down to its quirks: an element that starts after the root
/// element closed joins the root when nothing came before the root, and the parse stops when
/// more elements are open than the tree builder allows.
struct PageScan {
    var events: [PageEvent] = []
    /// The bytes of every text event, back to back.
    var text: [UInt8] = []

    var title: String?
    var ogTitle: String?
    /// The `lang` attribute of `<html>` (or `<body>`), as written.
    var htmlLang: String?
    var canonical: String?
    var ogURL: String?
    var published: String?

    /// How an open element's subtree takes part in the walk.
    private enum Role: UInt8 {
        /// Walked: its start is `events[event]`.
        case walked
        /// Its direct `<meta>`, `<link>` and `<title>` children are read, nothing else.
        case head
        /// Its text is the title being read.
        case title
        /// Neither it nor anything inside it is walked.
        case skipped
    }

    private struct OpenElement {
        var role: Role
        var tag: PageTag
        var event: Int32
    }

    /// What libxml2's tree builder calls the node stack: one entry per open element.
    private var open: [OpenElement] = []
    /// The first top-level element: later top-level elements may join it.
    private var root: OpenElement?
    private var rootClosed = false
    /// Whether the root element is the document's first child (no doctype, comment or
    /// processing instruction before it); libxml2 attaches later top-level elements to the
    /// first child, which only the walk sees when it is the root.
    private var rootIsFirstChild = true
    private var sawFirstChild = false
    /// The text of the `<title>` being read, its descendants' included.
    private var titleBytes: [UInt8] = []
    private var readingTitle = false
    private var hintCache = HintCache()
    private var parser: htmlParserCtxtPtr?
    /// The caller's bytes, which are never written to.
    private var page = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

    /// libxml2's tree builder stops the parse when an element would be the 258th open one
    /// (`xmlParserMaxDepth`); stopping at the same point bounds the parser's own work on
    /// tag soup (closing a tag searches the open ones) and keeps the walk's depth small.
    static let maxOpenElements = 257

    private static let parseOptions = Int32(HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue
        | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_NONET.rawValue | HTML_PARSE_COMPACT.rawValue
        | HTML_PARSE_NODEFDTD.rawValue | HTML_PARSE_IGNORE_ENC.rawValue)

    /// Scans UTF-8 bytes (`Charset.decode` turns any page into them first).
    static func scan(utf8 html: UnsafeBufferPointer<UInt8>) -> PageScan {
        var scan = PageScan()
        guard html.count > 0, html.count < Int(Int32.max), let parser = htmlNewParserCtxt() else { return scan }
        defer { htmlFreeParserCtxt(parser) }
        scan.events.reserveCapacity(html.count / 64)
        scan.text.reserveCapacity(html.count / 4)
        scan.parser = parser
        scan.page = html
        parser.pointee.sax.pointee = handler
        withUnsafeMutablePointer(to: &scan) { scanPointer in
            parser.pointee.userData = UnsafeMutableRawPointer(scanPointer)
            html.withMemoryRebound(to: CChar.self) {
                // The handler builds no document, so there is none to free.
                _ = htmlCtxtReadMemory(parser, $0.baseAddress, Int32($0.count), nil, "UTF-8", parseOptions)
            }
        }
        scan.parser = nil
        scan.page = UnsafeBufferPointer(start: nil, count: 0)
        return scan
    }

    nonisolated(unsafe) private static let handler: htmlSAXHandler = {
        var handler = htmlSAXHandler()
        handler.startElement = { context, name, attributes in
            guard let context, let name else { return }
            context.assumingMemoryBound(to: PageScan.self).pointee.startElement(name, attributes)
        }
        handler.endElement = { context, _ in
            context?.assumingMemoryBound(to: PageScan.self).pointee.endElement()
        }
        handler.characters = { context, bytes, count in
            guard let context, let bytes, count > 0 else { return }
            context.assumingMemoryBound(to: PageScan.self).pointee.characters(UnsafeBufferPointer(start: bytes, count: Int(count)))
        }
        // Only script and style bodies come as CDATA; the tree builder makes them text nodes.
        handler.cdataBlock = handler.characters
        handler.comment = { context, _ in
            context?.assumingMemoryBound(to: PageScan.self).pointee.topLevelNode()
        }
        handler.processingInstruction = { context, _, _ in
            context?.assumingMemoryBound(to: PageScan.self).pointee.topLevelNode()
        }
        // An HTML document's doctype goes before all its other children, wherever it is read.
        handler.internalSubset = { context, _, _, _ in
            guard let scan = context?.assumingMemoryBound(to: PageScan.self) else { return }
            scan.pointee.sawFirstChild = true
            scan.pointee.rootIsFirstChild = false
        }
        return handler
    }()

    // MARK: Events

    private mutating func startElement(_ name: UnsafePointer<UInt8>, _ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?) {
        if open.count >= Self.maxOpenElements {
            xmlStopParser(parser)
            return
        }
        let parent: OpenElement?
        if let top = open.last {
            parent = top
        } else if let root {
            parent = rootIsFirstChild ? root : OpenElement(role: .skipped, tag: .inline, event: -1)
        } else {
            sawFirstChild = true
            parent = nil
        }
        let tag = PageTag.named(Self.localName(name))
        if let parent, parent.role == .walked, parent.tag == .td || parent.tag == .th, tag.isBlock || tag == .br {
            events[Int(parent.event)].holdsBlocks = true
        }
        let role = role(of: tag, parent: parent?.role ?? .walked, attributes: attributes)
        // A walked element's start is the event just recorded.
        let element = OpenElement(role: role, tag: tag, event: role == .walked ? Int32(events.count - 1) : -1)
        open.append(element)
        if parent == nil { root = element }
        if tag == .junk && !readingTitle { skipRawText(name) }
    }

    /// Moves libxml2 past the body of a `<script>` or `<style>` element, which nothing reads
    /// (unless it sits in the title being read), instead of letting it copy the body out one
    /// character at a time: a third of a page's bytes, often half.
    ///
    /// libxml2 reads such a body as raw text up to the first `</` followed by the element's
    /// name, in any case (`htmlParseScript`, recovering). Here the start tag has been read up to
    /// its `>`; the byte before that `</name` becomes a `>` and the parser continues from there,
    /// so it takes the start tag's end, finds the end tag next and goes on exactly as it would
    /// have, less the text events of the body. Only done where the parser's path is plain: a
    /// tag that ends with `>` (not `/>`), a body that begins with neither `<` (a tag there may
    /// close the element) nor a NUL byte (which ends libxml2's parse there), and a buffer that
    /// is libxml2's own copy of the page (it converts the whole page to UTF-8 into a new buffer
    /// before parsing).
    private mutating func skipRawText(_ name: UnsafePointer<UInt8>) {
        let nameLength = strlen(name)
        guard nameLength == 6 && memcmp(name, "script", 6) == 0 || nameLength == 5 && memcmp(name, "style", 5) == 0,
              let input = parser?.pointee.input, let cur = input.pointee.cur, let end = input.pointee.end,
              cur + 1 < end, cur[0] == UInt8(ascii: ">"), cur[1] != UInt8(ascii: "<"), cur[1] != 0,
              !isCallersByte(cur)
        else { return }
        var p = cur + 1
        while p < end {
            guard let lessThan = memchr(p, Int32(UInt8(ascii: "<")), end - p) else {
                p = end
                break
            }
            p = UnsafePointer(lessThan.assumingMemoryBound(to: UInt8.self))
            if end - p >= 2 + nameLength, p[1] == UInt8(ascii: "/"), strncasecmp(p + 2, name, nameLength) == 0 { break }
            p += 1
        }
        guard p - 1 > cur else { return }
        UnsafeMutablePointer(mutating: p - 1).pointee = UInt8(ascii: ">")
        input.pointee.cur = p - 1
    }

    /// The tree builder names an element by the part after its prefix (`<o:p>` is a `p`), as
    /// libxml2's `xmlSplitQName` cuts it.
    private static func localName(_ name: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
        let colon = UInt8(ascii: ":")
        var i = 0
        while name[i] != 0 && name[i] != colon { i += 1 }
        guard i > 0, name[i] == colon, name[i + 1] != 0 else { return name }
        return name + i + 1
    }

    /// Decides how the element takes part (reading what it says about the page on the way) and
    /// records its start when it is walked.
    private mutating func role(of tag: PageTag, parent: Role, attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Role {
        switch parent {
        case .walked: break
        case .head:
            guard tag == .meta || tag == .link || tag == .title else { return .skipped }
            return readHeadElement(tag, attributes)
        case .title, .skipped: return .skipped
        }
        switch tag {
        case .junk: return .skipped
        case .head: return .head
        case .meta, .link, .title: return readHeadElement(tag, attributes)
        default: break
        }
        var hints = ClassHints()
        if readAttributes(attributes, tag: tag, hints: &hints) { return .skipped }
        if tag == .br {
            events.append(PageEvent(kind: .lineBreak))
            return .skipped
        }
        events.append(PageEvent(kind: .start, tag: tag, hints: hints))
        return .walked
    }

    private mutating func endElement() {
        guard let element = open.popLast() else { return }
        defer { if open.isEmpty { rootClosed = true } }
        switch element.role {
        case .walked:
            // The root stays open to the end of the walk: later top-level elements may join it.
            if !(open.isEmpty && !rootClosed) { events.append(PageEvent(kind: .end)) }
        case .title:
            if title == nil {
                let text = Self.normalized(titleBytes)
                if !text.isEmpty { title = text }
            }
            titleBytes.removeAll(keepingCapacity: true)
            readingTitle = false
        case .head, .skipped: break
        }
    }

    private mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let top = open.last else { return }
        if readingTitle {
            titleBytes.append(contentsOf: bytes)
            return
        }
        switch top.role {
        case .walked:
            // Text that continues the previous text event (nothing between) extends it.
            if let last = events.last, last.kind == .text, Int(last.textEnd) == text.count {
                text.append(contentsOf: bytes)
                events[events.count - 1].textEnd = Int32(text.count)
            } else {
                let start = Int32(text.count)
                text.append(contentsOf: bytes)
                events.append(PageEvent(kind: .text, textStart: start, textEnd: Int32(text.count)))
            }
        case .head, .title, .skipped:
            break
        }
    }

    /// A comment or processing instruction: outside any element it is a child of the document.
    private mutating func topLevelNode() {
        if open.isEmpty && !sawFirstChild {
            sawFirstChild = true
            rootIsFirstChild = false
        }
    }

    private func isCallersByte(_ byte: UnsafePointer<UInt8>) -> Bool {
        guard let start = page.baseAddress else { return false }
        return byte >= start && byte < start + page.count
    }

    // MARK: Attributes

    /// The attributes as name, value pairs; a value is nil for an attribute written without one.
    private struct Attributes: Sequence, IteratorProtocol {
        var pairs: UnsafeMutablePointer<UnsafePointer<UInt8>?>?
        mutating func next() -> (name: UnsafePointer<UInt8>, value: UnsafePointer<UInt8>?)? {
            guard let p = pairs, let name = p[0] else { return nil }
            pairs = p + 2
            return (name, p[1])
        }
    }

    /// Reads class, id, style and the hiding attributes; true when the element is hidden.
    private mutating func readAttributes(_ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, tag: PageTag, hints: inout ClassHints) -> Bool {
        for (name, value) in Attributes(pairs: attributes) {
            switch (name[0], name[1]) {
            case (UInt8(ascii: "c"), UInt8(ascii: "l")) where strcmp(name, "class") == 0,
                 (UInt8(ascii: "i"), UInt8(ascii: "d")) where name[2] == 0:
                if let value {
                    let found = hintCache.hints(for: value)
                    hints.weight += found.weight
                    hints.furniture = hints.furniture || found.furniture
                    hints.hidden = hints.hidden || found.hidden
                }
            case (UInt8(ascii: "h"), UInt8(ascii: "i")) where strcmp(name, "hidden") == 0:
                return true
            case (UInt8(ascii: "s"), UInt8(ascii: "t")) where strcmp(name, "style") == 0:
                if let value, Self.styleHides(value) { return true }
            case (UInt8(ascii: "a"), UInt8(ascii: "r")) where strcmp(name, "aria-hidden") == 0:
                if let value, strcmp(value, "true") == 0, tag != .body, tag != .html { return true }
            case (UInt8(ascii: "l"), UInt8(ascii: "a")) where strcmp(name, "lang") == 0:
                if htmlLang == nil, tag == .html || tag == .body, let value { htmlLang = Self.normalized(value) }
            default: break
            }
        }
        return hints.hidden && tag != .body && tag != .html
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

    /// Reads a `<meta>` or `<link>` now; a `<title>` is read as its text arrives.
    private mutating func readHeadElement(_ tag: PageTag, _ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?) -> Role {
        switch tag {
        case .title:
            readingTitle = true
            return .title
        case .link:
            if canonical == nil, Self.key(attributes, "rel") == "canonical",
               let href = Self.attribute(attributes, "href"), !href.isEmpty { canonical = href }
        case .meta:
            // The key first: most meta tags are none of these, and their content (often long)
            // is then never read.
            let key = Self.key(attributes, "property") ?? Self.key(attributes, "name") ?? Self.key(attributes, "itemprop") ?? ""
            func content() -> String? { Self.attribute(attributes, "content").flatMap { $0.isEmpty ? nil : $0 } }
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
        return .skipped
    }

    private static func value(_ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ name: StaticString) -> UnsafePointer<UInt8>?? {
        for attribute in Attributes(pairs: attributes) where strcmp(attribute.name, name.utf8Start) == 0 {
            return .some(attribute.value)
        }
        return nil
    }

    /// The attribute's value as `attribute(name)?.lowercased()` gives it, for matching against
    /// the short ASCII keys of meta and link tags; nil when there is no such attribute. Every
    /// meta tag of a page asks, so the common value (short ASCII) is read in place, without
    /// building a String from all of it.
    private static func key(_ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ name: StaticString) -> String? {
        guard let found = value(attributes, name) else { return nil }
        guard let content = found else { return "" }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        var start = 0
        while isSpace(content[start]) { start += 1 }
        var end = start
        var ascii = true
        while content[end] != 0 {
            if content[end] >= 0x80 { ascii = false }
            end += 1
        }
        guard ascii else { return normalized(content).lowercased() }
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

    /// The attribute's value with its white space runs as single spaces; "" for an attribute
    /// without a value, nil when there is no such attribute.
    private static func attribute(_ attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ name: StaticString) -> String? {
        guard let found = value(attributes, name) else { return nil }
        return found.map(normalized) ?? ""
    }

    static func normalized(_ value: UnsafePointer<UInt8>) -> String {
        normalized(UnsafeBufferPointer(start: value, count: strlen(value)))
    }

    static func normalized<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
