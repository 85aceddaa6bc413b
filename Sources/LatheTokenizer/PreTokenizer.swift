/// The pre-tokenisation steps of the byte-level BPE family, as `tokenizer.json` names them.
///
/// A pipeline is a list of steps (a `Sequence` flattened) ending in `ByteLevel`. Each step
/// cuts every current piece into smaller ones; a piece is a byte range of the working buffer.
/// The regexes are hand-written scanners over Unicode scalars that reproduce Oniguruma's
/// leftmost-first alternation and backtracking for exactly these patterns.
enum PreTokenizerStep: Sendable, Equatable {
    case split(SplitPattern, SplitBehavior, invert: Bool)
    /// `Digits`: every numeric scalar its own piece, or each run of them one piece.
    case digits(individual: Bool)
    /// `ByteLevel`: optionally prefix a space to each piece not starting with one, optionally
    /// split with GPT-2's regex; the byte mapping itself is the model's input alphabet.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
}

/// The regexes known by their exact source text, and literal string patterns.
enum SplitPattern: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3's `(?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|...`; Qwen2 uses the same
    /// pattern with `\p{N}` in place of `\p{N}{1,3}`.
    case llama3(maxDigits: Int)
    case literal([UInt8])

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    init?(regex: String) {
        switch regex {
        case Self.gpt2Source: self = .gpt2
        case Self.llama3Source: self = .llama3(maxDigits: 3)
        case Self.qwen2Source: self = .llama3(maxDigits: 1)
        default: return nil
        }
    }

    /// The end of the match starting exactly at `i` (these regexes match at every position,
    /// so leftmost-first search never skips a scalar).
    @inline(__always)
    func matchEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        switch self {
        case .gpt2: return Scanners.gpt2(p, i, end)
        case .llama3(let maxDigits): return Scanners.llama3(p, i, end, maxDigits: maxDigits)
        case .literal: fatalError("literal patterns are searched, not scanned")
        }
    }
}

/// `SplitDelimiterBehavior`: what becomes of the matched parts.
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"
}

enum Scanners {
    @inline(__always)
    static func ascii(_ s: Unicode.Scalar) -> UInt32 { s.value }

    @inline(__always)
    static func isContractionTail(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, caseless: Bool) -> Int {
        // Returns the length of the letters after the apostrophe that complete 's 't 're 've
        // 'm 'll 'd, or 0.
        guard i < end else { return 0 }
        var (c, n) = decodeScalar(p, i)
        if caseless {
            if c == 0x17F { c = ascii("s") }  // Unicode case-folds LONG S to s.
            else if c >= 0x41 && c <= 0x5A { c |= 0x20 }
        }
        switch c {
        case ascii("s"), ascii("t"), ascii("m"), ascii("d"):
            return n
        case ascii("r"), ascii("v"), ascii("l"):
            guard i + n < end else { return 0 }
            var (c2, n2) = decodeScalar(p, i + n)
            if caseless, c2 >= 0x41 && c2 <= 0x5A { c2 |= 0x20 }
            let want = c == ascii("l") ? ascii("l") : ascii("e")
            return c2 == want ? n + n2 : 0
        default:
            return 0
        }
    }

    /// Advances over scalars while their class intersects `cls`.
    @inline(__always)
    static func run(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ cls: CharClass) -> Int {
        var j = i
        while j < end {
            let (c, n) = decodeScalar(p, j)
            guard CharClass.of(c).contains(cls) else { break }
            j += n
        }
        return j
    }

    /// Advances over scalars that are neither letters, numbers nor spaces.
    @inline(__always)
    static func runOther(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var j = i
        while j < end {
            let (c, n) = decodeScalar(p, j)
            guard CharClass.of(c).isDisjoint(with: [.letter, .number, .space]) else { break }
            j += n
        }
        return j
    }

    /// `\s+(?!\S)|\s+` from a space at `i`: the whole run when it ends the text or is a
    /// single scalar, else the run less its last scalar (which then joins the next word).
    @inline(__always)
    static func spaces(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var j = i, last = i
        while j < end {
            let (c, n) = decodeScalar(p, j)
            guard CharClass.of(c).contains(.space) else { break }
            last = j
            j += n
        }
        if j == end || last == i { return j }
        return last
    }

    static func gpt2(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let c = decodeScalar(p, i).value
        if c == ascii("'") {
            let tail = isContractionTail(p, i + 1, end, caseless: false)
            if tail > 0 { return i + 1 + tail }
        }
        var start = i
        var cls = CharClass.of(c)
        if c == 0x20 && i + 1 < end {
            // ` ?X+`: the space belongs to a following letter, number or symbol run.
            let next = CharClass.of(decodeScalar(p, i + 1).value)
            if !next.contains(.space) {
                start = i + 1
                cls = next
            }
        }
        if cls.contains(.letter) { return run(p, start, end, .letter) }
        if cls.contains(.number) { return run(p, start, end, .number) }
        if !cls.contains(.space) { return runOther(p, start, end) }
        return spaces(p, i, end)
    }

    static func llama3(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, maxDigits: Int) -> Int {
        let (c, n) = decodeScalar(p, i)
        if c == ascii("'") {
            let tail = isContractionTail(p, i + 1, end, caseless: true)
            if tail > 0 { return i + 1 + tail }
        }
        let cls = CharClass.of(c)
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if cls.contains(.letter) { return run(p, i, end, .letter) }
        let isNewline = c == 0x0A || c == 0x0D
        if !isNewline && !cls.contains(.number) && i + n < end
            && CharClass.of(decodeScalar(p, i + n).value).contains(.letter)
        {
            return run(p, i + n, end, .letter)
        }
        // `\p{N}{1,3}`
        if cls.contains(.number) {
            var j = i, k = 0
            while j < end && k < maxDigits {
                let (d, m) = decodeScalar(p, j)
                guard CharClass.of(d).contains(.number) else { break }
                j += m
                k += 1
            }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var start = i
        if c == 0x20 && i + 1 < end && CharClass.of(decodeScalar(p, i + 1).value).isDisjoint(with: [.letter, .number, .space]) {
            start = i + 1
        }
        if start > i || !cls.contains(.space) {
            var j = runOther(p, start, end)
            while j < end && (p[j] == 0x0A || p[j] == 0x0D) { j += 1 }
            return j
        }
        // `\s*[\r\n]+`: through the last newline of the space run, if it has one.
        var j = i, last = i, afterNewline = -1
        while j < end {
            let (s, m) = decodeScalar(p, j)
            guard CharClass.of(s).contains(.space) else { break }
            last = j
            j += m
            if s == 0x0A || s == 0x0D { afterNewline = j }
        }
        if afterNewline > 0 { return afterNewline }
        // `\s+(?!\S)|\s+`
        if j == end || last == i { return j }
        return last
    }
}

/// Runs a pipeline of steps over pieces of a working buffer.
struct PreTokenizerPipeline: Sendable {
    let steps: [PreTokenizerStep]

    /// Splits `pieces` in place. `buffer` holds the text; `ByteLevel`'s prefix space appends
    /// a spaced copy of a piece to it, so pieces are always ranges of `buffer`.
    func run(_ buffer: inout [UInt8], _ pieces: inout [Range<Int>], _ scratch: inout [Range<Int>],
             _ marks: inout [(Range<Int>, Bool)]) {
        for step in steps {
            scratch.removeAll(keepingCapacity: true)
            if case .byteLevel(true, _) = step {
                for k in pieces.indices where buffer[pieces[k].lowerBound] != 0x20 {
                    let start = buffer.count
                    buffer.append(0x20)
                    buffer.append(contentsOf: buffer[pieces[k]])
                    pieces[k] = start..<buffer.count
                }
            }
            buffer.withUnsafeBufferPointer { b in
                let p = b.baseAddress!
                for piece in pieces {
                    apply(step, p, piece, &scratch, &marks)
                }
            }
            swap(&pieces, &scratch)
        }
    }

    @inline(__always)
    private func apply(_ step: PreTokenizerStep, _ p: UnsafePointer<UInt8>, _ piece: Range<Int>,
                       _ out: inout [Range<Int>], _ marks: inout [(Range<Int>, Bool)]) {
        switch step {
        case .byteLevel(_, let useRegex):
            if useRegex {
                scanAll(.gpt2, p, piece, &out)
            } else {
                out.append(piece)
            }
        case .split(let pattern, .isolated, invert: false) where !isLiteral(pattern):
            // Fast path for the usual case: these regexes match everywhere, so the pieces
            // are just the matches.
            scanAll(pattern, p, piece, &out)
        case .split(let pattern, let behavior, let invert):
            marks.removeAll(keepingCapacity: true)
            switch pattern {
            case .literal(let needle): findLiteral(needle, p, piece, &marks)
            default: markScanned(pattern, p, piece, &marks)
            }
            if invert { for k in marks.indices { marks[k].1.toggle() } }
            Self.resolve(marks, behavior, &out)
        case .digits(let individual):
            marks.removeAll(keepingCapacity: true)
            var i = piece.lowerBound
            while i < piece.upperBound {
                let (c, n) = decodeScalar(p, i)
                let isNumber = CharClass.of(c).contains(.number)
                // Each numeric scalar is a match of its own; what lies between is one gap.
                if !isNumber, let last = marks.last, !last.1 {
                    marks[marks.count - 1].0 = last.0.lowerBound..<i + n
                } else {
                    marks.append((i..<i + n, isNumber))
                }
                i += n
            }
            Self.resolve(marks, individual ? .isolated : .contiguous, &out)
        }
    }

    private func isLiteral(_ pattern: SplitPattern) -> Bool {
        if case .literal = pattern { return true }
        return false
    }

    @inline(__always)
    private func scanAll(_ pattern: SplitPattern, _ p: UnsafePointer<UInt8>, _ piece: Range<Int>, _ out: inout [Range<Int>]) {
        var i = piece.lowerBound
        while i < piece.upperBound {
            let j = pattern.matchEnd(p, i, piece.upperBound)
            out.append(i..<j)
            i = j
        }
    }

    private func markScanned(_ pattern: SplitPattern, _ p: UnsafePointer<UInt8>, _ piece: Range<Int>, _ marks: inout [(Range<Int>, Bool)]) {
        var i = piece.lowerBound
        while i < piece.upperBound {
            let j = pattern.matchEnd(p, i, piece.upperBound)
            marks.append((i..<j, true))
            i = j
        }
    }

    private func findLiteral(_ needle: [UInt8], _ p: UnsafePointer<UInt8>, _ piece: Range<Int>, _ marks: inout [(Range<Int>, Bool)]) {
        var previous = piece.lowerBound
        var i = piece.lowerBound
        if !needle.isEmpty {
            while i + needle.count <= piece.upperBound {
                if p[i] == needle[0] && needle.withUnsafeBufferPointer({ memcmp(p + i, $0.baseAddress!, needle.count) == 0 }) {
                    if previous < i { marks.append((previous..<i, false)) }
                    marks.append((i..<i + needle.count, true))
                    i += needle.count
                    previous = i
                } else {
                    i += 1
                }
            }
        }
        if previous < piece.upperBound { marks.append((previous..<piece.upperBound, false)) }
    }

    /// Turns (range, is-a-match) parts covering a piece into pieces, per `tokenizers`'
    /// `SplitDelimiterBehavior`.
    static func resolve(_ marks: [(Range<Int>, Bool)], _ behavior: SplitBehavior, _ out: inout [Range<Int>]) {
        let base = out.count
        switch behavior {
        case .removed:
            for (r, isMatch) in marks where !isMatch { out.append(r) }
        case .isolated:
            for (r, _) in marks { out.append(r) }
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in marks {
                if isMatch && !previousMatch && out.count > base {
                    out[out.count - 1] = out[out.count - 1].lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            var reversed: [Range<Int>] = []
            for (r, isMatch) in marks.reversed() {
                if isMatch && !previousMatch && !reversed.isEmpty {
                    reversed[reversed.count - 1] = r.lowerBound..<reversed[reversed.count - 1].upperBound
                } else {
                    reversed.append(r)
                }
                previousMatch = isMatch
            }
            out.append(contentsOf: reversed.reversed())
        case .contiguous:
            var previousMatch = false
            for (r, isMatch) in marks {
                if isMatch == previousMatch && out.count > base {
                    out[out.count - 1] = out[out.count - 1].lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = isMatch
            }
        }
        // Empty parts are dropped, as `tokenizers` drops empty splits.
        var k = base
        for j in base..<out.count where !out[j].isEmpty {
            out[k] = out[j]
            k += 1
        }
        out.removeLast(out.count - k)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
