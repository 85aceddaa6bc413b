import Foundation

/// Choosing the main content among the blocks a `TreeWalker` collected, and writing it out.
extension TreeWalker {
    /// Blocks shorter than this (in characters) say nothing about where the content is.
    static let minScoringChars: Int32 = 25

    mutating func composeText() -> String {
        guard !blocks.isEmpty else { return "" }
        releaseOversizedFurniture()
        if options.fullContent {
            return render(Array(blocks.indices))
        }
        scoreCandidates()
        let roots = chooseRoots()
        if TreeWalker.debug { dump(roots: roots) }
        var chosen = selectBlocks(roots: roots, cleaning: true)
        let chosenChars = chosen.reduce(0) { $0 + Int(blocks[$1].chars) }
        // A page whose content the scoring missed (short, or cut into tiny pieces): fall back
        // to every block that is not furniture and not mostly links.
        if chosenChars < 250 {
            let fallback = blocks.indices.filter { i in
                let b = blocks[i]
                return elements[Int(b.owner)].furnitureAnchor < 0 && b.linkChars * 2 <= b.chars
            }
            let fallbackChars = fallback.reduce(0) { $0 + Int(blocks[$1].chars) }
            if fallbackChars > chosenChars * 2 && fallbackChars < 20_000 { chosen = fallback }
        }
        if chosen.isEmpty { chosen = Array(blocks.indices) }
        return render(chosen)
    }

    /// An element named like furniture that holds most of the page's text is a badly named
    /// wrapper (`<div id="main-sidebar-layout">`), not furniture.
    private mutating func releaseOversizedFurniture() {
        let total = max(1, elements[0].chars - elements[0].linkChars)
        var released = [Bool](repeating: false, count: elements.count)
        for i in elements.indices where elements[i].furnitureAnchor == Int32(i) {
            if (elements[i].chars - elements[i].linkChars) * 2 > total { released[i] = true }
        }
        for i in elements.indices {
            let anchor = elements[i].furnitureAnchor
            guard anchor >= 0, released[Int(anchor)] else { continue }
            // Inherit the parent's anchor instead (the parent comes first, so it is final).
            let parent = elements[Int(anchor)].parent
            let replacement = parent >= 0 ? elements[Int(parent)].furnitureAnchor : -1
            if Int(anchor) == i {
                elements[i].furnitureAnchor = replacement
            } else {
                elements[i].furnitureAnchor = elements[Int(elements[i].parent)].furnitureAnchor
                if elements[i].hints.furniture || elements[i].tag.isFurniture, !released[i] { elements[i].furnitureAnchor = Int32(i) }
            }
        }
    }

    /// Each block of some length credits the elements above it: its parent in full, the
    /// grandparent half, further ancestors less.
    private mutating func scoreCandidates() {
        // List items do not vote: a gallery's captions or a link list would outvote the article.
        for block in blocks where block.chars >= Self.minScoringChars {
            if case .listItem = block.kind { continue }
            let owner = Int(block.owner)
            guard elements[owner].furnitureAnchor < 0 else { continue }
            let score = 1 + Float(block.commas) + min(Float(block.chars) / 100, 3)
            var e = elements[owner].parent
            var level = 0
            // A block owned by a content-sized element (a `<div>` of text and `<br>`s) credits itself too.
            if elements[owner].tag == .div || elements[owner].tag == .td { e = Int32(owner) }
            while e >= 0 && level < 5 {
                let i = Int(e)
                if !elements[i].isCandidate {
                    elements[i].isCandidate = true
                    elements[i].score = elements[i].tag.candidateBias + elements[i].hints.weight
                }
                let divider: Float = level == 0 ? 1 : (level == 1 ? 2 : Float(level * 3))
                elements[i].score += score / divider
                e = elements[i].parent
                level += 1
            }
        }
        for i in elements.indices where elements[i].isCandidate {
            elements[i].score *= 1 - elements[i].linkDensity
        }
    }

    /// The best candidate and those of its siblings that look like more of the same.
    private func chooseRoots() -> [Int] {
        var ranked = elements.indices.filter { elements[$0].isCandidate && elements[$0].tag != .html }
        guard !ranked.isEmpty else { return [bodyIndex()] }
        ranked.sort { elements[$0].score > elements[$1].score || (elements[$0].score == elements[$1].score && $0 < $1) }
        var top = ranked[0]
        let topScore = elements[top].score

        // Content split over several containers: climb to the nearest ancestor holding the
        // close runners-up too.
        let close = ranked.dropFirst().prefix(4).filter { elements[$0].score >= topScore * 0.75 && !isAncestor(top, of: $0) && !isAncestor($0, of: top) }
        if close.count >= 2 {
            var ancestor = top
            for other in close { ancestor = commonAncestor(ancestor, other) }
            if ancestor >= 0 && elements[ancestor].tag != .html { top = ancestor }
        }
        // A parent that only wraps the top candidate (plus trimmings) scores about as well; prefer it.
        while true {
            let parent = Int(elements[top].parent)
            guard parent >= 0, elements[parent].tag != .html, elements[parent].tag != .body,
                  elements[parent].isCandidate, elements[parent].furnitureAnchor < 0 else { break }
            if elements[parent].chars > 0, Float(elements[top].chars) / Float(elements[parent].chars) > 0.9,
               elements[parent].linkDensity < 0.3 {
                top = parent
            } else { break }
        }

        guard elements[top].tag != .body, elements[top].parent >= 0 else { return [top] }
        let parent = elements[top].parent
        let threshold = max(10, elements[top].score * 0.2)
        // The last block each element owns: looking it up by a search per sibling made a page of
        // many short paragraphs quadratic (120,000 took 19 s).
        var lastBlock = [Int32](repeating: -1, count: elements.count)
        for (i, block) in blocks.enumerated() { lastBlock[Int(block.owner)] = Int32(i) }
        var roots: [Int] = []
        for i in elements.indices where elements[i].parent == parent {
            if i == top { roots.append(i); continue }
            let e = elements[i]
            guard e.furnitureAnchor < 0, e.chars > 0 else { continue }
            if e.isCandidate && e.score >= threshold { roots.append(i); continue }
            if e.tag == .p {
                let density = e.linkDensity
                if e.chars > 80 && density < 0.25 { roots.append(i); continue }
                if e.chars <= 80 && density == 0 && endsSentence(lastBlock[i]) { roots.append(i); continue }
            }
        }
        return roots
    }

    private func bodyIndex() -> Int {
        elements.indices.first { elements[$0].tag == .body } ?? 0
    }

    private func isAncestor(_ a: Int, of b: Int) -> Bool {
        var e = elements[b].parent
        while e >= 0 {
            if Int(e) == a { return true }
            e = elements[Int(e)].parent
        }
        return false
    }

    private func commonAncestor(_ a: Int, _ b: Int) -> Int {
        var chain = Set<Int>()
        var e = Int32(a)
        while e >= 0 { chain.insert(Int(e)); e = elements[Int(e)].parent }
        e = Int32(b)
        while e >= 0 {
            if chain.contains(Int(e)) { return Int(e) }
            e = elements[Int(e)].parent
        }
        return -1
    }

    private func endsSentence(_ block: Int32) -> Bool {
        guard block >= 0 else { return false }
        let last = text[blocks[Int(block)].end - 1]
        return last == UInt8(ascii: ".") || last == UInt8(ascii: "!") || last == UInt8(ascii: "?")
    }

    /// The blocks inside `roots`, less the furniture and link lists inside them.
    private func selectBlocks(roots: [Int], cleaning: Bool) -> [Int] {
        var inside = [Bool](repeating: false, count: elements.count)
        var cut = [Bool](repeating: false, count: elements.count)
        for r in roots { inside[r] = true }
        for i in elements.indices {
            let p = Int(elements[i].parent)
            if p >= 0 && inside[p] {
                inside[i] = true
                cut[i] = cut[p] || (cleaning && isClutter(i))
            }
        }
        return blocks.indices.filter { i in
            let owner = Int(blocks[i].owner)
            guard inside[owner], !cut[owner] else { return false }
            let b = blocks[i]
            // A line that is all link inside the content is navigation ("Next story", tags).
            if b.linkChars == b.chars && b.kind != .preformatted && b.chars < 100 { return false }
            return true
        }
    }

    /// Furniture and link lists inside the chosen content.
    private func isClutter(_ i: Int) -> Bool {
        let e = elements[i]
        if e.furnitureAnchor == Int32(i) { return true }
        if e.commas >= 10 { return false }
        let density = e.linkDensity
        switch e.tag {
        case .h1, .h2, .h3, .h4, .h5, .h6:
            return e.hints.weight < 0 || density > 0.33
        case .ul, .ol, .dl, .div, .section, .table, .figure, .aside, .header, .footer, .nav, .form, .menu, .p, .li, .tr:
            if e.hints.weight < 0 && density > 0.2 { return true }
            if e.hints.weight < 25 && density > 0.5 { return true }
            return false
        default:
            return false
        }
    }

    static let debug = getenv("LATHE_EXTRACT_DEBUG") != nil

    private func dump(roots: [Int]) {
        func describe(_ i: Int) -> String {
            let e = elements[i]
            return "#\(i) <\(e.tag)> score \(e.score) chars \(e.chars) links \(e.linkDensity) weight \(e.hints.weight) furniture \(e.furnitureAnchor)"
        }
        var lines = ["roots: " + roots.map(describe).joined(separator: "; ")]
        let ranked = elements.indices.filter { elements[$0].isCandidate }.sorted { elements[$0].score > elements[$1].score }.prefix(8)
        for i in ranked { lines.append("  candidate " + describe(i) + " parent \(elements[i].parent)") }
        for b in blocks.prefix(400) {
            lines.append("  block owner \(b.owner) f\(elements[Int(b.owner)].furnitureAnchor) \(b.chars)c: " + String(decoding: text[b.start..<min(b.end, b.start + 80)], as: UTF8.self))
        }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    // MARK: Writing out

    private func render(_ chosen: [Int]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(chosen.reduce(0) { $0 + blocks[$1].end - blocks[$1].start + 8 })
        var previous: BlockKind?
        for i in chosen {
            let b = blocks[i]
            if let previous {
                out.append(0x0A)
                if options.markdown && !Self.sameRun(previous, b.kind) { out.append(0x0A) }
            }
            let body = text[b.start..<b.end]
            if options.markdown {
                switch b.kind {
                case .heading(let level):
                    out.append(contentsOf: repeatElement(UInt8(ascii: "#"), count: level))
                    out.append(0x20)
                    appendLines(body, into: &out, prefix: [])
                case .listItem(let depth, let ordinal):
                    let indent = [UInt8](repeating: 0x20, count: 2 * (depth - 1))
                    let marker = ordinal > 0 ? Array("\(ordinal). ".utf8) : Array("- ".utf8)
                    out.append(contentsOf: indent + marker)
                    appendLines(body, into: &out, prefix: indent + [UInt8](repeating: 0x20, count: marker.count))
                case .preformatted:
                    out.append(contentsOf: "```\n".utf8)
                    out.append(contentsOf: body)
                    out.append(contentsOf: "\n```".utf8)
                case .quote:
                    out.append(contentsOf: "> ".utf8)
                    appendLines(body, into: &out, prefix: Array("> ".utf8))
                case .tableRow:
                    out.append(contentsOf: "| ".utf8)
                    out.append(contentsOf: body)
                    out.append(contentsOf: " |".utf8)
                case .paragraph:
                    out.append(contentsOf: body)
                }
            } else {
                out.append(contentsOf: body)
            }
            previous = b.kind
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func appendLines(_ body: ArraySlice<UInt8>, into out: inout [UInt8], prefix: [UInt8]) {
        for b in body {
            out.append(b)
            if b == 0x0A { out.append(contentsOf: prefix) }
        }
    }

    private static func sameRun(_ a: BlockKind, _ b: BlockKind) -> Bool {
        switch (a, b) {
        case (.listItem, .listItem), (.tableRow, .tableRow): true
        default: false
        }
    }
}
