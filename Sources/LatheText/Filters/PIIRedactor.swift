// PII redaction: email addresses, public IP addresses and phone numbers are replaced by fixed
// placeholders, counted per kind. Like datatrove's PIIFormatter (which FineWeb ran), only
// public (globally routable) IPv4 addresses are replaced, and private or reserved ones stay;
// Lathe adds IPv6 and phone numbers, and is stricter about what a match may touch:
//  - an address or number must stand alone: `v1.2.3.4`, `1.2.3.4.5`, `123.45.67.890` and a
//    dotted quad with leading zeros are left as they are (datatrove's unanchored pattern
//    would cut an address out of the middle of them);
//  - an email's top-level domain is letters only and not a file extension, so `icon@2x.png`
//    and `@media` stay; an email inside code is still an email and is replaced;
//  - a phone number is a whole run of digit groups shaped like one: `+` and 8-15 digits,
//    North American `(555) 123-4567` / `555-123-4567` / `1-800-555-0199`, or a national
//    number starting with 0 (`030 1234 5678`, `06 12 34 56 78`); dates (`2024-01-15`),
//    ISBNs, versions, prices and bare digit runs are never phone numbers.
// The placeholders are themselves reserved addresses (RFC 2606, 5737, 3849) and a 555
// number, so redacting twice changes nothing.

public enum PIIKind: String, CaseIterable, Sendable, Hashable {
    case email, ip, phone

    /// Parses `email,ip,phone` as `--redact` takes it.
    public static func parseList(_ list: String) throws -> Set<PIIKind> {
        var kinds = Set<PIIKind>()
        for part in list.split(separator: ",") {
            let name = part.trimmingCharacters(in: " ")
            guard let kind = PIIKind(rawValue: name) else {
                throw FilterConfigError(message: "unknown PII kind '\(name)': expected a comma-separated list of email, ip, phone")
            }
            kinds.insert(kind)
        }
        return kinds
    }
}

public struct FilterConfigError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}

public struct PIIRedactor: Sendable {
    public struct Placeholders: Sendable, Equatable {
        public var email = "email@example.com"
        public var ipv4 = "192.0.2.1"
        public var ipv6 = "2001:db8::1"
        public var phone = "+1-555-0100"
        public init() {}
    }

    public let kinds: Set<PIIKind>
    public let placeholders: Placeholders

    public init(kinds: Set<PIIKind> = Set(PIIKind.allCases), placeholders: Placeholders = Placeholders()) {
        self.kinds = kinds
        self.placeholders = placeholders
    }

    /// The text with every match replaced, and how many of each kind (`email`, `ip`, `phone`)
    /// were replaced; kinds with no match are absent.
    public func redact(_ text: String) -> (text: String, counts: [String: Int]) {
        let s = Array(text.unicodeScalars.map(\.value))
        var matches: [(span: Span, kind: PIIKind, placeholder: String)] = []
        if kinds.contains(.email) { matches += emails(s).map { ($0, .email, placeholders.email) } }
        if kinds.contains(.ip) {
            matches += ipv4s(s).map { ($0, .ip, placeholders.ipv4) }
            matches += ipv6s(s).map { ($0, .ip, placeholders.ipv6) }
        }
        if kinds.contains(.phone) { matches += phones(s).map { ($0, .phone, placeholders.phone) } }
        guard !matches.isEmpty else { return (text, [:]) }
        matches.sort { $0.span.start < $1.span.start }

        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var counts: [String: Int] = [:]
        var at = 0
        for m in matches where m.span.start >= at {
            let original = Array(s[m.span.start..<m.span.end])
            let replacement = Array(m.placeholder.unicodeScalars.map(\.value))
            out.append(contentsOf: s[at..<m.span.start])
            out.append(contentsOf: replacement)
            at = m.span.end
            if original != replacement { counts[m.kind.rawValue, default: 0] += 1 }
        }
        out.append(contentsOf: s[at...])
        return (utf8String(out), counts)
    }

    // MARK: - email

    private static func isLocalChar(_ c: UInt32) -> Bool {
        if c < 0x80 && (TextFacts.isAlpha(c) || TextFacts.isDigit(c)) { return true }
        return "!#$%&'*+/=?^_`{|}~-.".unicodeScalars.contains { $0.value == c }
    }

    private static func isDomainChar(_ c: UInt32) -> Bool {
        c < 0x80 && (TextFacts.isAlpha(c) || TextFacts.isDigit(c) || c == 0x2D)
    }

    private static func isWordChar(_ c: UInt32) -> Bool { TextFacts.isAlpha(c) || TextFacts.isUnicodeDigit(c) || c == 0x5F }

    private static let fileExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css",
                                                      "js", "pdf", "mp4", "tif", "tiff", "avif"]

    func emails(_ s: [UInt32]) -> [Span] {
        var out: [Span] = []
        for at in s.indices where s[at] == 0x40 {
            // local part: back over local characters, then forward to the first word character
            // (the `\b` datatrove's pattern starts with), with no leading, trailing or double dot.
            var a = at
            while a > 0 && Self.isLocalChar(s[a - 1]) { a -= 1 }
            while a < at && !Self.isWordChar(s[a]) { a += 1 }
            guard a < at, s[at - 1] != 0x2E, a == 0 || !Self.isWordChar(s[a - 1]) else { continue }
            if (a..<(at - 1)).contains(where: { s[$0] == 0x2E && s[$0 + 1] == 0x2E }) { continue }
            // domain: labels of letters, digits and inner hyphens, at least two.
            var b = at + 1
            var labels: [Span] = []
            while true {
                var e = b
                while e < s.count && Self.isDomainChar(s[e]) { e += 1 }
                guard e > b, s[b] != 0x2D, s[e - 1] != 0x2D else { break }
                labels.append(Span(start: b, end: e))
                guard e + 1 < s.count, s[e] == 0x2E, Self.isDomainChar(s[e + 1]) else { break }
                b = e + 1
            }
            guard labels.count >= 2, let tld = labels.last, tld.count >= 2, tld.count <= 63,
                  (tld.start..<tld.end).allSatisfy({ TextFacts.isAlpha(s[$0]) }) else { continue }
            let tldText = String(String.UnicodeScalarView((tld.start..<tld.end).map { Unicode.Scalar(s[$0] | 0x20)! }))
            guard !Self.fileExtensions.contains(tldText) else { continue }
            if tld.end < s.count && Self.isWordChar(s[tld.end]) { continue }
            out.append(Span(start: a, end: tld.end))
        }
        return out
    }

    // MARK: - IPv4

    /// True when `s[i]` may border an address: not a letter, digit or `_`, and not a `.` or `-`
    /// that the number goes on after.
    private static func standsApart(_ s: [UInt32], _ i: Int, outward: Int) -> Bool {
        guard i >= 0 && i < s.count else { return true }
        let c = s[i]
        if isWordChar(c) { return false }
        if c == 0x2E || c == 0x2D {
            // `1.2.3.4.5`, `4.3.2.1-beta`: the number goes on
            let j = i + outward
            if j >= 0 && j < s.count && isWordChar(s[j]) { return false }
        }
        return true
    }

    func ipv4s(_ s: [UInt32]) -> [Span] {
        var out: [Span] = []
        var i = 0
        while i < s.count {
            guard TextFacts.isDigit(s[i]), Self.standsApart(s, i - 1, outward: -1) else { i += 1; continue }
            var octets: [Int] = []
            var j = i
            var valid = true
            while octets.count < 4 {
                var k = j, v = 0
                while k < s.count && TextFacts.isDigit(s[k]) && k - j < 4 { v = v * 10 + Int(s[k] - 0x30); k += 1 }
                let len = k - j
                if len == 0 || len > 3 || v > 255 || (len > 1 && s[j] == 0x30) { valid = false }
                octets.append(v)
                j = k
                if octets.count < 4 {
                    guard j + 1 < s.count, s[j] == 0x2E, TextFacts.isDigit(s[j + 1]) else { valid = false; break }
                    j += 1
                }
            }
            if valid && octets.count == 4 && Self.standsApart(s, j, outward: 1) && Self.isGlobalIPv4(octets) {
                out.append(Span(start: i, end: j))
                i = j
            } else {
                // skip the rest of this number run so no address is cut from its middle
                while i < s.count && (TextFacts.isDigit(s[i]) || s[i] == 0x2E) { i += 1 }
            }
        }
        return out
    }

    /// Python's `ipaddress` `is_global` for IPv4: not private, reserved, shared or documentation.
    static func isGlobalIPv4(_ o: [Int]) -> Bool {
        let v = UInt32(o[0]) << 24 | UInt32(o[1]) << 16 | UInt32(o[2]) << 8 | UInt32(o[3])
        let nonGlobal: [(UInt32, Int)] = [
            (0x0000_0000, 8), (0x0A00_0000, 8), (0x6440_0000, 10), (0x7F00_0000, 8), (0xA9FE_0000, 16),
            (0xAC10_0000, 12), (0xC000_0000, 29), (0xC000_00AA, 31), (0xC000_0200, 24), (0xC0A8_0000, 16),
            (0xC612_0000, 15), (0xC633_6400, 24), (0xCB00_7100, 24), (0xF000_0000, 4), (0xFFFF_FFFF, 32),
        ]
        for (net, bits) in nonGlobal {
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
            if v & mask == net { return false }
        }
        return true
    }

    // MARK: - IPv6

    private static func isHex(_ c: UInt32) -> Bool {
        TextFacts.isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66)
    }

    func ipv6s(_ s: [UInt32]) -> [Span] {
        var out: [Span] = []
        var i = 0
        while i < s.count {
            guard Self.isHex(s[i]) || s[i] == 0x3A else { i += 1; continue }
            var j = i
            while j < s.count && (Self.isHex(s[j]) || s[j] == 0x3A) { j += 1 }
            defer { i = max(j, i + 1) }
            guard Self.standsApart(s, i - 1, outward: -1), Self.standsApart(s, j, outward: 1) else { continue }
            // a trailing `:` is punctuation ("address 2001:db8::1: unreachable")
            var end = j
            if end - i >= 2 && s[end - 1] == 0x3A && s[end - 2] != 0x3A { end -= 1 }
            if let groups = Self.parseIPv6(s, i, end), Self.isGlobalIPv6(groups) { out.append(Span(start: i, end: end)) }
        }
        return out
    }

    /// The eight 16-bit groups, or nil when `s[a..<b]` is not an IPv6 address.
    static func parseIPv6(_ s: [UInt32], _ a: Int, _ b: Int) -> [UInt16]? {
        let text = (a..<b).map { s[$0] }
        guard text.filter({ $0 == 0x3A }).count >= 2 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var seenGap = false
        var parts = text.split(separator: 0x3A, omittingEmptySubsequences: false).map(Array.init)
        // "::" makes empty parts: at most one gap, possibly at either end.
        if parts.first?.isEmpty == true && parts.count > 1 && parts[1].isEmpty { parts.removeFirst() }
        if parts.last?.isEmpty == true && parts.count > 1 && parts[parts.count - 2].isEmpty { parts.removeLast() }
        for p in parts {
            if p.isEmpty {
                if seenGap { return nil }
                seenGap = true
                continue
            }
            guard p.count <= 4 else { return nil }
            var v: UInt16 = 0
            for c in p {
                let d = TextFacts.isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10
                v = v << 4 | UInt16(d)
            }
            if seenGap { tail.append(v) } else { head.append(v) }
        }
        let n = head.count + tail.count
        if seenGap ? n > 7 : n != 8 { return nil }
        return head + Array(repeating: 0, count: 8 - n) + tail
    }

    /// Global unicast (2000::/3) outside documentation (2001:db8::/32) and the special
    /// 2001::/23 block; everything else (loopback, link-local, unique-local, mapped) is not public.
    static func isGlobalIPv6(_ g: [UInt16]) -> Bool {
        guard g[0] & 0xE000 == 0x2000 else { return false }
        if g[0] == 0x2001 && g[1] == 0x0DB8 { return false }
        if g[0] == 0x2001 && g[1] < 0x0200 { return false }
        return true
    }

    // MARK: - phone numbers

    func phones(_ s: [UInt32]) -> [Span] {
        var out: [Span] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            let starts = c == 0x2B || c == 0x28 || TextFacts.isDigit(c)
            guard starts, i == 0 || !(Self.isWordChar(s[i - 1]) || "+-./_(".unicodeScalars.contains { $0.value == s[i - 1] })
            else { i += 1; continue }
            if let (end, groups, plus, parenFirst) = phoneRun(s, i),
               Self.isPhoneShape(groups, plus: plus, parenFirst: parenFirst, firstDigit: firstDigit(s, i)) {
                out.append(Span(start: i, end: end))
                i = end
            } else {
                i += 1
                while i < s.count && (TextFacts.isDigit(s[i]) || s[i] == 0x2E || s[i] == 0x2D) { i += 1 }
            }
        }
        return out
    }

    /// Digit groups from `i`, separated by one space, `-` or `.` (or a parenthesised group);
    /// nil when the run continues into letters or another number.
    private func phoneRun(_ s: [UInt32], _ start: Int) -> (Int, [Int], Bool, Bool)? {
        var i = start
        var plus = false, parenFirst = false
        if s[i] == 0x2B { plus = true; i += 1 }
        var groups: [Int] = []
        var end = i
        while i < s.count && groups.count < 8 {
            var paren = false
            if s[i] == 0x28 { paren = true; i += 1 }
            var k = i
            while k < s.count && TextFacts.isDigit(s[k]) { k += 1 }
            guard k > i else { break }
            if paren {
                guard k < s.count && s[k] == 0x29 else { return nil }
                if groups.isEmpty { parenFirst = true }
                k += 1
            }
            groups.append(k - i - (paren ? 1 : 0))
            end = k
            i = k
            guard i + 1 < s.count else { break }
            let sep = s[i]
            if sep == 0x20 || sep == 0x2D || sep == 0x2E {
                guard TextFacts.isDigit(s[i + 1]) || s[i + 1] == 0x28 else { break }
                i += 1
            } else if paren && (TextFacts.isDigit(sep) || sep == 0x28) {
                continue
            } else {
                break
            }
        }
        guard !groups.isEmpty else { return nil }
        if end < s.count && (Self.isWordChar(s[end]) || s[end] == 0x2F) { return nil }
        if end + 1 < s.count && (s[end] == 0x2E || s[end] == 0x2D || s[end] == 0x2C) && TextFacts.isDigit(s[end + 1]) { return nil }
        return (end, groups, plus, parenFirst)
    }

    private func firstDigit(_ s: [UInt32], _ i: Int) -> UInt32 {
        var k = i
        while k < s.count && !TextFacts.isDigit(s[k]) { k += 1 }
        return k < s.count ? s[k] - 0x30 : 10
    }

    static func isPhoneShape(_ groups: [Int], plus: Bool, parenFirst: Bool, firstDigit: UInt32) -> Bool {
        let digits = groups.reduce(0, +)
        if plus { return groups.count >= 2 && digits >= 8 && digits <= 15 && groups[0] <= 3 }
        if groups == [3, 3, 4] { return true }
        if groups == [1, 3, 3, 4] { return firstDigit == 1 && !parenFirst }
        // national numbers with a trunk 0: `030 1234 5678`, `06 12 34 56 78`
        if firstDigit == 0 && groups.count >= 2 && groups[0] >= 2 && groups[0] <= 5 && groups.allSatisfy({ $0 >= 2 }) {
            return digits >= 9 && digits <= 12
        }
        return false
    }
}
