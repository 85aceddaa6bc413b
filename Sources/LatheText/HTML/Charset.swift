import LatheIO

#if canImport(Glibc)
import Glibc
#endif

/// A page's bytes as UTF-8, with how they were read.
public struct DecodedText: Sendable {
    public var utf8: [UInt8]
    /// The charset the bytes were read as (`utf-8`, `windows-1252`, `shift_jis`, ...).
    public var charset: String
    /// Bytes that were not valid in that charset, each replaced by U+FFFD.
    public var replaced: Int
}

/// Finding a page's charset and converting it to UTF-8.
///
/// The order is the one browsers use, with one exception for pages that lie: a byte-order
/// mark wins, then the HTTP header, then `<meta charset>` in the first 4 KiB; but a page
/// declared as a legacy single-byte or CJK charset whose bytes are valid UTF-8 with
/// multi-byte sequences in them is read as UTF-8 (a declaration left over from a template is
/// far more common than legacy text that happens to be valid UTF-8). A page that declares
/// nothing is UTF-8 if it is valid UTF-8, else windows-1252 (what ISO-8859-1 means on the web).
public enum Charset {
    public static func decode(_ bytes: [UInt8], httpCharset: String? = nil, sniffMeta: Bool = true) -> DecodedText {
        // Most pages are UTF-8 already: they are handed on as they are, not copied.
        switch bytes.withUnsafeBufferPointer({ read($0, httpCharset: httpCharset, sniffMeta: sniffMeta) }) {
        case .utf8AsIs: DecodedText(utf8: bytes, charset: "utf-8", replaced: 0)
        case .decoded(let decoded): decoded
        }
    }

    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, httpCharset: String? = nil, sniffMeta: Bool = true) -> DecodedText {
        switch read(bytes, httpCharset: httpCharset, sniffMeta: sniffMeta) {
        case .utf8AsIs: DecodedText(utf8: Array(bytes), charset: "utf-8", replaced: 0)
        case .decoded(let decoded): decoded
        }
    }

    private enum Reading {
        case utf8AsIs
        case decoded(DecodedText)
    }

    private static func read(_ bytes: UnsafeBufferPointer<UInt8>, httpCharset: String?, sniffMeta: Bool) -> Reading {
        if let (label, skip) = byteOrderMark(bytes) {
            return .decoded(convert(UnsafeBufferPointer(rebasing: bytes[skip...]), label: label))
        }
        let declared = httpCharset.flatMap(canonicalLabel) ?? (sniffMeta ? metaCharset(bytes).flatMap(canonicalLabel) : nil)
        let scan = scanUTF8(bytes)
        if let declared, declared != "utf-8" {
            if scan.valid && scan.multibyte { return .utf8AsIs }
            return .decoded(convert(bytes, label: declared))
        }
        if declared == nil && !scan.valid {
            // Undeclared and not UTF-8: mostly invalid means a legacy page, a stray byte means a damaged UTF-8 one.
            if scan.invalid * 20 > scan.nonASCII { return .decoded(convert(bytes, label: "windows-1252")) }
        }
        if scan.valid { return .utf8AsIs }
        return .decoded(repairUTF8(bytes))
    }

    /// The charset named by a `Content-Type` value (`text/html; charset="Shift_JIS"`).
    public static func parameter(_ contentType: String, _ name: String = "charset") -> String? {
        for part in contentType.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces.lowercased() == name else { continue }
            let value = pair[1].trimmingSpaces.trimmingCharacters(in: "\"'")
            return value.isEmpty ? nil : value
        }
        return nil
    }

    // MARK: Detection

    static func byteOrderMark(_ b: UnsafeBufferPointer<UInt8>) -> (String, Int)? {
        if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { return ("utf-8", 3) }
        if b.count >= 2 && b[0] == 0xFF && b[1] == 0xFE { return ("utf-16le", 2) }
        if b.count >= 2 && b[0] == 0xFE && b[1] == 0xFF { return ("utf-16be", 2) }
        return nil
    }

    /// `<meta charset=X>` or `<meta http-equiv=content-type content="...; charset=X">` in the
    /// first 4 KiB, found by a byte scan (the page is not parsed yet).
    static func metaCharset(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let n = min(bytes.count, 4096)
        var lower = [UInt8](repeating: 0, count: n)
        for i in 0..<n { let b = bytes[i]; lower[i] = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }
        var i = 0
        while let start = find(lower, "<meta", from: i) {
            guard let end = lower[start...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
            let tag = Array(lower[start..<end])
            if let at = find(tag, "charset", from: 0) {
                var j = at + 7
                while j < tag.count && (tag[j] == 0x20 || tag[j] == 0x3D || tag[j] == 0x22 || tag[j] == 0x27) { j += 1 }
                var k = j
                while k < tag.count && (isLabelByte(tag[k])) { k += 1 }
                if k > j { return String(decoding: tag[j..<k], as: UTF8.self) }
            }
            i = end
        }
        return nil
    }

    private static func isLabelByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x3A
    }

    private static func find(_ haystack: [UInt8], _ needle: StaticString, from start: Int) -> Int? {
        let n = needle.utf8CodeUnitCount
        let p = needle.utf8Start
        guard haystack.count >= n, start <= haystack.count - n else { return nil }
        outer: for i in start...(haystack.count - n) {
            for k in 0..<n where haystack[i + k] != p[k] { continue outer }
            return i
        }
        return nil
    }

    /// The label as iconv knows it, following the WHATWG Encoding Standard's aliases where
    /// they differ from the names' literal meaning (ISO-8859-1 is windows-1252, GB2312 is GBK).
    static func canonicalLabel(_ raw: String) -> String? {
        let label = raw.trimmingSpaces.trimmingCharacters(in: "\"'").lowercased()
        guard !label.isEmpty else { return nil }
        switch label {
        case "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8": return "utf-8"
        // A meta tag cannot really declare UTF-16 (it would not be readable as ASCII); browsers read UTF-8.
        case "utf-16", "utf-16le", "utf-16be", "unicode", "ucs-2": return "utf-8"
        case "iso-8859-1", "iso8859-1", "latin1", "l1", "ascii", "us-ascii", "cp1252", "windows-1252", "x-cp1252",
             "iso_8859-1", "cp819", "ibm819", "ansi_x3.4-1968": return "windows-1252"
        case "gb2312", "gbk", "x-gbk", "gb_2312-80", "chinese", "csgb2312", "gb18030", "euc-cn": return "gb18030"
        case "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j", "csshiftjis", "cp932", "ms932": return "cp932"
        case "euc-jp", "x-euc-jp", "eucjp": return "euc-jp"
        case "iso-2022-jp": return "iso-2022-jp"
        case "big5", "big5-hkscs", "x-x-big5", "cn-big5": return "big5-hkscs"
        case "euc-kr", "ks_c_5601-1987", "windows-949", "cp949", "korean", "ksc5601": return "cp949"
        case "iso-8859-9", "latin5": return "windows-1254"
        case "tis-620", "iso-8859-11": return "cp874"
        default:
            if label.hasPrefix("windows-") || label.hasPrefix("iso-8859-") || label.hasPrefix("koi8") || label.hasPrefix("cp")
                || label.hasPrefix("x-mac") || label.hasPrefix("ibm") { return label }
            return label
        }
    }

    struct UTF8Scan {
        var valid = true
        var multibyte = false
        var nonASCII = 0
        var invalid = 0
    }

    static func scanUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> UTF8Scan {
        var scan = UTF8Scan()
        var i = 0
        let n = bytes.count
        while i < n {
            // Skip ASCII eight bytes at a time.
            if i + 8 <= n {
                let word = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
            }
            if bytes[i] < 0x80 { i += 1; continue }
            scan.nonASCII += 1
            let rest = UnsafeBufferPointer(rebasing: bytes[i..<min(n, i + 4)])
            let bad = firstInvalidUTF8(rest)
            if bad == 0 {
                scan.valid = false
                scan.invalid += 1
                i += 1
            } else {
                scan.multibyte = true
                i += sequenceLength(bytes[i])
            }
        }
        return scan
    }

    private static func sequenceLength(_ lead: UInt8) -> Int {
        lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
    }

    // MARK: Conversion

    /// Valid UTF-8 kept, each invalid byte replaced by U+FFFD and counted.
    static func repairUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> DecodedText {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var replaced = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let rest = UnsafeBufferPointer(rebasing: bytes[i...])
            let good = firstInvalidUTF8(rest)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: rest[..<good]))
            i += good
            if i < n {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                replaced += 1
                i += 1
            }
        }
        return DecodedText(utf8: out, charset: "utf-8", replaced: replaced)
    }

    static func convert(_ bytes: UnsafeBufferPointer<UInt8>, label: String) -> DecodedText {
        if label == "utf-8" {
            var decoded = firstInvalidUTF8(bytes) == bytes.count
                ? DecodedText(utf8: Array(bytes), charset: "utf-8", replaced: 0) : repairUTF8(bytes)
            decoded.charset = "utf-8"
            return decoded
        }
        let cd = iconv_open("UTF-8", label)
        if cd == iconv_t(bitPattern: -1) {
            // A charset iconv does not know: read it as UTF-8, replacing what is not.
            var decoded = repairUTF8(bytes)
            decoded.charset = "utf-8"
            return decoded
        }
        defer { iconv_close(cd) }
        var out = [UInt8](repeating: 0, count: bytes.count * 3 + 16)
        var replaced = 0
        var written = 0
        var inOffset = 0
        while inOffset < bytes.count {
            var inLeft = bytes.count - inOffset
            var outLeft = out.count - written
            let result: Int = out.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: bytes.baseAddress! + inOffset).assumingMemoryBound(to: CChar.self)
                var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuffer.baseAddress! + written).assumingMemoryBound(to: CChar.self)
                let r = iconv(cd, &inPointer, &inLeft, &outPointer, &outLeft)
                return r == -1 ? Int(errno) : 0
            }
            inOffset = bytes.count - inLeft
            written = out.count - outLeft
            if result == 0 { break }
            if result == E2BIG {
                out.append(contentsOf: [UInt8](repeating: 0, count: bytes.count + 16))
                continue
            }
            // EILSEQ or EINVAL (a sequence cut at the end): replace one byte and go on.
            if out.count - written < 3 { out.append(contentsOf: [0, 0, 0]) }
            out[written] = 0xEF; out[written + 1] = 0xBF; out[written + 2] = 0xBD
            written += 3
            replaced += 1
            inOffset += 1
            iconv(cd, nil, nil, nil, nil)
        }
        out.removeSubrange(written...)
        return DecodedText(utf8: out, charset: label, replaced: replaced)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(self).trimmingCharacters(in: " \t\r\n")
    }

    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
