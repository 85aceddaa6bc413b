/// Writes one JSON object straight into bytes, field by field, in the compact form
/// `JSONWriter` gives: for stages that make records in bulk, where building a `JSONValue` only
/// to serialise it would cost more than the rest of the work.
///
/// Field names are literals of the code (they need no escaping); values are strings escaped as
/// they are copied, `JSONValue`s, or JSON already serialised (a string escaped once and written
/// into many records).
public struct JSONObjectWriter {
    private var bytes: [UInt8] = []
    private var empty = true

    /// `capacity`: the bytes expected, to spare the buffer's regrowth.
    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Starts the field `name` and lets `value` write its JSON.
    public mutating func field(_ name: StaticString, _ value: (inout [UInt8]) -> Void) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        value(&bytes)
    }

    public mutating func string(_ name: StaticString, _ value: String) {
        field(name) { JSONWriter.writeString(value, into: &$0) }
    }

    public mutating func value(_ name: StaticString, _ value: JSONValue) {
        field(name) { JSONWriter.write(value, into: &$0) }
    }

    /// `json` is written as it is: it must be one serialised JSON value.
    public mutating func serialised(_ name: StaticString, _ json: [UInt8]) {
        field(name) { $0.append(contentsOf: json) }
    }

    /// The object's bytes, closed; a JSON line without its newline. The writer is left empty,
    /// so the bytes are handed over, not copied.
    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        defer { bytes = [] }
        return bytes
    }
}
