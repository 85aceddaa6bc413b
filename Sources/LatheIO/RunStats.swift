/// What a run did: records in, out and dropped by reason, bytes and time. Every tool prints
/// it as one summary line on stderr and can write it as JSON (`--stats FILE`), so nothing is
/// lost without a count.
public struct RunStats: Sendable, Equatable {
    public var recordsIn = 0
    public var recordsOut = 0
    /// Dropped records by reason; a record skipped for an error counts here under its reason.
    public var dropped: [String: Int] = [:]
    public var bytesIn = 0
    public var bytesOut = 0
    public var seconds = 0.0
    /// What went to each split file under `--out-dir`; `bytesOut` counts them all.
    public var splits: [Split] = []

    public struct Split: Sendable, Equatable {
        public var name: String
        public var recordsOut: Int
        public var bytesOut: Int
    }

    public init() {}

    public var droppedTotal: Int { dropped.values.reduce(0, +) }

    public mutating func drop(_ reason: String, count: Int = 1) {
        dropped[reason, default: 0] += count
    }

    public mutating func merge(_ other: RunStats) {
        recordsIn += other.recordsIn
        recordsOut += other.recordsOut
        for (reason, n) in other.dropped { dropped[reason, default: 0] += n }
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        splits += other.splits
    }

    /// Reasons by count, most frequent first, ties by name, so the line reads the same each run.
    public var droppedByFrequency: [(reason: String, count: Int)] {
        dropped.map { (reason: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.reason < $1.reason }
    }

    /// `lathe-dedupe: 1,000 in, 950 out, 50 dropped (near_duplicate 40, exact_duplicate 10); 12.3 MB in 0.41 s (30.0 MB/s)`
    public func summaryLine(tool: String) -> String {
        var line = "\(tool): \(Self.grouped(recordsIn)) in, \(Self.grouped(recordsOut)) out, \(Self.grouped(droppedTotal)) dropped"
        if !dropped.isEmpty {
            line += " (" + droppedByFrequency.map { "\($0.reason) \(Self.grouped($0.count))" }.joined(separator: ", ") + ")"
        }
        line += "; \(Self.megabytes(bytesIn)) in \(Self.fixed(seconds, 2)) s"
        if seconds > 0 { line += " (\(Self.fixed(Double(bytesIn) / 1e6 / seconds, 1)) MB/s)" }
        return line
    }

    public func json(tool: String) -> JSONValue {
        var reasons = JSONObject()
        for (reason, count) in droppedByFrequency { reasons[reason] = .number(JSONNumber(count)) }
        var object = JSONObject([
            ("tool", .string(tool)),
            ("records_in", .number(JSONNumber(recordsIn))),
            ("records_out", .number(JSONNumber(recordsOut))),
            ("dropped", .number(JSONNumber(droppedTotal))),
            ("dropped_by_reason", .object(reasons)),
            ("bytes_in", .number(JSONNumber(bytesIn))),
            ("bytes_out", .number(JSONNumber(bytesOut))),
            ("seconds", JSONNumber(seconds).map(JSONValue.number) ?? .null),
        ])
        if !splits.isEmpty {
            var byName = JSONObject()
            for split in splits {
                byName[split.name] = .object(JSONObject([("records_out", .number(JSONNumber(split.recordsOut))),
                                                          ("bytes_out", .number(JSONNumber(split.bytesOut)))]))
            }
            object["splits"] = .object(byName)
        }
        return .object(object)
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    public static func megabytes(_ bytes: Int) -> String {
        bytes >= 1_000_000 ? "\(fixed(Double(bytes) / 1e6, 1)) MB" : "\(fixed(Double(bytes) / 1e3, 1)) kB"
    }

    /// `value` with `places` decimals, without Foundation's locale-dependent formatting.
    static func fixed(_ value: Double, _ places: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        var fraction = String(Int(scaled - Double(whole) * scale))
        while fraction.count < places { fraction = "0" + fraction }
        let sign = value < 0 && scaled > 0 ? "-" : ""
        return places == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }
}
