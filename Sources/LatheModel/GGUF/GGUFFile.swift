import Foundation

/// A GGUF file's problem, naming the file and what was wrong.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One metadata value. Integers keep their signedness; every width reads back through `int`.
public enum GGUFValue: Sendable, Equatable {
    case unsigned(UInt64)
    case signed(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    public var int: Int? {
        switch self {
        case .unsigned(let v): v <= UInt64(Int.max) ? Int(v) : nil
        case .signed(let v): Int(v)
        default: nil
        }
    }
    public var double: Double? {
        switch self {
        case .float(let v): v
        case .unsigned, .signed: int.map(Double.init)
        default: nil
        }
    }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var array: [GGUFValue]? { if case .array(let a) = self { a } else { nil } }
}

/// A tensor's entry in the header. `dimensions` are ggml's ne, fastest-varying first, so a
/// Hugging Face (out, in) matrix is listed as [in, out] and its bytes are row-major (out, in).
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let dimensions: [Int]
    public let type: GGMLType
    /// Bytes from the start of the data section.
    public let offset: Int
    public var count: Int { dimensions.reduce(1, *) }
    /// The shape in row-major order, slowest first: [out, in] for a matrix.
    public var shape: [Int] { dimensions.reversed() }
}

/// A GGUF file (versions 2 and 3, little-endian) as llama.cpp writes it: a header, metadata
/// key-values, tensor infos, then the tensor data, each tensor at an offset aligned to
/// `general.alignment` (32 by default). The file is mapped, not read; tensors are decoded on request.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let data: Data
    private let dataStart: Int
    private let index: [String: Int]
    private let metadataIndex: [String: Int]

    public convenience init(path: String) throws(GGUFError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw GGUFError("\(path): cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws(GGUFError) {
        self.path = path
        self.data = data
        var reader = Reader(data: data, path: path)
        let magic = try reader.bytes(4)
        guard magic == Array("GGUF".utf8) else {
            throw GGUFError("\(path): not a GGUF file (starts with \(magic.map { String(format: "%02x", $0) }.joined(separator: " ")), expected \"GGUF\")")
        }
        version = Int(try reader.u32())
        guard version == 2 || version == 3 else {
            throw GGUFError("\(path): GGUF version \(version) is not supported; versions 2 and 3 are (re-convert with a recent llama.cpp)")
        }
        let tensorCount = try reader.count("tensor count")
        let kvCount = try reader.count("metadata count")
        var metadata: [(key: String, value: GGUFValue)] = []
        var metadataIndex: [String: Int] = [:]
        for _ in 0..<kvCount {
            let key = try reader.string()
            let value = try reader.value(type: try reader.u32(), key: key)
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }
        self.metadata = metadata
        self.metadataIndex = metadataIndex
        alignment = metadataIndex["general.alignment"].flatMap { metadata[$0].value.int } ?? 32
        guard alignment > 0 && alignment % 8 == 0 else {
            throw GGUFError("\(path): general.alignment is \(alignment); it must be a positive multiple of 8")
        }
        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try reader.string()
            let rank = Int(try reader.u32())
            guard rank >= 1 && rank <= 4 else { throw GGUFError("\(path): tensor \(name) has \(rank) dimensions; ggml allows 1 to 4") }
            var dims: [Int] = []
            for _ in 0..<rank { dims.append(try reader.count("dimension of \(name)")) }
            let raw = try reader.u32()
            guard let type = GGMLType(rawValue: raw) else {
                throw GGUFError("\(path): tensor \(name) has ggml type \(raw), which Lathe does not read; supported are "
                                + GGMLType.supportedNames)
            }
            let offset = try reader.count("offset of \(name)")
            guard offset % alignment == 0 else { throw GGUFError("\(path): tensor \(name) at offset \(offset) is not aligned to \(alignment)") }
            index[name] = tensors.count
            tensors.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: offset))
        }
        self.tensors = tensors
        self.index = index
        dataStart = (reader.position + alignment - 1) / alignment * alignment
        for t in tensors {
            guard t.dimensions[0] % t.type.blockSize == 0 else {
                throw GGUFError("\(path): tensor \(t.name) has rows of \(t.dimensions[0]), not a multiple of \(t.type)'s block of \(t.type.blockSize)")
            }
            let end = dataStart + t.offset + t.count / t.type.blockSize * t.type.blockBytes
            guard end <= data.count else {
                throw GGUFError("\(path): tensor \(t.name) ends at byte \(end), past the end of the file (\(data.count) bytes); the file is truncated")
            }
        }
    }

    public subscript(key: String) -> GGUFValue? { metadataIndex[key].map { metadata[$0].value } }

    public func tensorInfo(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The tensor `name` dequantised to fp32 into `out` (count elements, row-major).
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>) throws(GGUFError) {
        guard let info = tensorInfo(name) else { throw GGUFError("\(path): no tensor named \(name)") }
        data.withUnsafeBytes { raw in
            Dequantize.row(info.type, raw.baseAddress! + dataStart + info.offset, into: out, count: info.count)
        }
    }

    public func read(_ name: String) throws(GGUFError) -> [Float] {
        let count = tensorInfo(name)?.count ?? 0
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { (buffer) throws(GGUFError) in try read(name, into: buffer.baseAddress!) }
        return out
    }
}

/// Little-endian cursor over the header, with an error at the byte where it ran out.
private struct Reader {
    let data: Data
    let path: String
    var position = 0

    mutating func bytes(_ n: Int) throws(GGUFError) -> [UInt8] {
        guard n >= 0, position + n <= data.count else {
            throw GGUFError("\(path): header ends early at byte \(position) (needed \(n) more bytes); the file is truncated")
        }
        let start = data.startIndex + position
        position += n
        return [UInt8](data[start..<start + n])
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        let b = try bytes(MemoryLayout<T>.size)
        var v: T = 0
        for (i, byte) in b.enumerated() { v |= T(truncatingIfNeeded: byte) << (8 * i) }
        return v
    }

    mutating func u32() throws(GGUFError) -> UInt32 { try integer(UInt32.self) }

    /// A u64 count or size, bounded by the file's length so a corrupt header cannot ask for terabytes.
    mutating func count(_ what: String) throws(GGUFError) -> Int {
        let at = position
        let v = try integer(UInt64.self)
        guard v <= UInt64(1 << 40) else { throw GGUFError("\(path): \(what) at byte \(at) is \(v); the header is corrupt") }
        return Int(v)
    }

    mutating func string() throws(GGUFError) -> String {
        let n = try count("string length")
        return String(decoding: try bytes(n), as: UTF8.self)
    }

    mutating func value(type: UInt32, key: String) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .unsigned(UInt64(try integer(UInt8.self)))
        case 1: return .signed(Int64(try integer(Int8.self)))
        case 2: return .unsigned(UInt64(try integer(UInt16.self)))
        case 3: return .signed(Int64(try integer(Int16.self)))
        case 4: return .unsigned(UInt64(try integer(UInt32.self)))
        case 5: return .signed(Int64(try integer(Int32.self)))
        case 6:
            // Through Float's shortest decimal form, so an f32 1e-5 reads as 1e-5, not 9.99999974e-06.
            let f = Float(bitPattern: try integer(UInt32.self))
            return .float(f.isFinite ? Double("\(f)")! : Double(f))
        case 7: return .bool(try integer(UInt8.self) != 0)
        case 8: return .string(try string())
        case 9:
            let elementType = try u32()
            let n = try count("length of array \(key)")
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try value(type: elementType, key: key)) }
            return .array(values)
        case 10: return .unsigned(try integer(UInt64.self))
        case 11: return .signed(try integer(Int64.self))
        case 12: return .float(Double(bitPattern: try integer(UInt64.self)))
        default: throw GGUFError("\(path): metadata \(key) has value type \(type), which GGUF does not define (0 to 12)")
        }
    }
}
