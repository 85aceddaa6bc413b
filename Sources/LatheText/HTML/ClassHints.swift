/// What an element's `class` and `id` say about it.
///
/// Names are cut into tokens at anything that is not a letter or digit (`article-body` is
/// `article`, `body`), so `nav` matches `main-nav` but not `canvas`.
struct ClassHints {
    /// +25 per attribute that sounds like content, -25 per attribute that sounds like
    /// furniture; the scale is that of a paragraph's score (1 + commas + length/100).
    var weight: Float = 0
    /// Page furniture by name: comments, sharing, related links, menus, ads.
    var furniture = false
    /// Meant to be invisible (`hidden`, `sr-only`, `d-none`).
    var hidden = false

    /// Adds what one attribute value (lower-cased bytes) says. Walks the bytes in place: the
    /// splits into arrays of words and tokens this replaced were most of its cost.
    mutating func add(_ value: UnsafeBufferPointer<UInt8>) {
        var positive = false, negative = false, strong = false, named = false
        let n = value.count
        var start = 0
        while start < n {
            // One word: a run of bytes between spaces, tabs and newlines.
            guard !Self.isSpace(value[start]) else {
                start += 1
                continue
            }
            var end = start
            while end < n && !Self.isSpace(value[end]) { end += 1 }
            let word = value[start..<end]
            start = end
            // A slug (`sharing-with-a-single-developer`) is made from a heading's words, not a role.
            if Self.tokenCount(word) >= 4 { continue }
            var i = word.startIndex
            while i < word.endIndex {
                guard Self.isAlnum(word[i]) else {
                    i += 1
                    continue
                }
                var j = i
                while j < word.endIndex && Self.isAlnum(word[j]) { j += 1 }
                switch Self.classify(word[i..<j]) {
                case .content: positive = true
                case .furniture: negative = true; named = true
                case .strongFurniture: negative = true; named = true; strong = true
                case .weak: negative = true
                case .none: break
                }
                i = j
            }
        }
        // Hiding classes count only as whole words (split at spaces): `hidden-xs` hides on phones only.
        start = 0
        while start <= n && !hidden {
            var end = start
            while end < n && value[end] != 0x20 { end += 1 }
            if end - start <= Self.longestHidingWord, Self.hidingWords.contains(String(decoding: value[start..<end], as: UTF8.self)) {
                hidden = true
            }
            start = end + 1
        }
        // `article-body pagination-first` is content; `comment-body` is still comments.
        if strong || (named && !positive) { furniture = true }
        if positive { weight += 25 }
        if negative { weight -= 25 }
    }

    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A }

    /// Runs of letters and digits in `word`.
    private static func tokenCount(_ word: Slice<UnsafeBufferPointer<UInt8>>) -> Int {
        var count = 0
        var inToken = false
        for b in word {
            let alnum = isAlnum(b)
            if alnum && !inToken { count += 1 }
            inToken = alnum
        }
        return count
    }

    private static let longestHidingWord = hidingWords.map(\.utf8.count).max()!

    private static let hidingWords: Set<String> = ["hidden", "hide", "invisible", "sr-only", "visually-hidden", "visuallyhidden",
                                                   "screen-reader-text", "d-none", "is-hidden", "u-hidden", "offscreen", "element-invisible"]

    private enum Kind: Sendable { case none, content, furniture, strongFurniture, weak }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
    }

    /// A token is lower-case ASCII letters and digits, so prefixes and parts are compared as
    /// bytes (String's `contains` goes through Foundation and was a tenth of extraction time).
    private static func classify(_ token: Slice<UnsafeBufferPointer<UInt8>>) -> Kind {
        if let kind = exactWords.value(token) { return kind }
        for (prefix, kind) in prefixBytes where token.starts(with: prefix) { return kind }
        for (part, kind) in partBytes where Self.contains(token, part) { return kind }
        return .none
    }

    private static func contains(_ token: Slice<UnsafeBufferPointer<UInt8>>, _ part: [UInt8]) -> Bool {
        guard token.count >= part.count, let first = part.first else { return part.isEmpty }
        var i = token.startIndex
        let last = token.endIndex - part.count
        while i <= last {
            if token[i] == first && token[i..<(i + part.count)].elementsEqual(part) { return true }
            i += 1
        }
        return false
    }

    private static let exact: [String: Kind] = {
        var table: [String: Kind] = [:]
        for word in ["article", "articles", "content", "contents", "entry", "main", "post", "text", "body", "story",
                     "blog", "hentry", "prose", "markdown", "page", "permalink", "instapaper", "abstract",
                     "column", "columns"] { table[word] = .content }
        for word in ["nav", "navbar", "navigation", "menu", "menus", "ad", "ads", "adv", "advert", "banner",
                     "tags", "tag", "share", "sharing", "print", "toolbar", "pagination", "pager", "popup",
                     "modal", "masthead", "footer", "skip", "rating", "ratings", "breadcrumb", "breadcrumbs",
                     "sidebar", "widget", "widgets", "related", "comments", "comment", "subscribe", "signup",
                     "login", "cookie", "cookies", "newsletter", "sponsor", "sponsored", "promo", "outbrain",
                     "taboola", "disqus", "social", "recommended", "trending", "popular", "topbar", "header",
                     "masthead", "byline", "dateline", "copyright", "legal", "disclaimer", "jumplink"]
        { table[word] = .furniture }
        for word in ["meta", "foot", "footnote", "author", "contact", "shoutbox", "scroll", "caption", "credit",
                     "info", "more", "extra", "tools", "links", "teaser", "thumb", "thumbnail", "aside",
                     "photo", "gallery", "date", "time", "timestamp"] { table[word] = .weak }
        return table
    }()

    /// `exact` without a String per lookup: building and hashing one for each token was most
    /// of the cost of classifying a page's new class names.
    private static let exactWords = ShortWordTable(exact)

    private static let prefixes: [(String, Kind)] = [
        ("comment", .strongFurniture), ("sharing", .strongFurniture), ("share", .strongFurniture), ("social", .strongFurniture),
        ("sidebar", .strongFurniture), ("related", .strongFurniture), ("advert", .furniture), ("sponsor", .furniture),
        ("promo", .furniture), ("newsletter", .furniture), ("breadcrumb", .furniture), ("cookie", .furniture),
        ("subscri", .furniture), ("footer", .furniture), ("navbar", .furniture), ("navig", .furniture),
        ("disqus", .furniture), ("outbrain", .furniture), ("taboola", .furniture), ("recirc", .furniture),
        ("article", .content), ("content", .content), ("story", .content), ("entry", .content),
        ("postbody", .content), ("posttext", .content), ("maincontent", .content), ("bodytext", .content),
    ]

    private static let parts: [(String, Kind)] = [
        ("articlebody", .content), ("storybody", .content), ("entrycontent", .content),
        ("comment", .strongFurniture), ("sidebar", .strongFurniture), ("newsletter", .strongFurniture),
    ]

    private static let prefixBytes = prefixes.map { (Array($0.0.utf8), $0.1) }
    private static let partBytes = parts.map { (Array($0.0.utf8), $0.1) }
}

/// Class and id values repeat throughout a page, so each distinct one is classified once.
///
/// Keyed by the value's lower-cased bytes, kept back to back in one arena: a repeat costs one
/// pass over its bytes to hash them and one to compare, with no allocation; a `[[UInt8]: ClassHints]` spent more on building and hashing its keys than on
/// classifying.
struct HintCache {
    private struct Entry {
        var hash: UInt64
        var start: Int32
        var count: Int32
        var hints: ClassHints
    }
    /// Open addressing: an index into `entries`, or -1.
    private var slots = [Int32](repeating: -1, count: 256)
    private var entries: [Entry] = []
    private var arena: [UInt8] = []

    mutating func hints(for value: UnsafePointer<UInt8>) -> ClassHints {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var count = 0
        while true {
            let b = value[count]
            if b == 0 { break }
            hash = (hash ^ UInt64(Self.lower(b))) &* 0x100_0000_01B3
            count += 1
        }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
        while slots[slot] >= 0 {
            let e = entries[Int(slots[slot])]
            if e.hash == hash && Int(e.count) == count && matches(e, value) { return e.hints }
            slot = (slot + 1) & mask
        }
        let start = arena.count
        for i in 0..<count { arena.append(Self.lower(value[i])) }
        var fresh = ClassHints()
        arena.withUnsafeBufferPointer { fresh.add(UnsafeBufferPointer(rebasing: $0[start...])) }
        slots[slot] = Int32(entries.count)
        entries.append(Entry(hash: hash, start: Int32(start), count: Int32(count), hints: fresh))
        if entries.count * 2 > slots.count { grow() }
        return fresh
    }

    @inline(__always)
    private static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    private func matches(_ e: Entry, _ value: UnsafePointer<UInt8>) -> Bool {
        arena.withUnsafeBufferPointer { kept in
            let start = Int(e.start)
            for i in 0..<Int(e.count) where kept[start + i] != Self.lower(value[i]) { return false }
            return true
        }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (n, e) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: e.hash ^ (e.hash >> 29)) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(n)
        }
    }
}
