/// GPT-2's reversible map between bytes and printable Unicode scalars.
///
/// Byte-level BPE vocabularies are written as strings in which every byte is one scalar:
/// the printable Latin-1 bytes stand for themselves and the other 68 (controls, space,
/// 0x7F-0xA0, 0xAD) are moved to U+0100 and up, in byte order. This is the table GPT-2's
/// `bytes_to_unicode` builds and every byte-level `tokenizer.json` is written in.
public enum ByteLevel {
    /// The scalar value each byte is written as.
    public static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 0
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + shifted
                shifted += 1
            }
        }
        return table
    }()

    /// The byte each mapped scalar stands for, or -1 for scalars outside the table.
    /// Indexed by scalar value; every mapped scalar is below 0x144.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x200)
        for b in 0..<256 { table[Int(byteToScalar[b])] = Int16(b) }
        return table
    }()

    /// The vocabulary spelling of raw bytes.
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }

    /// The raw bytes a vocabulary spelling stands for, or nil when some scalar is outside the
    /// table (added tokens such as `<|endoftext|>` are plain text, not byte-level spellings).
    public static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let v = Int(scalar.value)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
            bytes.append(UInt8(scalarToByte[v]))
        }
        return bytes
    }
}
