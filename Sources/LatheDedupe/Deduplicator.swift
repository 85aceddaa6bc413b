import Foundation
import LatheIO

/// Ids of records by number, packed in one byte array (a document costs its id's bytes and
/// one offset, not a String).
struct IdTable {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []

    var count: Int { ends.count }
    var memoryBytes: Int { bytes.count + ends.count * 8 }

    mutating func append(_ id: String) {
        bytes.append(contentsOf: id.utf8)
        ends.append(bytes.count)
    }

    subscript(i: Int) -> String {
        let start = i == 0 ? 0 : ends[i - 1]
        return String(decoding: bytes[start..<ends[i]], as: UTF8.self)
    }
}

/// What a run did beyond the shared counts: for the closing lines on stderr and for tests.
public struct DedupeReport: Sendable {
    public var stats = RunStats()
    public var passes = 0
    public var lsh: LSHParameters?
    public var verified = false
    public var candidatePairs = 0
    public var verifiedPairs = 0
    public var linesRemoved = 0
    /// Eval items that leaked, with how many training records held each.
    public var leakedItems: [(item: ContaminationIndex.Item, records: Int)] = []
    public var evalItemsTooShort = 0
    public var contaminatedRecords = 0
    /// The most the tables held at once, and what spilled to disk beyond the budget.
    public var peakTableBytes = 0
    public var spills = 0
    public var spilledRuns = 0
    public var spilledBytes = 0
    /// Bytes of tables that do not spill (ids, exact hashes) when they alone passed the budget.
    public var unspillableOverBudget: Int?

    public func lines(tool: String) -> [String] {
        var out: [String] = []
        if spills > 0 || peakTableBytes > 0 {
            var line = "\(tool): memory: tables peaked at \(formatMemory(peakTableBytes))"
            if spills > 0 {
                line += "; LSH index spilled \(spills) times to disk, compacted into \(spilledRuns) runs (\(formatMemory(spilledBytes)))"
            }
            out.append(line)
        }
        if let unspillableOverBudget {
            out.append("\(tool): memory: ids and exact hashes alone took \(formatMemory(unspillableOverBudget)), over --memory; they do not spill, so raise --memory for an input this size")
        }
        if let lsh {
            out.append("\(tool): near: \(lsh), \(candidatePairs) candidate pairs" + (verified ? ", \(verifiedPairs) verified at Jaccard ≥ threshold" : ""))
        }
        if linesRemoved > 0 { out.append("\(tool): lines: \(linesRemoved) repeated lines removed") }
        if !leakedItems.isEmpty || evalItemsTooShort > 0 {
            out.append("\(tool): decontamination: \(leakedItems.count) eval items found in \(contaminatedRecords) records"
                + (evalItemsTooShort > 0 ? "; \(evalItemsTooShort) eval items too short to check" : ""))
        }
        return out
    }
}

/// `lathe-dedupe` in one process: the passes over the inputs that `settings` needs, each a
/// `runStateful` pipeline whose per-record work runs on all cores.
///
/// Records are numbered in input order (the n-th line that is JSON), the same in every pass,
/// so a pass can look up what an earlier one learnt about a record by its number.
public final class Deduplicator {
    let settings: DedupeSettings
    var analyzer: Analyzer
    var report = DedupeReport()

    // What the passes learn, by record number.
    var ids = IdTable()
    var excluded: [Bool] = []
    /// The first record with the same exact key, or -1.
    var exactOf: [Int32] = []
    var exactFirst = FirstSeenTable<Int32>()
    var lsh: LSHIndex?
    /// Candidates of record i are `candidates[candidateStart[i]..<candidateStart[i+1]]`.
    var candidateStart: [Int] = [0]
    var candidates: [Int32] = []
    /// The last record that has record i among its candidates, or -1.
    var lastNeeded: [Int32] = []
    var rank: [Double] = []
    var clusters: UnionFind?
    /// The surviving record of each cluster, by the cluster's root.
    var survivor: [Int32] = []
    var leaked: [Int32: Int] = [:]

    public init(settings: DedupeSettings) {
        self.settings = settings
        analyzer = Analyzer(settings: settings)
        report.lsh = settings.near?.lsh
        report.verified = settings.near?.verify ?? false
        report.evalItemsTooShort = settings.contamination?.tooShort ?? 0
    }

    /// Runs every pass and writes the output; returns what happened.
    public static func run(_ config: PipelineConfig, settings: DedupeSettings) throws -> DedupeReport {
        let deduplicator = Deduplicator(settings: settings)
        return try deduplicator.run(config)
    }

    /// Bytes of the per-record tables other than the LSH index.
    private var stateBytes: Int {
        ids.memoryBytes + excluded.count * (1 + 4 + 4 + 8 + 8 + 6) + candidates.count * 4
            + exactFirst.memoryBytes
    }

    /// A `FirstSeenTable` slot (8 bytes) at a load between three eighths and three quarters,
    /// the 128-bit key and the record number.
    static let exactEntryBytes = 42

    /// After an LSH insert: record the peak, and spill the index when the tables pass the budget.
    private func account() throws {
        let state = stateBytes
        let lshBytes = lsh?.memoryBytes ?? 0
        report.peakTableBytes = max(report.peakTableBytes, state + lshBytes)
        guard let budget = settings.memoryBudget, var index = lsh else { return }
        // The index keeps at least an eighth of the budget, so runs do not get tiny when the
        // other tables fill it; those are reported instead.
        if state > budget * 7 / 8 { report.unspillableOverBudget = state }
        guard state + lshBytes > budget else { return }
        lsh = nil  // keeps the index uniquely referenced while it spills
        try index.spill(ifOver: max(budget - state, budget / 8), directory: settings.temporaryDirectory)
        (report.spills, report.spilledRuns, report.spilledBytes) = index.spilled
        lsh = index
    }

    /// Bytes the tables take per record: the id (taken as 24 bytes), the per-record arrays,
    /// an exact hash, and the LSH entries.
    public static func bytesPerRecord(_ settings: DedupeSettings) -> Int {
        var bytes = 24 + 8 + (1 + 4 + 4 + 8 + 8 + 6)
        if settings.exact { bytes += exactEntryBytes }
        if let near = settings.near { bytes += LSHIndex.bytesPerDocument(bands: near.lsh.bands) + near.maxCandidates / 8 * 4 }
        return bytes
    }

    /// The records in `inputs` and the bytes the tables will need for them, extrapolated from
    /// the sizes on disk and the lines in the first 4 MiB of the first input; nil for stdin.
    public static func estimate(inputs: [String], settings: DedupeSettings) -> (records: Int, bytes: Int)? {
        guard !inputs.isEmpty, !inputs.contains("-"), let source = try? ByteSource(path: inputs[0]),
              let firstSize = source.fileSize, firstSize > 0 else { return nil }
        var total = 0
        for path in inputs {
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else { return nil }
            total += size
        }
        var lines = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var read = 0
        while read < 4 << 20 {
            guard let n = try? chunk.withUnsafeMutableBytes({ try source.read(into: $0) }), n > 0 else { break }
            read += n
            for i in 0..<n where chunk[i] == 0x0A { lines += 1 }
        }
        guard source.consumedBytes > 0 else { return nil }
        let records = Int(Double(lines) * Double(total) / Double(source.consumedBytes))
        return (records, records * bytesPerRecord(settings))
    }

    func run(_ config: PipelineConfig) throws -> DedupeReport {
        // Records are kept unchanged unless --lines rewrites them: write them as read.
        var config = config
        config.keptAsRead = settings.lines == nil
        if let why = settings.needsFilesBecause, config.inputs.contains("-") {
            throw IOFailure("\(why) read the input more than once, so it must be files, not stdin: save the stream to a file first (or drop \(why))")
        }
        try JSONLinesPipeline.checkInputsExist(config.inputs)
        let verify = settings.near?.verify ?? false
        if settings.lines != nil { try countLines(config) }
        if settings.keep == .first && !verify {
            try streamingPass(config)
        } else {
            try signaturePass(config)
            if verify { try verifyPass(config, emitting: settings.keep == .first) }
            if settings.keep != .first { try clusterPass(config) }
        }
        try writeContaminationReport()
        return report
    }

    /// The settings of a pass that writes nothing: its counts are the final pass's to report.
    private func silent(_ config: PipelineConfig) -> PipelineConfig {
        var quiet = config
        quiet.output = "/dev/null"
        quiet.gzipLevel = nil
        quiet.rejectsPath = nil
        quiet.statsPath = nil
        quiet.quiet = true
        return quiet
    }

    /// One read of the inputs. `failed` learns the number of a record that could not be
    /// analysed (and is skipped or stops the run), so tables by record number stay aligned.
    private func pass(_ config: PipelineConfig, wants: Wants, failed: ((Int) -> Void)? = nil,
                      decide: @escaping (Int, Analysis, JSONValue) throws -> [Outcome],
                      located: ((Int, SourceLocation) -> Void)? = nil) throws -> RunStats {
        report.passes += 1
        let analyzer = self.analyzer
        let maxDepth = config.maxDepth
        var next = 0
        let result = try JSONLinesPipeline.runStateful(config, prepareLine: { line, location in
            analyzer.analyze(line: line, maxDepth: maxDepth, location, wants)
        }, prepare: { record, location in
            analyzer.analyze(record, location, wants)
        }, decide: { analysis, record, location in
            let number = next
            next += 1
            located?(number, location)
            if let failure = analysis.failure {
                failed?(number)
                throw failure
            }
            return try decide(number, analysis, record)
        })
        return result.stats
    }

    // MARK: passes

    private func countLines(_ config: PipelineConfig) throws {
        var counts: [UInt64: UInt32] = [:]
        _ = try pass(silent(config), wants: .lineHashes) { _, analysis, _ in
            for h in analysis.lineHashes ?? [] {
                counts[h, default: 0] &+= 1
            }
            return []
        }
        let threshold = UInt32(clamping: settings.lines!.minDocuments)
        analyzer.lineCounts = counts.filter { $0.value >= threshold }
    }

    /// Drops for records that are out of deduplication on their own account.
    /// `counting` is false in a pass that writes nothing, so a leak is counted once, by the
    /// pass that writes the output.
    private func exclusionOutcome(_ analysis: Analysis, _ record: JSONValue, counting: Bool = true) -> Outcome? {
        switch analysis.exclusion {
        case nil: return nil
        case .contaminated(let items)?:
            if counting {
                for item in items { leaked[item, default: 0] += 1 }
                report.contaminatedRecords += 1
            }
            let index = settings.contamination!
            let detail: JSONValue = .object(JSONObject([
                ("eval_items", .array(items.prefix(10).map { i in
                    let item = index.items[Int(i)]
                    return .object(JSONObject([("file", .string(item.file)), ("line", .number(JSONNumber(item.line))), ("id", .string(item.id))]))
                })),
                ("ngram", .number(JSONNumber(index.ngram))),
            ]))
            return .drop(analysis.rewritten ?? record, reason: "contaminated", detail: detail)
        case .tooShort(let words)?:
            return .drop(analysis.rewritten ?? record, reason: "lines_too_short",
                         detail: .object(JSONObject([("words_left", .number(JSONNumber(words))),
                                                     ("lines_removed", .number(JSONNumber(analysis.linesRemoved)))])))
        }
    }

    private func duplicate(_ record: JSONValue, exact: Bool, of other: Int, jaccard: Double? = nil, sharedBands: Int? = nil) -> Outcome {
        var detail = JSONObject([("duplicate_of", .string(ids[other]))])
        if let jaccard { detail["jaccard"] = JSONNumber((jaccard * 10000).rounded() / 10000).map(JSONValue.number) }
        if let sharedBands { detail["shared_bands"] = .number(JSONNumber(sharedBands)) }
        return .drop(record, reason: exact ? "exact_duplicate" : "near_duplicate", detail: .object(detail))
    }

    /// `--keep first` without `--verify`: one pass, stdin allowed. A record is dropped when its
    /// exact key was seen before, or when it shares an LSH band with an earlier record.
    private func streamingPass(_ config: PipelineConfig) throws {
        if let near = settings.near { lsh = LSHIndex(bands: near.lsh.bands, maxChain: near.maxChain, maxCandidates: near.maxCandidates) }
        var wants: Wants = [.id, .exact]
        if settings.near != nil { wants.insert(.bands) }
        report.stats = try pass(config, wants: wants, failed: { [self] _ in ids.append("") }) { [self] number, analysis, record in
            linesRemoved(analysis)
            if let drop = exclusionOutcome(analysis, record) {
                ids.append("")
                return [drop]
            }
            ids.append(analysis.id)
            let output = analysis.rewritten ?? record
            if let key = analysis.exact {
                if let first = exactFirst.firstOrInsert(high: key.high, low: key.low, Int32(number)) { return [duplicate(output, exact: true, of: Int(first))] }
            }
            if let bands = analysis.bands {
                let found = lsh!.insert(doc: number, bandHashes: bands)
                try account()
                report.candidatePairs += found.count
                if let best = found.first {
                    return [duplicate(output, exact: false, of: best.doc, sharedBands: best.sharedBands)]
                }
            }
            return [.keep(output)]
        }
    }

    private func linesRemoved(_ analysis: Analysis) {
        report.linesRemoved += analysis.linesRemoved
    }

    /// The first of two or three passes: exact groups, LSH candidates, ids and ranks; no output.
    private func signaturePass(_ config: PipelineConfig) throws {
        if let near = settings.near { lsh = LSHIndex(bands: near.lsh.bands, maxChain: near.maxChain, maxCandidates: near.maxCandidates) }
        var wants: Wants = [.id, .exact, .rank]
        if settings.near != nil { wants.insert(.bands) }
        let register = { [self] (isExcluded: Bool, rankValue: Double) in
            excluded.append(isExcluded)
            exactOf.append(-1)
            lastNeeded.append(-1)
            rank.append(rankValue)
        }
        var lines: [Int32] = [], inputs: [UInt16] = []
        let inputIndex = Dictionary(config.inputs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        _ = try pass(silent(config), wants: wants, failed: { [self] _ in
            register(true, 0)
            ids.append("")
            candidateStart.append(candidates.count)
        }, decide: { [self] number, analysis, _ in
            register(analysis.exclusion != nil, analysis.rank)
            defer { candidateStart.append(candidates.count) }
            guard analysis.exclusion == nil else {
                ids.append("")
                return []
            }
            ids.append(analysis.id)
            if let key = analysis.exact {
                if let first = exactFirst.firstOrInsert(high: key.high, low: key.low, Int32(number)) {
                    exactOf[number] = first
                    return []
                }
            }
            if let bands = analysis.bands {
                for candidate in lsh!.insert(doc: number, bandHashes: bands) {
                    candidates.append(Int32(candidate.doc))
                    lastNeeded[candidate.doc] = Int32(number)
                }
                try account()
            }
            return []
        }, located: { _, location in
            lines.append(Int32(truncatingIfNeeded: location.line))
            inputs.append(UInt16(truncatingIfNeeded: inputIndex[location.file] ?? 0))
        })
        var involved = Set<UInt64>()
        for i in 0..<excluded.count where exactOf[i] < 0 && (lastNeeded[i] >= 0 || candidateStart[i + 1] > candidateStart[i]) {
            involved.insert(Analyzer.locationKey(Int(inputs[i]), Int(lines[i])))
        }
        analyzer.involved = involved
        analyzer.inputIndex = inputIndex
        exactFirst = FirstSeenTable<Int32>()
        lsh = nil
        report.candidatePairs = candidates.count
        clusters = UnionFind(count: excluded.count)
        for i in 0..<exactOf.count where exactOf[i] >= 0 { clusters!.union(i, Int(exactOf[i])) }
        if !(settings.near?.verify ?? false) {
            for i in 0..<excluded.count {
                for k in candidateStart[i]..<candidateStart[i + 1] { clusters!.union(i, Int(candidates[k])) }
            }
        }
    }

    /// Computes the true Jaccard of every candidate pair from the shingle sets, holding a
    /// record's set only until its last candidate partner has passed. With `--keep first` it
    /// writes the output: a record goes when it is an exact copy of an earlier one or at or
    /// above the threshold with an earlier candidate.
    private func verifyPass(_ config: PipelineConfig, emitting: Bool) throws {
        let threshold = settings.near!.threshold
        var sets: [Int32: [UInt32]] = [:]
        let stats = try pass(emitting ? config : silent(config), wants: [.shingleSet]) { [self] number, analysis, record in
            if emitting { linesRemoved(analysis) }
            if let drop = exclusionOutcome(analysis, record, counting: emitting) { return [drop] }
            let output = analysis.rewritten ?? record
            if exactOf[number] >= 0 {
                return [duplicate(output, exact: true, of: Int(exactOf[number]))]
            }
            let set = analysis.shingleSet ?? []
            if lastNeeded[number] > number { sets[Int32(number)] = set }
            var verified: (doc: Int, jaccard: Double)?
            let mine = candidates[candidateStart[number]..<candidateStart[number + 1]]
            for j in mine {
                let other = Int(j)
                if !emitting && clusters!.find(number) == clusters!.find(other) { continue }
                let jaccard = Shingles.jaccard(set, sets[j] ?? [])
                if jaccard >= threshold {
                    report.verifiedPairs += 1
                    if emitting {
                        verified = (other, jaccard)
                        break
                    }
                    clusters!.union(number, other)
                }
            }
            for j in mine where lastNeeded[Int(j)] == Int32(number) { sets[j] = nil }
            if let verified { return [duplicate(output, exact: false, of: verified.doc, jaccard: verified.jaccard)] }
            return [.keep(output)]
        }
        if emitting { report.stats = stats }
    }

    /// With `--keep longest|field:NAME`: each cluster (connected component of exact copies and
    /// of verified or, without `--verify`, candidate pairs) keeps its best-ranked record.
    private func clusterPass(_ config: PipelineConfig) throws {
        let n = excluded.count
        survivor = Array(repeating: -1, count: n)
        for i in 0..<n where !excluded[i] {
            let root = clusters!.find(i)
            let best = survivor[root]
            if best < 0 || rank[i] > rank[Int(best)] { survivor[root] = Int32(i) }
        }
        report.stats = try pass(config, wants: []) { [self] number, analysis, record in
            linesRemoved(analysis)
            if let drop = exclusionOutcome(analysis, record) { return [drop] }
            let output = analysis.rewritten ?? record
            let best = Int(survivor[clusters!.find(number)])
            if best == number { return [.keep(output)] }
            let group = { (i: Int) in self.exactOf[i] >= 0 ? Int(self.exactOf[i]) : i }
            return [duplicate(output, exact: group(number) == group(best), of: best)]
        }
    }

    private func writeContaminationReport() throws {
        guard let index = settings.contamination else { return }
        report.leakedItems = leaked.sorted { $0.key < $1.key }.map { (index.items[Int($0.key)], $0.value) }
        guard let path = settings.contaminationReport else { return }
        let sink = try OutputSink(path: path, gzipLevel: OutputSink.wantsGzip(path) ? 6 : nil)
        for (item, records) in report.leakedItems {
            try sink.write(.object(JSONObject([
                ("eval_file", .string(item.file)), ("eval_line", .number(JSONNumber(item.line))),
                ("eval_id", .string(item.id)), ("records", .number(JSONNumber(records))),
            ])))
        }
        try sink.close()
    }
}
