#if canImport(Glibc)
import Glibc
#endif
import LatheIO

extension SFTSettings {
    /// Whether the written turns are the turns read when none needs cleaning: no system turn
    /// added, no length, refusal or token rule, no rendering, the messages style.
    var writesTurnsAsRead: Bool {
        system == nil && minChars <= 1 && maxChars == nil && refusals == nil && template == nil && style == .messages
    }
}

extension TopMembers {
    /// What `SFTFormatter` makes of this Alpaca record under `settings` (`writesTurnsAsRead`),
    /// written from the line's bytes without a String per field; nil unless every turn is
    /// plain text that no cleaning rule touches:
    /// - no string has an escape, so the bytes between its quotes are its text, and already in
    ///   `JSONWriter`'s form (it escapes only `"`, `\` and control characters, which an
    ///   unescaped JSON string cannot hold);
    /// - no turn has `<` or `&`, so `HTMLRemnants.clean` returns it as it is;
    /// - every turn has an ASCII character other than a space, so none is blank.
    /// The general path then reads the record; with these it would write the same bytes.
    func plainAlpaca(_ settings: SFTSettings) -> FormattedExample? {
        guard let system = plainText(system, optional: true), let instruction = plainText(instruction),
              let input = plainText(input, optional: true), let output = plainText(output),
              system.isEmpty || hasInk(system), hasInk(instruction) || hasInk(input), hasInk(output) else { return nil }
        // The turns as `SFTReader.alpaca` makes them, the user's in two pieces.
        func eachTurn(_ body: (String, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Void) {
            if !system.isEmpty { body("system", system, UnsafeBufferPointer(start: nil, count: 0)) }
            body("user", instruction, input)
            body("assistant", output, UnsafeBufferPointer(start: nil, count: 0))
        }
        let sourceBytes: UnsafeBufferPointer<UInt8>?
        if let source, scan.base[source.start] != UInt8(ascii: "n") {
            guard scan.base[source.start] == UInt8(ascii: "\""), !source.contents.contains(.escapes) else { return nil }
            sourceBytes = UnsafeBufferPointer(start: scan.base + source.start, count: source.end - source.start)
        } else {
            sourceBytes = nil
        }

        var hasher = ContentKey.Hasher()
        eachTurn { role, text, more in
            hasher.add(role)
            hasher.append(text)
            if !more.isEmpty {
                Self.blankLine.withUnsafeBufferPointer { hasher.append($0) }
                hasher.append(more)
            }
            hasher.endPart()
        }
        let key = hasher.finish()
        let id = recordID ?? key.id(prefix: "alpaca")

        var object = JSONObjectWriter(capacity: 96 + id.utf8.count + scan.end)
        object.string("id", id)
        object.field("messages") { out in
            out.append(UInt8(ascii: "["))
            var first = true
            eachTurn { role, text, more in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                SFTFormatter.writeMessage(role, into: &out) { out in
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: text)
                    if !more.isEmpty {
                        out.append(contentsOf: #"\n\n"#.utf8)
                        out.append(contentsOf: more)
                    }
                    out.append(UInt8(ascii: "\""))
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        if let sourceBytes {
            object.field("source") { $0.append(contentsOf: sourceBytes) }
        } else {
            object.string("source", settings.reader.source ?? "alpaca")
        }
        let split = settings.split.map { spec in spec.assign((try? alpacaUser()) ?? "", seed: settings.splitSeed) }
        return FormattedExample(line: object.finish(), contentKey: key, split: split)
    }

    private static let blankLine: [UInt8] = [0x0A, 0x0A]

    /// The bytes of the string `value` when it has no escape, `<` or `&`; empty for a member
    /// that is missing or null when it is `optional`; nil otherwise.
    private func plainText(_ value: Value?, optional: Bool = false) -> UnsafeBufferPointer<UInt8>? {
        guard let value, scan.base[value.start] != UInt8(ascii: "n") else { return optional ? UnsafeBufferPointer(start: nil, count: 0) : nil }
        guard scan.base[value.start] == UInt8(ascii: "\""), !value.contents.contains(.escapes) else { return nil }
        let text = raw(value)
        guard let base = text.baseAddress, !text.isEmpty else { return text }
        guard memchr(base, Int32(UInt8(ascii: "<")), text.count) == nil, memchr(base, Int32(UInt8(ascii: "&")), text.count) == nil else { return nil }
        return text
    }

    /// Whether `text` has an ASCII character other than a space: then `isBlank` is false.
    private func hasInk(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        text.contains { $0 > 0x20 && $0 < 0x80 }
    }
}
