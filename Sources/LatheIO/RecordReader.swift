/// Reads JSON Lines records from files into memory-side code (training and eval sets) with the
/// drop-reason contract: a `RecordError` from `body` stops the read, or with `onError` skip is
/// counted in `stats` and the record written to `rejects` with its reason.
public enum RecordReader {
    public static func read(paths: [String], maxLineBytes: Int = LineBatcher.defaultMaxLineBytes, onError: OnError,
                            rejects: OutputSink?, stats: inout RunStats,
                            _ body: (JSONValue, SourceLocation) throws -> Void) throws {
        try read(paths: paths, maxLineBytes: maxLineBytes, onError: onError, rejects: rejects, stats: &stats, jobs: 1,
                 prepare: { record, _ in record }, { record, location in try body(record, location) })
    }

    /// `read` with a per-record `prepare` step (tokenising, say) run on `jobs` threads a line batch
    /// at a time. `body` still sees every record in input order on the calling thread, and a
    /// `RecordError` thrown by either step keeps the contract for that record.
    public static func read<Prepared>(paths: [String], maxLineBytes: Int = LineBatcher.defaultMaxLineBytes, onError: OnError,
                                      rejects: OutputSink?, stats: inout RunStats, jobs: Int,
                                      prepare: @escaping @Sendable (JSONValue, SourceLocation) throws -> Prepared,
                                      _ body: (Prepared, SourceLocation) throws -> Void) throws {
        for path in paths.isEmpty ? ["-"] : paths {
            let batcher = LineBatcher(source: try ByteSource(path: path), maxLineBytes: maxLineBytes)
            try orderedParallelMap(jobs: jobs, produce: { try batcher.next() }, transform: { batch in
                let prepared = (0..<batch.count).map { i in
                    Result { () throws -> Prepared in try prepare(try batch.parseLine(i), batch.location(i)) }
                }
                return (batch, prepared)
            }, consume: { (batch: LineBatch, prepared: [Result<Prepared, Error>]) in
                for i in 0..<batch.count {
                    stats.recordsIn += 1
                    stats.bytesIn += batch.ends[i] - batch.starts[i] + 1
                    do {
                        try body(try prepared[i].get(), batch.location(i))
                        stats.recordsOut += 1
                    } catch let error as RecordError {
                        guard onError == .skip else { throw error }
                        stats.drop(error.reason)
                        let record = (try? batch.parseLine(i)) ?? .string(batch.text(i))
                        // The detail names file:line: one rejects file may gather several inputs' drops.
                        try rejects?.write(RecordSink.rejectRecord(record, reason: error.reason, detail: .string(error.description)))
                    }
                }
            })
        }
    }
}
