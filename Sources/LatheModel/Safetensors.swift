import Foundation
import LatheIO

// The safetensors format, as Hugging Face's `safetensors` library writes it:
//   8 bytes   N, the header's length, little-endian u64
//   N bytes   a JSON object: {"__metadata__": {string: string}?, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
//             padded with spaces so the data starts on an 8-byte boundary
//   the data  every tensor's bytes, little-endian, row-major; offsets are relative to here
// The library orders tensors by dtype alignment, then by name; a reader must not rely on it.

/// A safetensors file opened for reading (memory-mapped); tensors are converted to fp32 on read.
public struct SafetensorsFile {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range in the data section.
        public let offsets: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Element sizes of the dtypes Lathe reads.
    static let readableSizes = ["F32": 4, "F16": 2, "BF16": 2]

    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw IOFailure("\(path): cannot read: \(error.localizedDescription)")
        }
        func fail(_ what: String) -> IOFailure { IOFailure("\(path): not a safetensors file: \(what)") }
        guard data.count >= 8 else { throw fail("\(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("the header claims \(headerLength) bytes but the file has \(data.count - 8) after the length")
        }
        let header: JSONValue
        do { header = try JSONParser.parse(data[8..<(8 + Int(headerLength))]) } catch {
            throw fail("the header is not JSON (\(error))")
        }
        guard let object = header.object else { throw fail("the header is a JSON \(header.typeName), not an object") }
        let dataSize = data.count - 8 - Int(headerLength)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                for (key, item) in value.object ?? JSONObject() { metadata[key] = item.string ?? JSONWriter.string(item) }
                continue
            }
            guard let dtype = value["dtype"]?.string, let shape = value["shape"]?.array?.map({ $0.int ?? -1 }),
                  let offsets = value["data_offsets"]?.array?.compactMap(\.int), offsets.count == 2 else {
                throw fail("tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard !shape.contains(where: { $0 < 0 }), offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw fail("tensor \(name) has shape \(shape) and offsets \(offsets) outside the \(dataSize) data bytes")
            }
            let entry = Entry(name: name, dtype: dtype, shape: shape, offsets: offsets[0]..<offsets[1])
            if let size = Self.readableSizes[dtype], entry.count * size != entry.offsets.count {
                throw fail("tensor \(name): \(entry.count) \(dtype) values need \(entry.count * size) bytes, offsets give \(entry.offsets.count)")
            }
            entries[name] = entry
        }
        self.path = path
        self.entries = entries
        self.metadata = metadata
        self.data = data
        dataStart = 8 + Int(headerLength)
    }

    /// Copies tensor `name` into `out` as fp32 (F16 and BF16 widened exactly).
    public func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard let entry = entries[name] else { throw IOFailure("\(path): no tensor named \(name)") }
        guard entry.count == out.count else {
            throw IOFailure("\(path): tensor \(name) has \(entry.count) values, \(out.count) expected")
        }
        let start = dataStart + entry.offsets.lowerBound
        try data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[start..<(dataStart + entry.offsets.upperBound)])
            switch entry.dtype {
            case "F32":
                for j in 0..<entry.count { out[j] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self))) }
            case "BF16":
                for j in 0..<entry.count {
                    out[j] = Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self))) << 16)
                }
            case "F16":
                for j in 0..<entry.count {
                    out[j] = Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self))))
                }
            default:
                throw IOFailure("\(path): tensor \(name) is \(entry.dtype); Lathe reads F32, F16 and BF16")
            }
        }
    }

    /// Tensor `name` as a new fp32 array.
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = entries[name] else { throw IOFailure("\(path): no tensor named \(name)") }
        var values = [Float](repeating: 0, count: entry.count)
        try values.withUnsafeMutableBufferPointer { try read(name, into: $0) }
        return values
    }

    // MARK: writing

    /// One tensor to write: fp32 values of `shape`, row-major.
    public struct Tensor {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) does not hold \(values.count) values")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Writes `tensors` as F32 to `path` through a temporary file renamed into place, in the
    /// library's order (by name, all being F32), header padded to 8 bytes with spaces.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        let sorted = tensors.sorted { $0.name < $1.name }
        var header = JSONObject()
        if !metadata.isEmpty {
            header["__metadata__"] = .object(JSONObject(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        }
        var offset = 0
        for tensor in sorted {
            let end = offset + 4 * tensor.values.count
            header[tensor.name] = .object(JSONObject([
                ("dtype", "F32"), ("shape", .array(tensor.shape.map { .number(JSONNumber($0)) })),
                ("data_offsets", [.number(JSONNumber(offset)), .number(JSONNumber(end))]),
            ]))
            offset = end
        }
        var headerBytes: [UInt8] = []
        JSONWriter.write(.object(header), into: &headerBytes)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        try writeAtomically(path) { file in
            let length = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: length) { try file.write($0) }
            try headerBytes.withUnsafeBytes { try file.write($0) }
            var chunk = [UInt32](repeating: 0, count: 1 << 16)
            for tensor in sorted {
                var j = 0
                while j < tensor.values.count {
                    let n = min(chunk.count, tensor.values.count - j)
                    for i in 0..<n { chunk[i] = tensor.values[j + i].bitPattern.littleEndian }
                    try chunk.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<(4 * n)])) }
                    j += n
                }
            }
        }
    }
}

/// A file being written by `writeAtomically`.
public final class AtomicFile {
    let handle: UnsafeMutablePointer<FILE>
    let path: String
    init(handle: UnsafeMutablePointer<FILE>, path: String) {
        self.handle = handle
        self.path = path
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.isEmpty || fwrite(bytes.baseAddress, 1, bytes.count, handle) == bytes.count else {
            throw IOFailure("\(path): cannot write: \(String(cString: strerror(errno)))")
        }
    }
}

/// Writes `path` through `path.tmp-PID` renamed into place, so a reader (or a crash) never
/// sees half a file.
public func writeAtomically(_ path: String, _ body: (AtomicFile) throws -> Void) throws {
    let temporary = path + ".tmp-\(getpid())"
    guard let handle = fopen(temporary, "wb") else {
        throw IOFailure("\(temporary): cannot create: \(String(cString: strerror(errno)))")
    }
    do {
        try body(AtomicFile(handle: handle, path: temporary))
    } catch {
        fclose(handle)
        unlink(temporary)
        throw error
    }
    guard fclose(handle) == 0 else {
        unlink(temporary)
        throw IOFailure("\(temporary): cannot write: \(String(cString: strerror(errno)))")
    }
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw IOFailure("\(path): cannot rename \(temporary) into place: \(String(cString: strerror(errno)))")
    }
}

/// `bytes` written atomically (see `writeAtomically`).
public func writeFileAtomically(_ path: String, bytes: [UInt8]) throws {
    try writeAtomically(path) { file in try bytes.withUnsafeBytes { try file.write($0) } }
}
