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

    public init(source: ByteSource, maxLineBytes: Int = defaultMaxLineBytes, batchBytes: Int = 1 << 20) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        self.batchBytes = batchBytes
        readBytes = min(batchBytes, 1 << 18)
    }

    /// The next batch of lines, or nil at the end of the input. Lines that are empty or all
    /// whitespace are left out of the batch (they hold no record) but still counted.
    public func next() throws -> LineBatch? {
        guard !atEnd || !carry.isEmpty else { return nil }
        // The input is read straight into the batch's own storage, sized for a whole batch
        // and one more read, so its bytes are copied once, by the kernel.
        var buffer = try [UInt8](unsafeUninitializedCapacity: max(batchBytes, carry.count) + readBytes) { space, filled in
            filled = 0
            if !carry.isEmpty {
                _ = UnsafeMutableBufferPointer(rebasing: space[0..<carry.count]).initialize(from: carry)
                filled = carry.count
            }
            while !batchIsFull(filled), space.count - filled >= readBytes {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: space[filled..<(filled + readBytes)])))
                try filled = took(n, in: UnsafeBufferPointer(rebasing: space[0..<(filled + n)]), from: filled)
            }
        }
        carry = []
        // A line longer than the room left keeps growing the batch until it ends.
        var chunk: [UInt8] = []
        while !batchIsFull(buffer.count) {
            if chunk.isEmpty { chunk = [UInt8](repeating: 0, count: readBytes) }
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            buffer.append(contentsOf: chunk[0..<n])
            try _ = buffer.withUnsafeBufferPointer { try took(n, in: $0, from: buffer.count - n) }
        }
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
        lastNewline = -1
        searched = 0
        return try split(buffer)
    }

    /// Bytes read per call to the source.
    private let readBytes: Int
    /// In the batch being filled: the last newline found, and how far there is none after it.
    private var lastNewline = -1
    private var searched = 0

    /// Whether the batch being filled, `count` bytes so far, is done: it ends at a newline past
    /// `batchBytes`, or the input ended.
    private func batchIsFull(_ count: Int) -> Bool {
        atEnd || (count >= batchBytes && lastNewline >= 0)
    }

    /// Takes note of `n` bytes just read to `batch[start...]`: the end of the input at 0, else
    /// the last newline among them. A line past `maxLineBytes` stops the run. Returns the
    /// batch's new length.
    private func took(_ n: Int, in batch: UnsafeBufferPointer<UInt8>, from start: Int) throws -> Int {
        if n == 0 {
            atEnd = true
            return start
        }
        var i = start + n - 1
        while i >= searched {
            if batch[i] == 0x0A {
                lastNewline = i
                break
            }
            i -= 1
        }
        searched = start + n
        if lastNewline < 0 && start + n > maxLineBytes {
            throw lineTooLong(nextLine)
        }
        return start + n
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
}
