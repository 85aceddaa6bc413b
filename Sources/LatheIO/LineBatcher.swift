#if canImport(Glibc)
import Glibc
#endif

/// A run of whole lines from one input, owning its bytes so it can travel to a worker thread.
public struct LineBatch: Sendable {
    public let source: String
    /// The 1-based line number of the first line.
    public let firstLine: Int
    /// Bytes of every line, newlines included.
    public let bytes: [UInt8]
    /// Line `i` is `bytes[starts[i]..<ends[i]]`, without its `\n` or `\r\n`.
    public let starts: [Int]
    public let ends: [Int]
    /// How many lines after `firstLine` line `i` is (blank lines are left out, not renumbered).
    public let lineOffsets: [Int]

    public var count: Int { starts.count }

    public func location(_ i: Int) -> SourceLocation {
        SourceLocation(file: source, line: firstLine + lineOffsets[i])
    }

    public func withLine<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[starts[i]..<ends[i]]))
        }
    }
}

/// Cuts an input into batches of whole lines, about `batchBytes` each.
///
/// Lines may be of any length up to `maxLineBytes`; a longer one stops the run with its
/// `file:line` instead of eating memory. `\r\n` endings and a last line without a newline
/// are accepted.
public final class LineBatcher {
    public static let defaultMaxLineBytes = 64 << 20

    public let source: ByteSource
    public let maxLineBytes: Int
    public let batchBytes: Int
    private var carry: [UInt8] = []
    private var nextLine = 1
    private var atEnd = false
    private var chunk: [UInt8]

    public init(source: ByteSource, maxLineBytes: Int = defaultMaxLineBytes, batchBytes: Int = 1 << 20) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        self.batchBytes = batchBytes
        chunk = [UInt8](repeating: 0, count: min(batchBytes, 1 << 18))
    }

    /// The next batch of lines, or nil at the end of the input. Lines that are empty or all
    /// whitespace are left out of the batch (they hold no record) but still counted.
    public func next() throws -> LineBatch? {
        guard !atEnd || !carry.isEmpty else { return nil }
        var buffer = carry
        carry = []
        // `searched` is how far we know there is no newline, so a long line is scanned once.
        var searched = 0
        var lastNewline = -1
        while !atEnd {
            if buffer.count >= batchBytes, lastNewline >= 0 { break }
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 {
                atEnd = true
                break
            }
            buffer.append(contentsOf: chunk[0..<n])
            if let found = lastIndex(of: 0x0A, in: buffer, from: searched) { lastNewline = found }
            searched = buffer.count
            if lastNewline < 0 && buffer.count > maxLineBytes {
                throw lineTooLong(nextLine)
            }
        }
        if lastNewline < 0 && !atEnd { lastNewline = lastIndex(of: 0x0A, in: buffer, from: 0) ?? -1 }
        // Everything after the last newline waits for the next batch, unless the input ended.
        if !atEnd, lastNewline + 1 < buffer.count {
            carry = Array(buffer[(lastNewline + 1)...])
            buffer.removeSubrange((lastNewline + 1)...)
        }
        if atEnd && buffer.count > maxLineBytes {
            let tail = buffer.count - (lastNewline + 1)
            if tail > maxLineBytes {
                throw lineTooLong(nextLine + countNewlines(buffer))
            }
        }
        return try split(buffer)
    }

    private func split(_ buffer: [UInt8]) throws -> LineBatch {
        var starts: [Int] = []
        var ends: [Int] = []
        var tooLong: Int?
        let first = nextLine
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let count = raw.count
            var lineStart = 0
            var lineNumber = 0
            while lineStart < count {
                let found = memchr(base + lineStart, 0x0A, count - lineStart)
                let newline = found.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? count
                var lineEnd = newline
                if lineEnd - lineStart > maxLineBytes {
                    tooLong = nextLine + lineNumber
                    return
                }
                if lineEnd > lineStart && base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if !isBlank(base, lineStart, lineEnd) {
                    starts.append(lineStart)
                    ends.append(lineEnd)
                    lineNumbers.append(lineNumber)
                }
                lineNumber += 1
                lineStart = newline + 1
            }
            nextLine += lineNumber
        }
        if let tooLong {
            throw lineTooLong(tooLong)
        }
        defer { lineNumbers.removeAll(keepingCapacity: true) }
        return LineBatch(source: source.name, firstLine: first, bytes: buffer, starts: starts, ends: ends,
                         lineOffsets: lineNumbers)
    }

    private var lineNumbers: [Int] = []

    private func lineTooLong(_ line: Int) -> IOFailure {
        IOFailure("\(source.name):\(line): line longer than \(maxLineBytes) bytes: raise --max-line-bytes if such records are expected, or check that the input is JSON Lines")
    }

    private func isBlank(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        for i in start..<end {
            let b = base[i]
            if b != 0x20 && b != 0x09 && b != 0x0D { return false }
        }
        return true
    }

    private func countNewlines(_ buffer: [UInt8]) -> Int {
        buffer.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    private func lastIndex(of byte: UInt8, in buffer: [UInt8], from start: Int) -> Int? {
        var i = buffer.count - 1
        while i >= start {
            if buffer[i] == byte { return i }
            i -= 1
        }
        return nil
    }
}
