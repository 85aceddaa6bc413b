import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The bytes of one input, decompressed when it is gzip.
///
/// Gzip is recognised by its magic bytes, never by the file name, and concatenated members
/// (as Common Crawl writes WARC files, one member per record) read as one stream. A gzip
/// input is inflated on a thread of its own a few chunks ahead of the reader, so
/// decompression and parsing use both cores.
public final class ByteSource {
    /// The name errors use: the path as given, or `-` for stdin.
    public let name: String
    public let isGzip: Bool
    /// The size on disk when it is known (a regular file), for progress and ETA.
    public let fileSize: Int?

    private let fd: Int32
    private let ownsDescriptor: Bool
    private var pending: [UInt8]
    private var reader: ChunkReader

    /// Opens `path`, or stdin for `-`.
    public init(path: String) throws {
        if path == "-" {
            fd = 0
            ownsDescriptor = false
            name = "-"
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw IOFailure("\(path): cannot open: \(systemError())") }
            ownsDescriptor = true
            name = path
        }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            if ownsDescriptor { close(fd) }
            throw IOFailure("\(path): is a directory, expected a file")
        }
        fileSize = (fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG) ? Int(info.st_size) : nil

        // Sniff the first two bytes; they are handed back to whichever reader takes over.
        var head = [UInt8](repeating: 0, count: 2)
        var got = 0
        let descriptor = fd
        while got < 2 {
            let n = head.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + got, 2 - got) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw IOFailure("\(path): read failed: \(systemError())") }
            if n == 0 { break }
            got += n
        }
        pending = Array(head[0..<got])
        isGzip = got == 2 && head[0] == 0x1F && head[1] == 0x8B
        reader = isGzip ? .gzip(GzipInflater(fd: fd, name: name, prefix: pending)) : .plain
        if isGzip { pending = [] }
    }

    deinit {
        if case .gzip(let inflater) = reader { inflater.stop() }
        if ownsDescriptor { close(fd) }
    }

    /// Compressed (on-disk) bytes consumed so far, for progress against `fileSize`.
    public var consumedBytes: Int {
        switch reader {
        case .plain: plainConsumed
        case .gzip(let inflater): inflater.consumed
        }
    }

    private var plainConsumed = 0

    /// Fills `buffer` with the next bytes; 0 means the end of the input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch reader {
        case .gzip(let inflater):
            return try inflater.read(into: buffer)
        case .plain:
            if !pending.isEmpty {
                let n = min(pending.count, buffer.count)
                pending.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                pending.removeFirst(n)
                plainConsumed += n
                return n
            }
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 {
                    plainConsumed += n
                    return n
                }
                if errno != EINTR { throw IOFailure("\(name): read failed: \(systemError())") }
            }
        }
    }

    /// Every remaining byte; for inputs that are small by nature (schemas, configs).
    public func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    private enum ChunkReader {
        case plain
        case gzip(GzipInflater)
    }
}

/// Inflates a gzip file descriptor on a background thread into a small ring of chunks.
final class GzipInflater: @unchecked Sendable {
    private static let chunkSize = 1 << 20
    private static let ringDepth = 4

    private let fd: Int32
    private let name: String
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var ready: [[UInt8]] = []
    private var finished = false
    private var failure: IOFailure?
    private var stopped = false
    private var consumedCompressed = 0
    private var thread: Thread?

    // Owned by the consumer:
    private var current: [UInt8] = []
    private var currentOffset = 0

    init(fd: Int32, name: String, prefix: [UInt8]) {
        self.fd = fd
        self.name = name
        let thread = Thread { [self] in self.run(prefix: prefix) }
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    var consumed: Int {
        condition.lock()
        defer { condition.unlock() }
        return consumedCompressed
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if currentOffset == current.count {
            condition.lock()
            while ready.isEmpty && !finished { condition.wait() }
            if ready.isEmpty {
                let failure = self.failure
                condition.unlock()
                if let failure { throw failure }
                return 0
            }
            current = ready.removeFirst()
            currentOffset = 0
            condition.broadcast()
            condition.unlock()
        }
        let n = min(buffer.count, current.count - currentOffset)
        current.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + currentOffset, byteCount: n)
        }
        currentOffset += n
        return n
    }

    private func publish(_ chunk: [UInt8], consumed: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= Self.ringDepth && !stopped { condition.wait() }
        if stopped { return false }
        ready.append(chunk)
        consumedCompressed = consumed
        condition.broadcast()
        return true
    }

    private func finish(_ failure: IOFailure?) {
        condition.lock()
        self.failure = failure
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func run(prefix: [UInt8]) {
        var stream = z_stream()
        // 15 + 16: a gzip wrapper only; members are restarted by hand below.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return finish(IOFailure("\(name): cannot initialise zlib"))
        }
        defer { inflateEnd(&stream) }

        var input = [UInt8](repeating: 0, count: Self.chunkSize)
        var inputStart = 0, inputEnd = prefix.count
        input.replaceSubrange(0..<prefix.count, with: prefix)
        var consumed = 0  // compressed bytes fed to zlib and used
        var atEOF = false
        var inMember = true  // between members we only need to know whether another begins
        var output = [UInt8](repeating: 0, count: Self.chunkSize)
        var outputCount = 0

        func refill() -> IOFailure? {
            if inputStart == inputEnd { inputStart = 0; inputEnd = 0 }
            while !atEOF && inputEnd < input.count {
                let n = input.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + inputEnd, $0.count - inputEnd) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return IOFailure("\(name): read failed: \(systemError())") }
                if n == 0 { atEOF = true } else { inputEnd += n }
                break
            }
            return nil
        }

        while true {
            if inputStart == inputEnd {
                if let failure = refill() { return finish(failure) }
            }
            if inputStart == inputEnd && atEOF {
                if outputCount > 0 && !publish(Array(output[0..<outputCount]), consumed: consumed) { return }
                if inMember {
                    return finish(IOFailure("\(name): gzip stream truncated at byte \(consumed)"))
                }
                return finish(nil)
            }
            if !inMember {
                // Another member follows only if the next bytes start one.
                inMember = true
                if input[inputStart] != 0x1F {
                    return finish(IOFailure("\(name): unexpected data after gzip member at byte \(consumed): expected another gzip member or the end of the file"))
                }
            }
            let available = inputEnd - inputStart
            let result: Int32 = input.withUnsafeMutableBufferPointer { inBuf in
                output.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_in = inBuf.baseAddress! + inputStart
                    stream.avail_in = UInt32(available)
                    stream.next_out = outBuf.baseAddress! + outputCount
                    stream.avail_out = UInt32(outBuf.count - outputCount)
                    return inflate(&stream, Z_NO_FLUSH)
                }
            }
            let used = available - Int(stream.avail_in)
            inputStart += used
            consumed += used
            outputCount = Self.chunkSize - Int(stream.avail_out)
            switch result {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                inMember = false
                inflateReset(&stream)
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(result)"
                return finish(IOFailure("\(name): corrupt gzip data at byte \(consumed): \(detail)"))
            }
            if outputCount == Self.chunkSize {
                if !publish(output, consumed: consumed) { return }
                outputCount = 0
            }
        }
    }
}
