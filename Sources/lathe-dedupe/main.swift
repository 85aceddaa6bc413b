import ArgumentParser
import Foundation
import LatheCLI
import LatheDedupe
import LatheIO

extension Normalization: ExpressibleByArgument {}

/// The options that decide what counts as a duplicate; shared by the one-process command and
/// the sharded steps, so both see records the same way.
struct MatchOptions: ParsableArguments {
    @Option(name: [.customLong("key"), .customLong("field")],
            help: "Dotted path of the field that is compared; repeat for several (--key prompt --key chosen). A list of turns {role, content} (--key messages) counts role and content of every turn. Default: text.")
    var keys: [String] = []

    @Option(help: "Normalisation before hashing: 'full' (Unicode case folding and NFC, whitespace collapsed; the default), 'ws' (whitespace collapsed), 'none'.")
    var normalize: Normalization = .full

    @Option(help: "The field named as 'duplicate_of' in --rejects (default: id); records without it are named file:line.")
    var idField = "id"

    @Flag(inversion: .prefixedNo, help: "Drop records whose normalised key text equals an earlier one's (default: on).")
    var exact = true

    @Flag(help: "Also drop near-duplicates: MinHash over word shingles with LSH banding.")
    var near = false

    @Option(help: "Words per shingle for --near (default 5).")
    var shingle = 5

    @Option(help: "MinHash hashes per document (default 112, or bands × rows when both are given).")
    var numPerm: Int?

    @Option(help: "LSH bands (default 14, FineWeb's recipe, with --rows 8).")
    var bands: Int?

    @Option(help: "LSH rows per band (default 8).")
    var rows: Int?

    @Option(help: "Jaccard similarity that counts as a near-duplicate (default 0.8): --verify keeps pairs at or above it; given without --bands/--rows it also picks them.")
    var threshold: Double?

    @Flag(help: "Compute the true Jaccard of every LSH candidate pair and keep only those at or above --threshold. Reads the input twice, so inputs must be files.")
    var verify = false

    @Option(help: "Shingle at most this many words of a document, bounding work on enormous ones (default 100000).")
    var maxWords = 100_000

    @Option(help: "Compare a document with at most this many LSH candidates, most shared bands first (default 32).")
    var maxCandidates = 32

    @Option(help: "Which copy of a cluster survives: 'first' (default; one streaming pass, two with --verify), 'longest' (longest key text), or 'field:NAME' (highest number in NAME). Clusters are connected components of matched pairs; 'longest' and 'field:' need the whole set first, so they read the inputs again and need files.")
    var keep = "first"

    func validate() throws {
        guard KeepPolicy(keep) != nil else { throw ValidationError("--keep must be first, longest or field:NAME, not '\(keep)'.") }
        guard shingle >= 1 else { throw ValidationError("--shingle must be at least 1.") }
        if let threshold, !(threshold > 0 && threshold <= 1) { throw ValidationError("--threshold must be in (0, 1].") }
        if let bands, bands < 1 { throw ValidationError("--bands must be at least 1.") }
        if let rows, rows < 1 { throw ValidationError("--rows must be at least 1.") }
        if let numPerm, let bands, let rows, bands * rows > numPerm {
            throw ValidationError("--bands × --rows (\(bands * rows)) exceeds --num-perm (\(numPerm)).")
        }
        if let numPerm, numPerm < 1 { throw ValidationError("--num-perm must be at least 1.") }
        guard maxWords >= 1, maxCandidates >= 1 else { throw ValidationError("--max-words and --max-candidates must be at least 1.") }
        if !near && (verify || bands != nil || rows != nil || numPerm != nil) {
            throw ValidationError("--verify, --bands, --rows and --num-perm need --near.")
        }
    }

    func nearSettings() -> NearSettings? {
        guard near else { return nil }
        var settings = NearSettings()
        settings.ngram = shingle
        settings.verify = verify
        settings.maxWords = maxWords
        settings.maxCandidates = maxCandidates
        settings.threshold = threshold ?? 0.8
        switch (bands, rows) {
        case let (b?, r?): settings.lsh = LSHParameters(bands: b, rows: r)
        case let (b?, nil): settings.lsh = LSHParameters(bands: b, rows: max(1, (numPerm ?? 112) / b))
        case let (nil, r?): settings.lsh = LSHParameters(bands: max(1, (numPerm ?? 112) / r), rows: r)
        case (nil, nil):
            if let threshold {
                settings.lsh = .optimal(threshold: threshold, numPerm: numPerm ?? 112, falseNegativeWeight: verify ? 0.8 : 0.5)
            } else if let numPerm {
                settings.lsh = LSHParameters(bands: max(1, numPerm / 8), rows: 8)
            }
        }
        return settings
    }

    func settings(seed: UInt64) -> DedupeSettings {
        var settings = DedupeSettings()
        settings.keys = KeyFields(keys.isEmpty ? ["text"] : keys)
        settings.normalization = normalize
        settings.idField = idField
        settings.exact = exact
        settings.near = nearSettings()
        settings.keep = KeepPolicy(keep)!
        settings.seed = seed
        return settings
    }
}

struct LatheDedupe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe-dedupe",
        abstract: "Drop exact and near-duplicate records, repeated boilerplate lines, and records that contain eval-set text.",
        discussion: """
            Output is the input minus drops, in input order. Every drop goes to --rejects with its reason \
            (exact_duplicate, near_duplicate, contaminated, lines_too_short) and a reason_detail naming \
            duplicate_of, the id of the record it duplicates.

            One pass reads stdin or files. --verify, --lines and --keep longest|field:NAME read the input \
            more than once, so they need files (save a stream with `... > part.jsonl` first).

            `lathe-dedupe run --help` lists every option of the one-process form, the default \
            subcommand. Sharded: `lathe-dedupe signatures` per shard, `lathe-dedupe clusters` over all \
            signature files in shard order, `lathe-dedupe filter` per shard; the result equals one pass \
            over the shards in that order.
            """,
        version: latheVersion,
        subcommands: [Dedupe.self, Signatures.self, Clusters.self, Filter.self],
        defaultSubcommand: Dedupe.self)
}

struct Dedupe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Deduplicate and decontaminate in one process (the default subcommand).")

    @OptionGroup var match: MatchOptions

    @Option(help: "Drop lines found in this many documents or more (navigation, cookie banners), then documents left with fewer than --min-words words. Reads the input twice.")
    var lines: Int?

    @Option(help: "With --lines: the fewest words a document may keep (default 5).")
    var minWords = 5

    @Option(help: "An eval set (JSON Lines, plain or gzip) whose text must not appear in the output; repeat for several. Records sharing a word --ngram with any of its records are dropped as 'contaminated'.")
    var against: [String] = []

    @Option(help: "Words per n-gram for --against (default 13).")
    var ngram = 13

    @Option(help: "With --against: index eval texts of this many words up to --ngram whole, found as a run of that many words (short questions); default: --ngram, so shorter texts are only counted.")
    var minNgram: Int?

    @Option(help: "Field of the eval records to check (dotted path; repeat for several). Default: every string in the record except its id.")
    var againstField: [String] = []

    @Option(help: "Write which eval items leaked, and into how many records, to this file (JSON Lines).")
    var contaminationReport: String?

    @OptionGroup var memoryOptions: MemoryOptions
    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if let lines, lines < 2 { throw ValidationError("--lines must be at least 2 (a line in one document is not repeated).") }
        guard ngram >= 1 else { throw ValidationError("--ngram must be at least 1.") }
        if let minNgram, !(1...ngram).contains(minNgram) { throw ValidationError("--min-ngram must be between 1 and --ngram (\(ngram)).") }
        if contaminationReport != nil && against.isEmpty { throw ValidationError("--contamination-report needs --against.") }
        if !match.exact && !match.near && lines == nil && against.isEmpty {
            throw ValidationError("Nothing to do: --no-exact with neither --near, --lines nor --against.")
        }
        var settings = match.settings(seed: runOptions.seed)
        if lines != nil { settings.lines = LineSettings(minDocuments: 2) }
        if let why = settings.needsFilesBecause, io.inputs.isEmpty || io.inputs.contains("-") {
            throw ValidationError("\(why) read the input more than once, so give input files, not stdin.")
        }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-dedupe") {
            let config = io.pipelineConfig(tool: "lathe-dedupe", run: runOptions)
            var settings = match.settings(seed: runOptions.seed)
            if let lines { settings.lines = LineSettings(minDocuments: lines, minWords: minWords) }
            if !against.isEmpty {
                try JSONLinesPipeline.checkInputsExist(against)
                settings.contamination = try ContaminationIndex.load(paths: against, fields: againstField, idField: match.idField,
                                                                     ngram: ngram, minNgram: minNgram, normalization: match.normalize)
                settings.contaminationReport = contaminationReport
            }
            memoryOptions.apply(to: &settings, inputs: io.inputs, tool: "lathe-dedupe", quiet: runOptions.quiet)
            let report = try Deduplicator.run(config, settings: settings)
            if !runOptions.quiet {
                for line in report.lines(tool: "lathe-dedupe") { printError(line) }
            }
        }
    }
}

struct Signatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sharded step 1: one signature line per record of a shard (place, id, exact key, band hashes, and shingles with --verify); no text.")

    @OptionGroup var match: MatchOptions

    @Option(help: "The shard's name in the cluster table (default: the input path as given). `filter` must be given the same name.")
    var shard: String?

    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard io.inputs.count == 1, io.inputs[0] != "-" || shard != nil else {
            throw ValidationError("signatures reads one shard file (or stdin with --shard NAME).")
        }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-dedupe signatures") {
            let config = io.pipelineConfig(tool: "lathe-dedupe signatures", run: runOptions)
            try Signature.write(config, settings: match.settings(seed: runOptions.seed), shard: shard ?? io.inputs[0])
        }
    }
}

struct Clusters: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sharded step 2: read every shard's signatures in shard order and write the table of records to drop (with reason and duplicate_of) to -o. Give the same matching options as to `signatures`.")

    @OptionGroup var match: MatchOptions

    @Argument(help: "Signature files of `lathe-dedupe signatures`, in shard order.")
    var signatures: [String]

    @Option(name: [.short, .customLong("output")], help: "Where to write the cluster table (JSON Lines; .gz for gzip).")
    var output: String

    @OptionGroup var memoryOptions: MemoryOptions
    @OptionGroup var runOptions: RunOptions

    func run() throws {
        try runReportingErrors(tool: "lathe-dedupe clusters") {
            var base = PipelineConfig(tool: "lathe-dedupe clusters", inputs: signatures)
            base.jobs = runOptions.jobs
            base.onError = runOptions.onError
            base.statsPath = runOptions.stats
            base.quiet = runOptions.quiet
            var settings = match.settings(seed: runOptions.seed)
            memoryOptions.apply(to: &settings, inputs: signatures, tool: "lathe-dedupe clusters", quiet: runOptions.quiet)
            let report = try Signature.clusters(signatureFiles: signatures, table: output, settings: settings, base: base)
            if !runOptions.quiet { for line in report.lines(tool: "lathe-dedupe clusters") { printError(line) } }
        }
    }
}

struct Filter: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sharded step 3: copy a shard without the records the cluster table names, sending them to --rejects with their reason.")

    @Option(help: "The cluster table written by `lathe-dedupe clusters`.")
    var clusters: String

    @Option(help: "The shard's name as given to `signatures` (default: the input path as given).")
    var shard: String?

    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard io.inputs.count == 1, io.inputs[0] != "-" || shard != nil else {
            throw ValidationError("filter reads one shard file (or stdin with --shard NAME).")
        }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-dedupe filter") {
            try JSONLinesPipeline.checkInputsExist([clusters])
            let config = io.pipelineConfig(tool: "lathe-dedupe filter", run: runOptions)
            try Signature.filter(config, table: clusters, shard: shard ?? io.inputs[0])
        }
    }
}

extension MemoryOptions {
    /// Sets the budget and prints what the tables are expected to need for these inputs.
    func apply(to settings: inout DedupeSettings, inputs: [String], tool: String, quiet: Bool) {
        settings.memoryBudget = memory.bytes
        settings.temporaryDirectory = temporaryDirectory
        guard !quiet else { return }
        if let (records, bytes) = Deduplicator.estimate(inputs: inputs, settings: settings) {
            let fits = bytes <= memory.bytes ? "within" : "over; the LSH index will spill to \(temporaryDirectory) beyond"
            printError("\(tool): memory: about \(records) records need about \(formatMemory(bytes)) of tables "
                + "(\(Deduplicator.bytesPerRecord(settings)) bytes each), \(fits) --memory \(memory)")
        }
    }
}

LatheDedupe.main()
