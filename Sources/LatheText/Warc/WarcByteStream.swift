import CZlib
import LatheIO

#if canImport(Glibc)
import Glibc
#endif

/// The decompressed bytes of a WARC file, read through a sliding window, that survive
/// damaged gzip members.
///
/// `ByteSource` reads multi-member gzip as one stream and stops at the first bad byte, which
/// is right for JSON Lines; a crawl file with one damaged record should lose that record
/// only. So WARC files get their own reader: it inflates member after member, remembers
/// where each member began in the file (the offset Common Crawl's index gives for a
/// record), and at corrupt data or garbage between members it records a *break*, looks
/// for the next gzip header and goes on. The record parser learns of a break when the
/// window ends at one, and skips the record that was cut.
final class WarcByteStream {
    let name: String
    private(set) var isGzip: Bool
    private let fd: Int32
    private let ownsDescriptor: Bool

    // Compressed (or plain) bytes from the file; raw[rawStart..<rawEnd] is unread,
    // and raw[0] sits at file offset rawBase.
    private var raw: [UInt8]
    private var rawStart = 0
    private var rawEnd = 0
    private var rawBase = 0
    private var rawEOF = false

    private var stream = z_stream()
    private var inMember = false

    /// Decompressed bytes window[windowRead..<windowCount] are unread; window[0] is at stream
    /// offset windowBase. Managed by hand so that inflating a small member costs no zero-fill.
    private var window: UnsafeMutablePointer<UInt8>
    private var windowCapacity: Int
    private var windowCount = 0
    private(set) var windowBase = 0
    private var windowRead = 0

    /// (decompressed offset, file offset) of each gzip member start not yet passed.
    private var memberStarts: [(Int, Int)] = []
    /// A break at `offset`: the bytes before it and after it do not belong together.
    struct Break {
        var offset: Int
        var fileOffset: Int
        var reason: String
        var detail: String
    }
    private var breaks: [Break] = []
    private var finished = false

    static let chunk = 1 << 20

    init(path: String) throws {
        if path == "-" {
            fd = 0
            ownsDescriptor = false
            name = "-"
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw IOFailure("\(path): cannot open: \(String(cString: strerror(errno)))") }
            ownsDescriptor = true
            name = path
        }
        // Not zero-filled: only bytes read from the file are ever looked at, and a stream is
        // opened per input file (a directory of small pages paid a 1 MiB memset for each).
        raw = [UInt8](unsafeUninitializedCapacity: Self.chunk) { _, count in count = Self.chunk }
        windowCapacity = Self.chunk * 2
        window = .allocate(capacity: windowCapacity)
        isGzip = false
        try refillRaw()
        isGzip = rawEnd - rawStart >= 2 && raw[rawStart] == 0x1F && raw[rawStart + 1] == 0x8B
        if isGzip {
            guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw IOFailure("\(name): cannot initialise zlib")
            }
        }
    }

    deinit {
        if isGzip { inflateEnd(&stream) }
        window.deallocate()
        if ownsDescriptor { close(fd) }
    }

    /// File bytes consumed so far (compressed bytes for gzip), for progress.
    var consumedFileBytes: Int { rawBase + rawStart }

    /// Stream offset of the next unread byte.
    var position: Int { windowBase + windowRead }
    var available: Int { windowCount - windowRead }

    /// The file offset where the record starting at stream offset `offset` can be found:
    /// its gzip member's start, or the offset itself for a plain file.
    func fileOffset(of offset: Int) -> Int {
        guard isGzip else { return offset }
        var best = 0
        for (decompressed, file) in memberStarts where decompressed <= offset { best = file }
        return best
    }

    /// The next break at or after the read position, if the window reaches it.
    var pendingBreak: Break? { breaks.first }

    /// Offset where the current data ends: a break or the end of the input, once reached.
    var dataEnd: Int? {
        if let b = breaks.first { return b.offset }
        return finished ? windowBase + windowCount : nil
    }

    /// Makes at least `count` unread bytes available, or as many as there are before the next
    /// break or the end. Returns how many are available.
    @discardableResult
    func fill(_ count: Int) throws -> Int {
        while available < count {
            if let b = breaks.first, windowBase + windowCount >= b.offset { break }
            if finished { break }
            try produce()
        }
        let limit = breaks.first.map { $0.offset - position } ?? Int.max
        return min(available, limit)
    }

    /// Marks `count` bytes read.
    func consume(_ count: Int) {
        windowRead += count
        if windowRead > Self.chunk && windowRead * 2 > windowCount {
            memmove(window, window + windowRead, windowCount - windowRead)
            windowCount -= windowRead
            windowBase += windowRead
            windowRead = 0
        }
        let pos = position
        if memberStarts.count > 1 {
            // Keep the last member start at or before the read position; drop older ones.
            var keepFrom = 0
            for (i, m) in memberStarts.enumerated() where m.0 <= pos { keepFrom = i }
            if keepFrom > 0 { memberStarts.removeFirst(keepFrom) }
        }
    }

    /// Skips to the break the window has reached (dropping what was before it) and returns it.
    func passBreak() -> Break? {
        guard let b = breaks.first, windowBase + windowCount >= b.offset else { return nil }
        let skip = b.offset - position
        if skip > 0 { consume(skip) }
        breaks.removeFirst()
        return b
    }

    /// Unread bytes, up to `count`, as a buffer valid until the next fill or consume.
    func withUnread<R>(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: window + windowRead, count: min(count, available)))
    }

    // MARK: Producing

    private func refillRaw() throws {
        if rawStart == rawEnd {
            rawBase += rawEnd
            rawStart = 0
            rawEnd = 0
        } else if rawStart > 0 && rawEnd == raw.count {
            raw.replaceSubrange(0..<(rawEnd - rawStart), with: raw[rawStart..<rawEnd])
            rawBase += rawStart
            rawEnd -= rawStart
            rawStart = 0
        }
        while !rawEOF && rawEnd < raw.count {
            let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + rawEnd, $0.count - rawEnd) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw IOFailure("\(name): read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { rawEOF = true } else { rawEnd += n }
            break
        }
    }

    /// Room for `extra` more bytes at the end of the window.
    private func reserve(_ extra: Int) {
        guard windowCount + extra > windowCapacity else { return }
        let capacity = max(windowCapacity * 2, windowCount + extra)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: window, count: windowCount)
        window.deallocate()
        window = grown
        windowCapacity = capacity
    }

    private var rawOffset: Int { rawBase + rawStart }
    private var produced: Int { windowBase + windowCount }

    private func produce() throws {
        if rawStart == rawEnd && !rawEOF { try refillRaw() }
        if !isGzip {
            if rawStart == rawEnd && rawEOF { finished = true; return }
            reserve(rawEnd - rawStart)
            raw.withUnsafeBufferPointer { (window + windowCount).update(from: $0.baseAddress! + rawStart, count: rawEnd - rawStart) }
            windowCount += rawEnd - rawStart
            rawStart = rawEnd
            return
        }
        if rawStart == rawEnd && rawEOF {
            if inMember {
                let start = memberStarts.last?.1 ?? 0
                inMember = false
                inflateReset(&stream)
                // A member cut short may have swallowed whole members after it: look for one.
                if start >= rawBase {
                    rawStart = start - rawBase
                    try resync(from: start, reason: "truncated_gzip", detail: "gzip member at byte \(start) is cut short")
                    return
                }
                breaks.append(Break(offset: produced, fileOffset: start, reason: "truncated_gzip",
                                    detail: "gzip member at byte \(start) is cut short"))
            }
            finished = true
            return
        }
        if !inMember {
            // Zero padding between members is harmless; anything else is not a member.
            while rawStart < rawEnd && raw[rawStart] == 0 { rawStart += 1 }
            if rawStart == rawEnd { return }
            if rawEnd - rawStart < 3 && !rawEOF { try refillRaw(); return }
            if !(raw[rawStart] == 0x1F && (rawEnd - rawStart < 2 || raw[rawStart + 1] == 0x8B)) {
                let at = rawOffset
                try resync(from: at, reason: "corrupt_gzip", detail: "bytes at \(at) do not start a gzip member")
                return
            }
            inMember = true
            memberStarts.append((produced, rawOffset))
        }
        let room = Self.chunk
        reserve(room)
        let available = rawEnd - rawStart
        var result: Int32 = Z_OK
        raw.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress! + rawStart
            stream.avail_in = UInt32(available)
            stream.next_out = window + windowCount
            stream.avail_out = UInt32(room)
            result = inflate(&stream, Z_NO_FLUSH)
        }
        windowCount += room - Int(stream.avail_out)
        rawStart += available - Int(stream.avail_in)
        switch result {
        case Z_OK, Z_BUF_ERROR:
            if result == Z_BUF_ERROR && rawStart == rawEnd && !rawEOF { try refillRaw() }
        case Z_STREAM_END:
            inMember = false
            inflateReset(&stream)
        default:
            let start = memberStarts.last?.1 ?? 0
            let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(result)"
            inflateReset(&stream)
            inMember = false
            // A member cut short runs into the next one: look for the next header right after the bad member's start.
            if start + 1 >= rawBase && start + 1 <= rawBase + rawEnd { rawStart = start - rawBase }
            try resync(from: start, reason: "corrupt_gzip", detail: "gzip member at byte \(start): \(detail)")
        }
    }

    /// Records a break at the current output end and moves the input to the next gzip header.
    private func resync(from fileOffset: Int, reason: String, detail: String) throws {
        breaks.append(Break(offset: produced, fileOffset: fileOffset, reason: reason, detail: detail))
        rawStart = min(rawStart + 1, rawEnd)
        while true {
            var i = rawStart
            while i + 2 < rawEnd {
                if raw[i] == 0x1F && raw[i + 1] == 0x8B && raw[i + 2] == 0x08 {
                    rawStart = i
                    return
                }
                i += 1
            }
            rawStart = max(rawStart, rawEnd - 2)
            if rawEOF {
                rawStart = rawEnd
                finished = true
                return
            }
            try refillRaw()
        }
    }
}
