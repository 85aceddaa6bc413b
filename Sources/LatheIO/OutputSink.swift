import CZlib

#if canImport(Glibc)
import Glibc
#endif

/// Where records go: stdout (`-`) or a file, gzip-compressed when asked.
///
/// Callers hand over whole lines only, so whatever has reached the file when a run stops is
/// valid JSON Lines; a gzip output is always finished with its trailer, even on error.
/// A closed pipe downstream surfaces as `BrokenPipe`, which the tools treat as success.
public final class OutputSink {
    public let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    /// On the heap: zlib keeps a pointer back to its z_stream, so the struct must never move.
    private var deflater: UnsafeMutablePointer<z_stream>?
    private var compressed: [UInt8] = []
    private static let flushThreshold = 1 << 20
    public private(set) var bytesWritten = 0

    /// `path` `-` is stdout. `gzipLevel` nil writes plain text.
    public init(path: String, gzipLevel: Int32? = nil) throws {
        if path == "-" {
            fd = 1
            ownsDescriptor = false
            name = "stdout"
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw IOFailure("\(path): cannot create: \(systemError())") }
            ownsDescriptor = true
            name = path
        }
        if let level = gzipLevel {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                throw IOFailure("\(name): cannot initialise zlib at level \(level)")
            }
            deflater = stream
            compressed = [UInt8](repeating: 0, count: 1 << 18)
        }
        buffer.reserveCapacity(Self.flushThreshold + (1 << 16))
    }

    /// Whether a path asks for gzip by its name.
    public static func wantsGzip(_ path: String) -> Bool { path.hasSuffix(".gz") }

    deinit {
        if let stream = deflater {
            deflateEnd(stream)
            stream.deallocate()
        }
        if ownsDescriptor { Glibc.close(fd) }
    }

    /// Appends bytes that end on a line boundary.
    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flushBuffer(finish: false) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flushBuffer(finish: false) }
    }

    /// Writes one record as a JSON line.
    public func write(_ value: JSONValue) throws {
        JSONWriter.write(value, into: &buffer)
        buffer.append(0x0A)
        if buffer.count >= Self.flushThreshold { try flushBuffer(finish: false) }
    }

    /// Writes out everything buffered (and, for gzip, the stream's end). Call once at the end.
    public func close() throws {
        try flushBuffer(finish: true)
    }

    /// Pushes buffered lines out; the gzip stream gets a full flush point only at the end,
    /// which keeps compression as good as a single `gzip` run.
    private func flushBuffer(finish: Bool) throws {
        guard let stream = deflater else {
            try buffer.withUnsafeBufferPointer { try writeAll($0) }
            buffer.removeAll(keepingCapacity: true)
            return
        }
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        try buffer.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = UInt32(input.count)
            while true {
                var status: Int32 = Z_OK
                let produced: Int = compressed.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    status = deflate(stream, flush)
                    return out.count - Int(stream.pointee.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw IOFailure("\(name): gzip compression failed (zlib status \(status))")
                }
                if produced > 0 {
                    try compressed.withUnsafeBufferPointer { try writeAll(UnsafeBufferPointer(rebasing: $0[0..<produced])) }
                }
                let done = flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0
                if done { break }
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeBufferPointer<UInt8>) throws {
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw BrokenPipe() }
                throw IOFailure("\(name): cannot write: \(systemError())")
            }
            offset += n
        }
        bytesWritten += raw.count
    }
}
