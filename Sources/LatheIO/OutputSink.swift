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
    private var deflater: z_stream?
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
            var stream = z_stream()
            guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
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
        if var stream = deflater { deflateEnd(&stream) }
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
        guard var stream = deflater else {
            try buffer.withUnsafeBufferPointer { try writeAll($0) }
            buffer.removeAll(keepingCapacity: true)
            return
        }
        defer { deflater = stream }
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        try buffer.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = UInt32(input.count)
            repeat {
                let produced: Int = compressed.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    deflate(&stream, flush)
                    return out.count - Int(stream.avail_out)
                }
                if produced > 0 {
                    try compressed.withUnsafeBufferPointer { try writeAll(UnsafeBufferPointer(rebasing: $0[0..<produced])) }
                }
            } while stream.avail_out == 0 || (flush == Z_FINISH && stream.avail_in > 0)
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
