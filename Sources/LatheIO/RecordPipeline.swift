import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What to do with a record that cannot be processed.
public enum OnError: String, Sendable, CaseIterable {
    /// Stop the run at the first bad record, naming it (the default).
    case fail
    /// Count it under its reason, pass it to `--rejects`, and go on.
    case skip
}

/// What a stage makes of one record: records to keep, and records dropped with a reason.
public enum Outcome: Sendable {
    case keep(JSONValue)
    /// `detail` says more than the reason (which violation, which duplicate) and goes to
    /// `--rejects` beside it.
    case drop(JSONValue, reason: String, detail: JSONValue? = nil)
}

/// The settings every streaming tool shares (DESIGN.md, command-line conventions).
public struct PipelineConfig: Sendable {
    public var tool: String
    /// Input paths; empty, or `-`, means stdin.
    public var inputs: [String]
    public var output = "-"
    public var gzipLevel: Int32? = nil
    public var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var onError = OnError.fail
    public var rejectsPath: String? = nil
    public var statsPath: String? = nil
    public var maxLineBytes = LineBatcher.defaultMaxLineBytes
    public var maxDepth = JSONParser.defaultMaxDepth
    public var quiet = false
    /// Whether to draw the progress line; the CLI sets it when stderr is a terminal.
    public var progress = false

    public init(tool: String, inputs: [String]) {
        self.tool = tool
        self.inputs = inputs.isEmpty ? ["-"] : inputs
    }

    /// Output to `/dev/null` (validate without -o, a scan) is counted but never serialised.
    public var discardsOutput: Bool { output == "/dev/null" }
    /// The stage never changes a record it keeps, so kept records are written as their input
    /// lines: nothing is re-serialised, and the output keeps the input's bytes (dedupe, filters).
    public var keptAsRead = false
}

/// A dropped record as the shared machinery saw it, for tools that report the first few.
public struct DropReport: Sendable {
    public var location: SourceLocation
    public var reason: String
    public var detail: JSONValue?
}

/// The one place where records leave a tool: output, `--rejects`, stats, the summary line
/// and the progress line. Stages only say keep or drop; this counts and writes.
public final class RecordSink {
    public let config: PipelineConfig
    public private(set) var stats = RunStats()
    /// The first drops with where they came from, for tools that print them (validate).
    public private(set) var firstDrops: [DropReport] = []
    public var keepFirstDrops = 0
    private let output: OutputSink
    private let rejects: OutputSink?
    private let started = Date()
    private var lastProgress = Date.distantPast
    private var progressShown = false

    public init(config: PipelineConfig) throws {
        self.config = config
        let gzip = config.gzipLevel ?? (OutputSink.wantsGzip(config.output) ? 6 : nil)
        output = try OutputSink(path: config.output, gzipLevel: gzip)
        rejects = try config.rejectsPath.map { try OutputSink(path: $0, gzipLevel: OutputSink.wantsGzip($0) ? 6 : nil) }
    }

    /// Writes a kept record.
    public func emit(_ record: JSONValue) throws {
        try output.write(record)
        stats.recordsOut += 1
    }

    /// Writes a kept record as its input line (without the newline, which this adds).
    public func emitLine(_ line: ArraySlice<UInt8>) throws {
        try line.withUnsafeBytes { try output.write($0) }
        try output.write([0x0A])
        stats.recordsOut += 1
    }

    /// Counts records that the tool wrote elsewhere than the output.
    public func countOut(_ records: Int) {
        stats.recordsOut += records
    }

    /// Counts the records and bytes written to a split file under `--out-dir` (in place of the output).
    public func countSplit(_ name: String, records: Int, bytes: Int) {
        stats.recordsOut += records
        stats.splits.append(RunStats.Split(name: name, recordsOut: records, bytesOut: bytes))
    }

    /// Counts a dropped record and passes it to `--rejects` with its reason.
    public func drop(_ record: JSONValue, reason: String, detail: JSONValue? = nil, at location: SourceLocation? = nil) throws {
        stats.drop(reason)
        if let rejects { try rejects.write(Self.rejectRecord(record, reason: reason, detail: detail)) }
        if firstDrops.count < keepFirstDrops, let location {
            firstDrops.append(DropReport(location: location, reason: reason, detail: detail))
        }
    }

    /// The record with `reason` (and `detail`) added; a non-object record is wrapped.
    public static func rejectRecord(_ record: JSONValue, reason: String, detail: JSONValue?) -> JSONValue {
        if case .object(var object) = record {
            object["reason"] = .string(reason)
            if let detail { object["reason_detail"] = detail }
            return .object(object)
        }
        var object = JSONObject([("reason", .string(reason)), ("record", record)])
        if let detail { object["reason_detail"] = detail }
        return .object(object)
    }

    /// Lines that a worker already serialised, in order.
    func absorb(_ batch: BatchResult) throws {
        if !batch.output.isEmpty { try output.write(batch.output) }
        if let rejects, !batch.rejects.isEmpty { try rejects.write(batch.rejects) }
        for report in batch.drops where firstDrops.count < keepFirstDrops { firstDrops.append(report) }
        stats.merge(batch.stats)
    }

    public func countIn(records: Int = 1, bytes: Int) {
        stats.recordsIn += records
        stats.bytesIn += bytes
    }

    /// Redraws the progress line at most four times a second.
    public func progress(consumed: Int, total: Int?) {
        guard config.progress && !config.quiet else { return }
        let now = Date()
        guard now.timeIntervalSince(lastProgress) >= 0.25 else { return }
        lastProgress = now
        let elapsed = now.timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(stats.bytesIn) / 1e6 / elapsed : 0
        var line = "\(config.tool): \(RunStats.grouped(stats.recordsIn)) records, \(RunStats.megabytes(stats.bytesIn)), \(RunStats.fixed(rate, 1)) MB/s"
        if let total, total > 0, consumed > 0 {
            let remaining = elapsed * Double(total - consumed) / Double(consumed)
            line += ", \(Int(100 * Double(consumed) / Double(total)))%, ETA \(Self.clock(remaining))"
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        progressShown = true
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(max(0, seconds).rounded())
        return s >= 3600 ? "\(s / 3600):\(String(format: "%02d:%02d", s / 60 % 60, s % 60))" : "\(s / 60):\(String(format: "%02d", s % 60))"
    }

    /// Closes output and rejects (always leaving them valid), writes `--stats` and prints the
    /// summary line. Called on success and on failure alike.
    public func finish() throws {
        stats.seconds = Date().timeIntervalSince(started)
        if progressShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        var firstError: Error?
        do { try output.close() } catch { firstError = error }
        do { try rejects?.close() } catch { firstError = firstError ?? error }
        stats.bytesOut = output.bytesWritten + stats.splits.reduce(0) { $0 + $1.bytesOut }
        if let path = config.statsPath {
            do {
                let sink = try OutputSink(path: path)
                try sink.write(stats.json(tool: config.tool))
                try sink.close()
            } catch { firstError = firstError ?? error }
        }
        if !config.quiet {
            FileHandle.standardError.write(Data((stats.summaryLine(tool: config.tool) + "\n").utf8))
        }
        if let firstError { throw firstError }
    }
}

/// What a worker makes of one batch of lines: serialised output and rejects, counts, and the
/// error that stopped it (with `--on-error fail`), after the lines before it.
struct BatchResult: Sendable {
    var output: [UInt8] = []
    var rejects: [UInt8] = []
    var stats = RunStats()
    var drops: [DropReport] = []
    var error: RecordError?
}

/// Reads JSON Lines from the configured inputs, runs `transform` on every record on all
/// cores (output order is input order), and writes what it keeps.
///
/// `transform` must be a pure function of its record: it runs on several threads at once.
/// Stateful stages run with `jobs: 1` or do their stateful part in `finish`.
public enum JSONLinesPipeline {
    public typealias Transform = @Sendable (JSONValue, SourceLocation) throws -> [Outcome]
    /// Says yes to a line (without its newline) that `transform` would keep unchanged, from its
    /// bytes alone; no is "parse it and ask `transform`".
    public typealias RawAcceptor = @Sendable (UnsafeRawBufferPointer) -> Bool

    /// What a run did, and its first drops when `keepFirstDrops` asked for them.
    public struct Result: Sendable {
        public var stats: RunStats
        public var firstDrops: [DropReport]

        @inlinable init(stats: RunStats, firstDrops: [DropReport]) {
            self.stats = stats
            self.firstDrops = firstDrops
        }
    }

    ///
    /// `acceptsUnparsed` is a fast path for when kept records go nowhere (`discardsOutput`):
    /// lines it says yes to are counted as kept without being parsed (validate's byte-level check).
    @discardableResult
    public static func run(_ config: PipelineConfig, keepFirstDrops: Int = 0, acceptsUnparsed: RawAcceptor? = nil,
                           transform: @escaping Transform, finish: ((RecordSink) throws -> Void)? = nil) throws -> Result {
        try checkInputsExist(config.inputs)
        let sink = try RecordSink(config: config)
        sink.keepFirstDrops = keepFirstDrops
        do {
            try stream(config, into: sink, acceptsUnparsed: config.discardsOutput ? acceptsUnparsed : nil, transform: transform)
            try finish?(sink)
        } catch {
            try? sink.finish()
            throw error
        }
        try sink.finish()
        return Result(stats: sink.stats, firstDrops: sink.firstDrops)
    }

    /// Fails before any work when an input is missing, so a typo costs no partial output.
    public static func checkInputsExist(_ inputs: [String]) throws {
        for path in inputs where path != "-" {
            var info = stat()
            if stat(path, &info) != 0 { throw IOFailure("\(path): cannot open: \(systemError())") }
        }
    }

    static func stream(_ config: PipelineConfig, into sink: RecordSink, acceptsUnparsed: RawAcceptor?,
                       transform: @escaping Transform) throws {
        let rejectsWanted = config.rejectsPath != nil
        let keep = sink.keepFirstDrops
        let onError = config.onError
        let maxDepth = config.maxDepth
        let discardKept = config.discardsOutput
        let keptAsRead = config.keptAsRead && !discardKept
        try streamBatches(config, into: sink, work: { batch in
            process(batch, transform: transform, onError: onError, maxDepth: maxDepth,
                    rejectsWanted: rejectsWanted, keepFirstDrops: keep, discardKept: discardKept,
                    keptAsRead: keptAsRead, acceptsUnparsed: acceptsUnparsed)
        }, consume: { result in
            try sink.absorb(result)
            if let error = result.error { throw error }
        })
    }

    /// Reads every input in batches of lines, runs `work` on each batch on all cores, and
    /// hands the results to `consume` in input order on the calling thread.
    public static func streamBatches<R>(_ config: PipelineConfig, into sink: RecordSink,
                                        work: @escaping @Sendable (LineBatch) -> R,
                                        consume: (R) throws -> Void) throws {
        var pending = config.inputs[...]
        var batcher: LineBatcher?
        var finished: [ByteSource] = []
        let total: Int? = config.inputs.contains("-") ? nil : config.inputs.reduce(0) { total, path in
            var info = stat()
            return stat(path, &info) == 0 ? total + Int(info.st_size) : total
        }

        func consumed() -> Int { finished.reduce(0) { $0 + $1.consumedBytes } + (batcher?.source.consumedBytes ?? 0) }

        try orderedParallelMap(
            jobs: config.jobs,
            produce: { () throws -> LineBatch? in
                while true {
                    if batcher == nil {
                        guard let path = pending.popFirst() else { return nil }
                        batcher = LineBatcher(source: try ByteSource(path: path), maxLineBytes: config.maxLineBytes)
                    }
                    if let batch = try batcher!.next() { return batch }
                    finished.append(batcher!.source)
                    batcher = nil
                }
            },
            transform: work,
            consume: { result in
                try consume(result)
                sink.progress(consumed: consumed(), total: total)
            })
    }

    /// One record of a batch, with what `prepare` made of it, or the error it raised.
    public struct Prepared<P: Sendable>: Sendable {
        /// `.null` when `prepareLine` made the result without parsing the line, or when the
        /// record was let go after `prepare` (`runOrdered`).
        public var record: JSONValue
        public var location: SourceLocation
        public var bytes: Int
        public var result: Swift.Result<P, RecordError>
        /// The input line, when kept records are written as read or the record was not kept.
        public var line: ArraySlice<UInt8>?
        public var parsed: Bool

        @inlinable init(record: JSONValue, location: SourceLocation, bytes: Int, result: Swift.Result<P, RecordError>,
                        line: ArraySlice<UInt8>? = nil, parsed: Bool = true) {
            self.record = record
            self.location = location
            self.bytes = bytes
            self.result = result
            self.line = line
            self.parsed = parsed
        }
    }

    /// Line `i` of `batch` through `prepare` (or `prepareLine`, tried first), on a worker.
    /// `keepLine` keeps the input line beside the result; `releaseRecord` lets the parsed record
    /// go here, where freeing it runs on all cores, leaving `.null` and the line in its place.
    @inlinable
    static func prepare<P: Sendable>(_ batch: LineBatch, _ i: Int, maxDepth: Int,
                                     prepareLine: (@Sendable (UnsafeRawBufferPointer, SourceLocation) -> P?)?,
                                     prepare: @Sendable (JSONValue, SourceLocation) throws -> P,
                                     keepLine: Bool, releaseRecord: Bool) -> Prepared<P> {
        let location = batch.location(i)
        let bytes = batch.ends[i] - batch.starts[i] + 1
        let line = batch.bytes[batch.starts[i]..<batch.ends[i]]
        if let prepareLine, let value = batch.withLine(i, { prepareLine($0, location) }) {
            return Prepared(record: .null, location: location, bytes: bytes, result: .success(value), line: line, parsed: false)
        }
        let record: JSONValue
        do throws(RecordError) {
            record = try batch.parseLine(i, maxDepth: maxDepth)
        } catch {
            return Prepared(record: .string(batch.text(i)), location: location, bytes: bytes, result: .failure(error))
        }
        do {
            let value = try prepare(record, location)
            if releaseRecord { return Prepared(record: .null, location: location, bytes: bytes, result: .success(value), line: line, parsed: false) }
            return Prepared(record: record, location: location, bytes: bytes, result: .success(value), line: keepLine ? line : nil)
        } catch {
            return Prepared(record: record, location: location, bytes: bytes,
                            result: .failure(error as? RecordError ?? RecordError(location, "\(error)")))
        }
    }

    /// The record to report a drop of `item` with: `given`, or the line parsed again when the
    /// record was not kept and `--rejects` wants it.
    @inlinable
    static func dropped<P: Sendable>(_ item: Prepared<P>, _ given: JSONValue, rejectsWanted: Bool, maxDepth: Int) -> JSONValue {
        guard !item.parsed, rejectsWanted, let line = item.line else { return given }
        return (try? JSONParser.parse(line, maxDepth: maxDepth)) ?? given
    }

    /// For stateful stages (dedupe): `prepare` runs on all cores (parse, normalise, hash),
    /// then `decide` sees every record in input order on one thread and says keep or drop.
    ///
    /// `prepareLine` is a fast path for stages that keep and drop records unchanged
    /// (`keptAsRead`, or output to `/dev/null`): it is tried first on each line's bytes, and
    /// what it returns stands for `prepare` of the parsed line; nil sends the line through the
    /// parser and `prepare`. For such a record `decide` sees `.null` in place of the record,
    /// and the line is written as read, or parsed here only when `--rejects` wants it.
    @discardableResult
    @inlinable
    public static func runStateful<P: Sendable>(
        _ config: PipelineConfig, keepFirstDrops: Int = 0,
        prepareLine: (@Sendable (UnsafeRawBufferPointer, SourceLocation) -> P?)? = nil,
        prepare: @escaping @Sendable (JSONValue, SourceLocation) throws -> P,
        decide: @escaping (P, JSONValue, SourceLocation) throws -> [Outcome],
        finish: ((RecordSink) throws -> Void)? = nil
    ) throws -> Result {
        let maxDepth = config.maxDepth
        let discardKept = config.discardsOutput
        let keptAsRead = config.keptAsRead && !discardKept
        let prepareLine = keptAsRead || discardKept ? prepareLine : nil
        let rejectsWanted = config.rejectsPath != nil
        return try runPrepared(config, keepFirstDrops: keepFirstDrops, work: { batch in
            (0..<batch.count).map { i in
                Self.prepare(batch, i, maxDepth: maxDepth, prepareLine: prepareLine, prepare: prepare, keepLine: keptAsRead, releaseRecord: false)
            }
        }, decide: { item, sink in
            for outcome in try decide(try item.result.get(), item.record, item.location) {
                switch outcome {
                case .keep(let kept):
                    if discardKept {
                        sink.countOut(1)
                    } else if keptAsRead, let line = item.line {
                        try sink.emitLine(line)
                    } else {
                        try sink.emit(kept)
                    }
                case .drop(let record, let reason, let detail):
                    try sink.drop(dropped(item, record, rejectsWanted: rejectsWanted, maxDepth: maxDepth),
                                  reason: reason, detail: detail, at: item.location)
                }
            }
        }, finish: finish)
    }

    /// What `runOrdered`'s `decide` makes of one record.
    public enum LineOutcome: Sendable {
        /// Writes this JSON line (without its newline), which a worker serialised.
        case keep([UInt8])
        /// Drops the input record under `reason`; `--rejects` gets it with `detail`.
        case drop(reason: String, detail: JSONValue? = nil)
    }

    /// One record as `runOrdered`'s `decide` sees it: where it came from, and the record
    /// itself on demand (parsed again from its line; for the rare stage that keeps it).
    public struct OrderedRecord {
        public let location: SourceLocation
        @usableFromInline let line: ArraySlice<UInt8>?
        @usableFromInline let maxDepth: Int

        @inlinable init(location: SourceLocation, line: ArraySlice<UInt8>?, maxDepth: Int) {
            self.location = location
            self.line = line
            self.maxDepth = maxDepth
        }

        public func record() -> JSONValue {
            guard let line else { return .null }
            return (try? JSONParser.parse(line, maxDepth: maxDepth)) ?? .string(String(decoding: line, as: UTF8.self))
        }
    }

    /// For stages that write new records and keep a little state (format-sft's duplicates,
    /// pair-prefs' judgments): `prepare` runs on all cores and serialises what may be written,
    /// then `decide` sees every record in input order on one thread and keeps lines or drops
    /// the record. The single thread only copies bytes, so the work spreads over all cores.
    ///
    /// `prepareLine`, when given, is tried first on each line's bytes (a stage's byte-level
    /// fast path): what it returns must equal what `prepare` makes of the parsed line, and nil
    /// sends the line through the parser and `prepare`.
    @discardableResult
    @inlinable
    public static func runOrdered<P: Sendable>(
        _ config: PipelineConfig, keepFirstDrops: Int = 0,
        prepareLine: (@Sendable (UnsafeRawBufferPointer, SourceLocation) -> P?)? = nil,
        prepare: @escaping @Sendable (JSONValue, SourceLocation) throws -> P,
        decide: @escaping (P, OrderedRecord) throws -> [LineOutcome],
        finish: ((RecordSink) throws -> Void)? = nil
    ) throws -> Result {
        let maxDepth = config.maxDepth
        let discardKept = config.discardsOutput
        let rejectsWanted = config.rejectsPath != nil
        return try runPrepared(config, keepFirstDrops: keepFirstDrops, work: { batch in
            (0..<batch.count).map { i in
                Self.prepare(batch, i, maxDepth: maxDepth, prepareLine: prepareLine, prepare: prepare, keepLine: true, releaseRecord: true)
            }
        }, decide: { item, sink in
            let record = OrderedRecord(location: item.location, line: item.line, maxDepth: maxDepth)
            for outcome in try decide(try item.result.get(), record) {
                switch outcome {
                case .keep(let line):
                    if discardKept { sink.countOut(1) } else { try sink.emitLine(line[...]) }
                case .drop(let reason, let detail):
                    try sink.drop(dropped(item, item.record, rejectsWanted: rejectsWanted, maxDepth: maxDepth),
                                  reason: reason, detail: detail, at: item.location)
                }
            }
        }, finish: finish)
    }

    /// The shared body of `runStateful` and `runOrdered`: `work` prepares each batch on all
    /// cores, `decide` handles each prepared record in input order (a `RecordError` it throws
    /// stops the run or, with `--on-error skip`, drops the record), then `finish`.
    @inlinable
    static func runPrepared<P: Sendable>(
        _ config: PipelineConfig, keepFirstDrops: Int,
        work: @escaping @Sendable (LineBatch) -> [Prepared<P>],
        decide: (Prepared<P>, RecordSink) throws -> Void,
        finish: ((RecordSink) throws -> Void)?
    ) throws -> Result {
        try checkInputsExist(config.inputs)
        let sink = try RecordSink(config: config)
        sink.keepFirstDrops = keepFirstDrops
        let rejectsWanted = config.rejectsPath != nil
        do {
            try streamBatches(config, into: sink, work: work, consume: { (prepared: [Prepared<P>]) in
                for item in prepared {
                    sink.countIn(bytes: item.bytes)
                    do {
                        try decide(item, sink)
                    } catch let error as RecordError {
                        if config.onError == .fail { throw error }
                        try sink.drop(dropped(item, item.record, rejectsWanted: rejectsWanted, maxDepth: config.maxDepth),
                                      reason: error.reason, detail: .string(error.description), at: item.location)
                    }
                }
            })
            try finish?(sink)
        } catch {
            try? sink.finish()
            throw error
        }
        try sink.finish()
        return Result(stats: sink.stats, firstDrops: sink.firstDrops)
    }

    static func process(_ batch: LineBatch, transform: Transform, onError: OnError, maxDepth: Int,
                        rejectsWanted: Bool, keepFirstDrops: Int, discardKept: Bool = false,
                        keptAsRead: Bool = false, acceptsUnparsed: RawAcceptor? = nil) -> BatchResult {
        var result = BatchResult()
        if !discardKept { result.output.reserveCapacity(batch.bytes.count + batch.bytes.count / 8) }
        for i in 0..<batch.count {
            let location = batch.location(i)
            result.stats.recordsIn += 1
            result.stats.bytesIn += batch.ends[i] - batch.starts[i] + 1
            if let acceptsUnparsed, batch.withLine(i, acceptsUnparsed) {
                result.stats.recordsOut += 1
                continue
            }
            do {
                let record = try batch.parseLine(i, maxDepth: maxDepth)
                for outcome in try transform(record, location) {
                    switch outcome {
                    case .keep(let kept):
                        if keptAsRead {
                            result.output.append(contentsOf: batch.bytes[batch.starts[i]..<batch.ends[i]])
                            result.output.append(0x0A)
                        } else if !discardKept {
                            JSONWriter.write(kept, into: &result.output)
                            result.output.append(0x0A)
                        }
                        result.stats.recordsOut += 1
                    case .drop(let dropped, let reason, let detail):
                        result.stats.drop(reason)
                        if rejectsWanted {
                            JSONWriter.write(RecordSink.rejectRecord(dropped, reason: reason, detail: detail), into: &result.rejects)
                            result.rejects.append(0x0A)
                        }
                        if result.drops.count < keepFirstDrops {
                            result.drops.append(DropReport(location: location, reason: reason, detail: detail))
                        }
                    }
                }
            } catch {
                let recordError = error as? RecordError ?? RecordError(location, "\(error)")
                if onError == .fail {
                    result.error = recordError
                    return result
                }
                result.stats.drop(recordError.reason)
                if rejectsWanted {
                    let raw = batch.text(i)
                    let entry: JSONValue = .object(JSONObject([
                        ("reason", .string(recordError.reason)),
                        ("reason_detail", .string(recordError.description)),
                        ("line", .string(raw)),
                    ]))
                    JSONWriter.write(entry, into: &result.rejects)
                    result.rejects.append(0x0A)
                }
                if result.drops.count < keepFirstDrops {
                    result.drops.append(DropReport(location: location, reason: recordError.reason, detail: .string(recordError.message)))
                }
            }
        }
        return result
    }
}

extension LineBatch {
    /// Line `i` as a JSON value, or the error as `file:line: invalid JSON: ...`.
    public func parseLine(_ i: Int, maxDepth: Int = JSONParser.defaultMaxDepth) throws(RecordError) -> JSONValue {
        let parsed = bytes.withUnsafeBytes { all in
            Swift.Result { () throws(JSONError) -> JSONValue in
                try JSONParser.parse(UnsafeRawBufferPointer(rebasing: all[starts[i]..<ends[i]]), maxDepth: maxDepth)
            }
        }
        switch parsed {
        case .success(let value): return value
        case .failure(let error):
            throw RecordError(location(i), "invalid JSON: \(error.message) at byte \(error.offset + 1) of the line", reason: "invalid_json")
        }
    }

    /// Line `i` as text, invalid UTF-8 replaced, for rejects of lines that are not JSON.
    public func text(_ i: Int) -> String {
        withLine(i) { String(decoding: $0, as: UTF8.self) }
    }
}
