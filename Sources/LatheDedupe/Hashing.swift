import LatheIO

extension UInt64 {
    /// Sixteen lowercase hex digits, the form signature files use.
    var hex16: String {
        let s = String(self, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    init?(hex16 text: Substring) {
        guard text.count == 16, let value = UInt64(text, radix: 16) else { return nil }
        self = value
    }
}
