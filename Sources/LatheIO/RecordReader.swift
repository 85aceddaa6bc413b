/// Reads JSON Lines records from files into memory-side code (training and eval sets) with the
/// drop-reason contract: a `RecordError` from `body` stops the read, or with `onError` skip is
/// counted in `stats` and the record written to `rejects` with its reason.
public enum RecordReader {
    public static func read(paths: [String], maxLineBytes: Int = LineBatcher.defaultMaxLineBytes, onError: OnError,
                            rejects: OutputSink?, stats: inout RunStats,
                            _ body: (JSONValue, SourceLocation) throws -> Void) throws {
        for path in paths.isEmpty ? ["-"] : paths {
            let batcher = LineBatcher(source: try ByteSource(path: path), maxLineBytes: maxLineBytes)
            while let batch = try batcher.next() {
                for i in 0..<batch.count {
                    stats.recordsIn += 1
                    stats.bytesIn += batch.ends[i] - batch.starts[i] + 1
                    do {
                        try body(try batch.parseLine(i), batch.location(i))
                        stats.recordsOut += 1
                    } catch let error as RecordError {
                        guard onError == .skip else { throw error }
                        stats.drop(error.reason)
                        let record = (try? batch.parseLine(i)) ?? .string(batch.text(i))
                        // The detail names file:line: one rejects file may gather several inputs' drops.
                        try rejects?.write(RecordSink.rejectRecord(record, reason: error.reason, detail: .string(error.description)))
                    }
                }
            }
        }
    }
}
