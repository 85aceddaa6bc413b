import LatheIO

/// The sharded form of `lathe-dedupe`: the same algorithm as three steps that talk through
/// files, so shards can be processed on many machines.
///
/// 1. `signatures` (per shard, in parallel anywhere): one JSON line per record with its place
///    (`shard`, `line`), `id`, exact key, LSH band hashes, rank and, for `--verify`, its
///    shingle set. No text.
/// 2. `clusters` (once, over every signature file in shard order): runs the one-process
///    deduplicator on the signatures instead of the text, so its decisions are those of one
///    pass over the shards in that order, and writes the dropped records as a table.
/// 3. `filter` (per shard): drops the records the table names, with their reason and
///    `duplicate_of`.
public enum Signature {
    /// Step 1 for one shard; `shard` is the name the table will use for it.
    public static func write(_ config: PipelineConfig, settings: DedupeSettings, shard: String) throws {
        var wants: Wants = [.id, .exact, .rank]
        if let near = settings.near {
            wants.insert(.bands)
            if near.verify { wants.insert(.shingleSet) }
        }
        var plain = settings
        plain.contamination = nil
        plain.lines = nil
        let analyzer = Analyzer(settings: plain)
        let wanted = wants
        try JSONLinesPipeline.run(config) { record, location in
            let analysis = analyzer.analyze(record, location, wanted)
            if let failure = analysis.failure { throw failure }
            var out = JSONObject([("shard", .string(shard)), ("line", .number(JSONNumber(location.line))),
                                  ("id", .string(analysis.id))])
            if let exact = analysis.exact { out["exact"] = .string(exact.hex) }
            if let bands = analysis.bands { out["bands"] = .array(bands.map { .string($0.hex16) }) }
            if settings.keep != .first { out["rank"] = JSONNumber(analysis.rank).map(JSONValue.number) ?? .null }
            if let set = analysis.shingleSet { out["shingles"] = .array(set.map { .number(JSONNumber(Int($0))) }) }
            return [.keep(.object(out))]
        }
    }

    /// What `Analyzer` would have computed, read back from a signature record.
    static func read(_ record: JSONValue, _ location: SourceLocation, _ wants: Wants, into result: inout Analysis) throws(RecordError) {
        func bad(_ what: String) -> RecordError {
            RecordError(location, "not a signature record of `lathe-dedupe signatures`: \(what)", reason: "invalid_signature")
        }
        guard let shard = record["shard"]?.string, let line = record["line"]?.int, let id = record["id"]?.string else {
            throw bad("missing shard, line or id")
        }
        result.id = id
        result.rewritten = .object(JSONObject([("shard", .string(shard)), ("line", .number(JSONNumber(line))), ("id", .string(id))]))
        if let rank = record["rank"] { result.rank = rank.double ?? -.infinity }
        if let exact = record["exact"]?.string {
            let text = Substring(exact)
            guard exact.count == 32, let high = UInt64(hex16: text.prefix(16)), let low = UInt64(hex16: text.suffix(16)) else {
                throw bad("exact is not 32 hex digits")
            }
            result.exact = Hash128(high: high, low: low)
        }
        if wants.contains(.bands), let bands = record["bands"]?.array {
            var hashes: [UInt64] = []
            for band in bands {
                guard let text = band.string, let h = UInt64(hex16: Substring(text)) else { throw bad("a band is not 16 hex digits") }
                hashes.append(h)
            }
            result.bands = hashes
        }
        if wants.contains(.shingleSet) {
            guard let shingles = record["shingles"]?.array else {
                if record["bands"] != nil { throw bad("no shingles: run `signatures` with --verify too") }
                return
            }
            result.shingleSet = shingles.map { UInt32(truncatingIfNeeded: $0.int ?? 0) }
        }
    }

    /// Step 2: the table of dropped records, written to `table`.
    public static func clusters(signatureFiles: [String], table: String, settings: DedupeSettings, base: PipelineConfig) throws -> DedupeReport {
        var config = base
        config.inputs = signatureFiles
        config.output = "/dev/null"
        config.gzipLevel = nil
        config.rejectsPath = table
        var precomputed = settings
        precomputed.precomputed = true
        precomputed.contamination = nil
        precomputed.lines = nil
        return try Deduplicator.run(config, settings: precomputed)
    }

    /// Step 3 for one shard: drops what the table names for `shard`.
    public static func filter(_ config: PipelineConfig, table: String, shard: String) throws {
        var drops: [Int: (reason: String, detail: JSONValue?)] = [:]
        let batcher = LineBatcher(source: try ByteSource(path: table))
        while let batch = try batcher.next() {
            for i in 0..<batch.count {
                let entry = try batch.parseLine(i)
                guard entry["shard"]?.string == shard else { continue }
                guard let line = entry["line"]?.int, let reason = entry["reason"]?.string else {
                    throw IOFailure("\(batch.location(i)): not a row of a `lathe-dedupe clusters` table")
                }
                drops[line] = (reason, entry["reason_detail"])
            }
        }
        let table = drops
        var config = config
        config.keptAsRead = true
        try JSONLinesPipeline.run(config) { record, location in
            if let drop = table[location.line] { return [.drop(record, reason: drop.reason, detail: drop.detail)] }
            return [.keep(record)]
        }
    }
}
