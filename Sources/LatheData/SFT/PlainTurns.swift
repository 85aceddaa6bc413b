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

/// A turn whose text lies in the line, escape-free: `text`, then `more` after a blank line
/// when `more` is not empty (an Alpaca instruction and its input, a question's title and body).
struct PlainTurn {
    enum Role {
        case system, user, assistant

        var name: StaticString {
            switch self {
            case .system: "system"
            case .user: "user"
            case .assistant: "assistant"
            }
        }
    }

    var role: Role
    var text: UnsafeBufferPointer<UInt8>
    var more = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

    /// The turn's content.
    var content: String {
        var bytes = Array(text)
        if !more.isEmpty {
            bytes += [0x0A, 0x0A]
            bytes += more
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The plain paths: what `SFTFormatter` makes of an Alpaca or thread record under `settings`
/// (`writesTurnsAsRead`), written from the line's bytes without a String per field; nil
/// unless every turn is plain text that no cleaning rule touches:
/// - no string has an escape, so the bytes between its quotes are its text, and already in
///   `JSONWriter`'s form (it escapes only `"`, `\` and control characters, which an
///   unescaped JSON string cannot hold);
/// - no turn has `<` or `&`, so `HTMLRemnants.clean` returns it as it is;
/// - every turn has an ASCII character other than a space, so none is blank.
/// The general path then reads the record; with these it would write the same bytes.
extension TopMembers {
    func plainAlpaca(_ settings: SFTSettings) -> FormattedExample? {
        guard let system = plainText(system, optional: true), let instruction = plainText(instruction),
              let input = plainText(input, optional: true), let output = plainText(output),
              system.isEmpty || hasInk(system), hasInk(instruction) || hasInk(input), hasInk(output),
              let source = plainSource else { return nil }
        // The turns as `SFTReader.alpaca` makes them.
        return plainExample(settings, id: recordID, format: "alpaca", source: source) { turn in
            if !system.isEmpty { turn(PlainTurn(role: .system, text: system)) }
            turn(PlainTurn(role: .user, text: instruction, more: input))
            turn(PlainTurn(role: .assistant, text: output))
        }
    }

    /// A thread's conversation, or the drop `SFTReader.example(_:source:)` throws for it.
    func plainThread(_ settings: SFTSettings) -> Result<FormattedExample, Dropped>? {
        guard let id = recordID, let question, let answers, let source = plainSource else { return nil }
        let chosen: Int
        do throws(Dropped) {
            chosen = try settings.reader.chosenAnswer(answers.count, score: { answers[$0].votes }, accepted: { answers[$0].accepted })
        } catch {
            return .failure(error)
        }
        guard let title = plainText(question.title), let body = plainText(question.body), let answer = plainText(answers[chosen].body),
              hasInk(title) || hasInk(body), hasInk(answer) else { return nil }
        // The user turn as `QAThread.prompt(title:body:)` makes it.
        let user = title.isEmpty ? PlainTurn(role: .user, text: body) : PlainTurn(role: .user, text: title, more: body)
        return .success(plainExample(settings, id: id, format: "thread", source: source) { turn in
            turn(user)
            turn(PlainTurn(role: .assistant, text: answer))
        })
    }

    /// The record of `turns`, its content key hashed and its id made (when it has none, from
    /// `format`, an ASCII name) as `ContentKey` and `SFTReader.example` do, its source the record's own (`source`, a JSON
    /// string, or empty for none) or the one for `format`.
    private func plainExample(_ settings: SFTSettings, id: String?, format: String, source: UnsafeBufferPointer<UInt8>,
                              turns: ((PlainTurn) -> Void) -> Void) -> FormattedExample {
        var hasher = ContentKey.Hasher()
        var user: String?  // for the split
        turns { turn in
            if settings.split != nil && user == nil && turn.role == .user { user = turn.content }
            hasher.add(turn.role.name)
            hasher.append(turn.text)
            if !turn.more.isEmpty {
                Self.blankLine.withUnsafeBufferPointer { hasher.append($0) }
                hasher.append(turn.more)
            }
            hasher.endPart()
        }
        let key = hasher.finish()

        var object = JSONObjectWriter(capacity: 128 + (id?.utf8.count ?? 0) + scan.end)
        if let id {
            object.string("id", id)
        } else {
            object.field("id") { out in
                out.append(UInt8(ascii: "\""))
                key.appendID(prefix: format, to: &out)
                out.append(UInt8(ascii: "\""))
            }
        }
        object.field("messages") { out in
            out.append(UInt8(ascii: "["))
            var first = true
            turns { turn in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                SFTFormatter.writeMessage(into: &out, role: { out in
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: UnsafeBufferPointer(start: turn.role.name.utf8Start, count: turn.role.name.utf8CodeUnitCount))
                    out.append(UInt8(ascii: "\""))
                }) { out in
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: turn.text)
                    if !turn.more.isEmpty {
                        out.append(contentsOf: #"\n\n"#.utf8)
                        out.append(contentsOf: turn.more)
                    }
                    out.append(UInt8(ascii: "\""))
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        if source.isEmpty {
            object.string("source", settings.reader.source ?? format)
        } else {
            object.field("source") { $0.append(contentsOf: source) }
        }
        let split = settings.split.map { spec in spec.assign(user ?? "", seed: settings.splitSeed) }
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

    /// The record's `source` as a JSON string, quotes included, when it is a string without
    /// escapes; empty when it is missing or null; nil otherwise.
    private var plainSource: UnsafeBufferPointer<UInt8>? {
        guard let source, scan.base[source.start] != UInt8(ascii: "n") else { return UnsafeBufferPointer(start: nil, count: 0) }
        guard scan.base[source.start] == UInt8(ascii: "\""), !source.contents.contains(.escapes) else { return nil }
        return UnsafeBufferPointer(start: scan.base + source.start, count: source.end - source.start)
    }

    /// Whether `text` has an ASCII character other than a space: then `isBlank` is false.
    private func hasInk(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        text.contains { $0 > 0x20 && $0 < 0x80 }
    }
}
