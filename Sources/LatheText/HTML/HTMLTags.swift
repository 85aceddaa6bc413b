/// What the extractor needs to know about an HTML element name.
///
/// libxml2's HTML parser lower-cases names, so the table is keyed by the lower-case name.
/// Names not in the table (custom elements, `<span>`, `<b>`, ...) are inline.
enum PageTag: UInt8 {
    case inline
    case a, br, img
    // Blocks that hold text.
    case p, div, section, article, main, body, html, center, address, details, summary, dialog
    case h1, h2, h3, h4, h5, h6
    case ul, ol, li, dl, dt, dd, menu
    case table, caption, thead, tbody, tfoot, tr, td, th
    case pre, code, blockquote, figure, figcaption, hr
    case header, footer, nav, aside, form, fieldset, legend
    /// Elements whose whole subtree is never text (scripts, media, widgets, the head).
    case junk
    case head, title, meta, link, time

    static func named(_ name: UnsafePointer<UInt8>) -> PageTag {
        var n = 0
        while name[n] != 0 && n < 12 { n += 1 }
        guard name[n] == 0 else { return .inline }
        return byName.value(UnsafeBufferPointer(start: name, count: n)) ?? .inline
    }

    /// `names` without a String per element (libxml2's HTML parser copies each element's name,
    /// so there is no interned pointer to cache by).
    private static let byName = ShortWordTable(names)

    private static let names: [String: PageTag] = [
        "a": .a, "br": .br, "img": .img,
        "p": .p, "div": .div, "section": .section, "article": .article, "main": .main, "body": .body,
        "html": .html, "center": .center, "address": .address, "details": .details, "summary": .summary,
        "dialog": .dialog,
        "h1": .h1, "h2": .h2, "h3": .h3, "h4": .h4, "h5": .h5, "h6": .h6,
        "ul": .ul, "ol": .ol, "li": .li, "dl": .dl, "dt": .dt, "dd": .dd, "menu": .menu,
        "table": .table, "caption": .caption, "thead": .thead, "tbody": .tbody, "tfoot": .tfoot,
        "tr": .tr, "td": .td, "th": .th,
        "pre": .pre, "code": .code, "blockquote": .blockquote, "figure": .figure, "figcaption": .figcaption,
        "hr": .hr,
        "header": .header, "footer": .footer, "nav": .nav, "aside": .aside, "form": .form,
        "fieldset": .fieldset, "legend": .legend,
        "head": .head, "title": .title, "meta": .meta, "link": .link, "time": .time,
        "script": .junk, "style": .junk, "noscript": .junk, "template": .junk, "svg": .junk, "math": .junk,
        "iframe": .junk, "object": .junk, "embed": .junk, "canvas": .junk, "video": .junk, "audio": .junk,
        "picture": .junk, "source": .junk, "map": .junk, "button": .junk, "input": .junk, "select": .junk,
        "textarea": .junk, "option": .junk, "label": .junk, "datalist": .junk, "output": .junk,
        "frameset": .junk, "frame": .junk, "applet": .junk, "param": .junk, "track": .junk, "area": .junk,
    ]

    /// Starts and ends a block of text (a line of the output, or a run of lines).
    var isBlock: Bool {
        switch self {
        case .inline, .a, .br, .img, .code, .junk, .head, .title, .meta, .link, .time, .td, .th: false
        default: true
        }
    }

    var headingLevel: Int {
        switch self {
        case .h1: 1
        case .h2: 2
        case .h3: 3
        case .h4: 4
        case .h5: 5
        case .h6: 6
        default: 0
        }
    }

    /// Page furniture by its tag alone; kept only when the main content sits inside one
    /// (whole pages wrapped in an ASP.NET `<form>`, say).
    var isFurniture: Bool {
        switch self {
        case .header, .footer, .nav, .aside, .form, .menu, .dialog: true
        default: false
        }
    }

    /// The head start a content candidate of this tag gets: text holders up, list and
    /// heading wrappers down.
    var candidateBias: Float {
        switch self {
        case .div, .article, .main, .section: 5
        case .pre, .td, .blockquote: 3
        case .address, .ol, .ul, .dl, .dd, .dt, .li, .form, .menu: -3
        case .h1, .h2, .h3, .h4, .h5, .h6, .th: -5
        default: 0
        }
    }
}
