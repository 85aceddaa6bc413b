import Foundation
import LatheIO

#if canImport(Glibc)
import Glibc
#endif

/// What an input holds; `auto` looks at its first bytes (and, inside directories, at names).
public enum InputFormat: String, CaseIterable, Sendable {
    case auto, warc, html, text, jsonl, stackexchange
}

/// Reads every input of a `lathe-ingest` run and hands documents and drops to a `RecordSink`,
/// extracting on all cores with output in input order.
public final class Ingester {
    public let settings: IngestSettings
    public let format: InputFormat
    /// Read and count records without extracting or writing documents (checking a WARC file,
    /// measuring read speed).
    public var scanOnly = false

    public init(settings: IngestSettings, format: InputFormat = .auto) {
        self.settings = settings
        self.format = format
    }

    /// One unit of work for a worker thread.
    enum WorkItem: Sendable {
        case warc(WarcRecord, file: String, source: String)
        case page(bytes: [UInt8], isHTML: Bool, origin: PageOrigin, tooLarge: Bool)
        case lines(LinesBatch)
        case damaged(JSONValue, reason: String, detail: String)
    }

    struct LinesBatch: Sendable {
        var file: String
        var source: String
        var bytes: [UInt8]
        var starts: [Int]
        var ends: [Int]
        var lines: [Int]
    }

    struct WorkResult: Sendable {
        var outcomes: [Outcome] = []
        var records = 0
        var bytes = 0
        var errors: [RecordError] = []
    }

    /// Runs the whole ingest into `sink` (which the caller finishes). Inputs are read in order;
    /// StackExchange dumps go to `StackExchangeThreads` (thread records), every other run of
    /// files through the page and line readers (document records).
    public func run(inputs: [String], config: PipelineConfig, sink: RecordSink) throws {
        HTMLExtractor.initialize()
        let files = try expand(inputs.isEmpty ? ["-"] : inputs)
        var pending: [InputFile] = []
        for file in files {
            guard try isStackExchange(file) else {
                pending.append(file)
                continue
            }
            try readPages(pending, config: config, sink: sink)
            pending = []
            try readStackExchange(file, config: config, sink: sink)
        }
        try readPages(pending, config: config, sink: sink)
    }

    /// Whether `file` is a Posts.xml dump: by `--format`, by its name inside a directory, or
    /// (for a named file under `--format auto`) by its first bytes.
    func isStackExchange(_ file: InputFile) throws -> Bool {
        if format == .stackexchange || file.format == .stackexchange { return true }
        // stdin cannot be looked at twice; InputWalker reports a dump there.
        guard format == .auto, file.format == nil, file.path != "-" else { return false }
        return InputWalker.sniff(try WarcByteStream(path: file.path)) == .stackexchange
    }

    private func readStackExchange(_ file: InputFile, config: PipelineConfig, sink: RecordSink) throws {
        if scanOnly {
            sink.countIn(records: 0, bytes: fileSize(file.path))
            return
        }
        let summary = try StackExchangeThreads.read(
            path: file.path, memoryBudget: settings.memoryBudget, tempDirectory: settings.tempDirectory,
            site: settings.site, keepUnanswered: settings.keepUnanswered, onError: config.onError, jobs: config.jobs,
            checks: settings.checks,
            onThread: { try sink.emit($0) },
            onDrop: { drop in
                try sink.drop(drop.record, reason: drop.reason, detail: .string(drop.message), at: drop.location)
            })
        sink.countIn(records: summary.rows, bytes: file.path == "-" ? 0 : fileSize(file.path))
        if !config.quiet {
            // Where the grouping's memory went, so a user can size --memory for the next dump.
            let spill = summary.spilledRuns == 0 ? "held in memory"
                : "spilled \(summary.spilledRuns) sorted runs (\(RunStats.megabytes(summary.spilledBytes))) to disk"
            let line = "\(config.tool): \(file.path == "-" ? "stdin" : file.path): \(summary.rows) rows, \(summary.threads) threads, "
                + "\(summary.answers) answers; posts \(spill), at most \(RunStats.megabytes(summary.peakHeldBytes)) at once\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    private func readPages(_ files: [InputFile], config: PipelineConfig, sink: RecordSink) throws {
        guard !files.isEmpty else { return }
        let total: Int? = files.contains { $0.path == "-" } ? nil : files.reduce(0) { $0 + fileSize($1.path) }
        var reader = InputWalker(files: files, format: format, settings: settings, maxLineBytes: config.maxLineBytes)
        let settings = self.settings
        let scanOnly = self.scanOnly
        let onError = config.onError
        let maxDepth = config.maxDepth
        try orderedParallelMap(
            jobs: config.jobs,
            produce: { try reader.next() },
            transform: { item in Self.work(item, settings: settings, scanOnly: scanOnly, onError: onError, maxDepth: maxDepth) },
            consume: { result in
                sink.countIn(records: result.records, bytes: result.bytes)
                for outcome in result.outcomes {
                    switch outcome {
                    case .keep(let record): try sink.emit(record)
                    case .drop(let record, let reason, let detail): try sink.drop(record, reason: reason, detail: detail)
                    }
                }
                if let error = result.errors.first, onError == .fail { throw error }
                sink.progress(consumed: reader.consumedBytes, total: total)
            })
    }

    private func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    // MARK: Inputs

    struct InputFile {
        var path: String
        /// The format a directory listing implies by the file name, or nil to look at the content.
        var format: InputFormat?
        /// For `--url-from-path`: the path below the directory given.
        var relativePath: String?
        var source: String
    }

    /// Files and directories (walked recursively, in name order) to the list of files to read.
    func expand(_ inputs: [String]) throws -> [InputFile] {
        var files: [InputFile] = []
        for input in inputs {
            if input == "-" {
                files.append(InputFile(path: "-", format: nil, relativePath: nil, source: settings.source ?? "stdin"))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw IOFailure("\(input): cannot open: No such file or directory")
            }
            if !isDirectory.boolValue {
                files.append(InputFile(path: input, format: nil, relativePath: (input as NSString).lastPathComponent,
                                       source: settings.source ?? Self.sourceName(input)))
                continue
            }
            let root = URL(fileURLWithPath: input)
            let source = settings.source ?? root.lastPathComponent
            guard let walker = FileManager.default.enumerator(atPath: input) else {
                throw IOFailure("\(input): cannot list the directory")
            }
            var names: [String] = []
            while let name = walker.nextObject() as? String { names.append(name) }
            for name in names.sorted() {
                let path = root.appendingPathComponent(name).path
                var sub: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &sub), !sub.boolValue else { continue }
                guard let format = Self.formatByName(name, wanted: format) else { continue }
                files.append(InputFile(path: path, format: format, relativePath: name, source: source))
            }
        }
        return files
    }

    /// The format a file name inside a directory says, or nil to leave the file out.
    static func formatByName(_ name: String, wanted: InputFormat) -> InputFormat? {
        var lower = name.lowercased()
        if lower.hasSuffix(".gz") { lower.removeLast(3) }
        let byName: InputFormat?
        if lower.hasSuffix(".html") || lower.hasSuffix(".htm") || lower.hasSuffix(".xhtml") { byName = .html }
        else if lower.hasSuffix(".txt") { byName = .text }
        else if lower.hasSuffix(".warc") || lower.hasSuffix(".wet") || lower.hasSuffix(".arc") { byName = .warc }
        else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") { byName = .jsonl }
        else if lower.hasSuffix(".xml") { byName = .stackexchange }
        else { byName = nil }
        if wanted == .auto { return byName }
        return byName == wanted ? wanted : nil
    }

    /// A file's name without directories and the extensions that say how it is stored.
    static func sourceName(_ path: String) -> String {
        var name = (path as NSString).lastPathComponent
        for suffix in [".gz", ".warc", ".wet", ".jsonl", ".json", ".html", ".htm", ".txt"] where name.lowercased().hasSuffix(suffix) {
            name.removeLast(suffix.count)
        }
        return name.isEmpty ? "input" : name
    }

    // MARK: Work

    static func work(_ item: WorkItem, settings: IngestSettings, scanOnly: Bool, onError: OnError, maxDepth: Int) -> WorkResult {
        var result = WorkResult()
        switch item {
        case .damaged(let record, let reason, let detail):
            result.records = 1
            result.outcomes = [.drop(record, reason: reason, detail: .string(detail))]
        case .warc(let record, let file, let source):
            result.records = 1
            result.bytes = record.blockLength
            if scanOnly { return result }
            result.outcomes = [WarcConversion.outcome(record, file: file, source: source, settings: settings)]
        case .page(let bytes, let isHTML, let origin, let tooLarge):
            result.records = 1
            result.bytes = bytes.count
            if scanOnly { return result }
            if tooLarge {
                result.outcomes = [.drop(origin.rejectRecord, reason: DropReason.pageTooLarge,
                                         detail: .string("over --max-page-bytes \(settings.maxPageBytes)"))]
            } else {
                result.outcomes = [isHTML ? PageConversion.html(bytes, origin: origin, settings: settings)
                                          : PageConversion.text(bytes, origin: origin, settings: settings)]
            }
        case .lines(let batch):
            for i in batch.starts.indices {
                result.records += 1
                result.bytes += batch.ends[i] - batch.starts[i] + 1
                if scanOnly { continue }
                let location = SourceLocation(file: batch.file, line: batch.lines[i])
                do {
                    let value = try batch.bytes.withUnsafeBytes { all throws(JSONError) in
                        try JSONParser.parse(UnsafeRawBufferPointer(rebasing: all[batch.starts[i]..<batch.ends[i]]), maxDepth: maxDepth)
                    }
                    result.outcomes.append(try JSONLConversion.outcome(value, location: location, source: batch.source, settings: settings))
                } catch {
                    let recordError: RecordError
                    if let e = error as? JSONError {
                        recordError = RecordError(location, "invalid JSON: \(e.message) at byte \(e.offset + 1) of the line", reason: "invalid_json")
                    } else {
                        recordError = error as? RecordError ?? RecordError(location, "\(error)")
                    }
                    if onError == .fail {
                        result.errors.append(recordError)
                        return result
                    }
                    let line = String(decoding: batch.bytes[batch.starts[i]..<batch.ends[i]], as: UTF8.self)
                    result.outcomes.append(.drop(.object(JSONObject([("line", .string(line))])), reason: recordError.reason,
                                                 detail: .string(recordError.description)))
                }
            }
        }
        return result
    }
}

/// JSON Lines records with an HTML or a text field to documents; other fields pass through.
public enum JSONLConversion {
    public static func outcome(_ value: JSONValue, location: SourceLocation, source: String, settings: IngestSettings) throws -> Outcome {
        guard case .object(var object) = value else {
            throw RecordError(location, "expected a JSON object, found \(value.typeName)", reason: "invalid_record")
        }
        let html = object[settings.htmlField]?.string
        let text = object[settings.textField]?.string
        guard html != nil || text != nil else {
            throw RecordError(location, "no string field '\(settings.htmlField)' or '\(settings.textField)': name the fields with --html-field or --text-field",
                              reason: "missing_field")
        }
        let url = object[settings.urlField]?.string
        let id: String
        switch object[settings.idField] {
        case .string(let s)?: id = s
        case .number(let n)?: id = n.text
        default: id = StableID.make(source, url ?? "", location.description)
        }
        let recordSource = settings.source ?? object["source"]?.string ?? source
        var origin = PageOrigin(id: id, source: recordSource, url: url)
        if let meta = object["meta"]?.object { origin.meta = meta }
        for key in [settings.htmlField, settings.textField, settings.urlField, settings.idField, "id", "text", "source", "url", "meta"] {
            object[key] = nil
        }
        var outcome: Outcome
        if let html {
            outcome = PageConversion.html(Array(html.utf8), httpCharset: "utf-8", origin: origin, settings: settings)
        } else {
            var document = Document(id: id, text: text!, source: recordSource, url: url)
            document.meta = origin.meta
            outcome = PageConversion.finish(document, settings: settings)
        }
        // Unknown fields of the input ride along.
        if !object.isEmpty {
            func merge(_ record: JSONValue) -> JSONValue {
                guard case .object(var out) = record else { return record }
                for (key, value) in object where out[key] == nil { out[key] = value }
                return .object(out)
            }
            switch outcome {
            case .keep(let record): outcome = .keep(merge(record))
            case .drop(let record, let reason, let detail): outcome = .drop(merge(record), reason: reason, detail: detail)
            }
        }
        return outcome
    }
}

/// Walks the inputs in order and cuts them into work items, on the reading thread.
struct InputWalker {
    let files: [Ingester.InputFile]
    let format: InputFormat
    let settings: IngestSettings
    let maxLineBytes: Int
    var index = 0
    var current: WarcByteStream?
    var currentFormat = InputFormat.auto
    var warc: WarcReader?
    var warcSource = ""
    var nextLine = 1
    var finishedBytes = 0
    var pageDone = false

    init(files: [Ingester.InputFile], format: InputFormat, settings: IngestSettings, maxLineBytes: Int) {
        self.files = files
        self.format = format
        self.settings = settings
        self.maxLineBytes = maxLineBytes
    }

    var consumedBytes: Int { finishedBytes + (current?.consumedFileBytes ?? 0) }

    mutating func next() throws -> Ingester.WorkItem? {
        while true {
            if current == nil {
                guard index < files.count else { return nil }
                try open(files[index])
            }
            if let item = try nextFromCurrent() { return item }
            finishedBytes += current?.consumedFileBytes ?? 0
            current = nil
            warc = nil
            index += 1
        }
    }

    private mutating func open(_ file: Ingester.InputFile) throws {
        let stream = try WarcByteStream(path: file.path)
        var detected = file.format ?? format
        if detected == .auto { detected = Self.sniff(stream) }
        if detected == .stackexchange {
            // Named files were sniffed before; only stdin gets here.
            throw IOFailure("\(file.path == "-" ? "stdin" : file.path): looks like a StackExchange dump: read it with --format stackexchange")
        }
        current = stream
        currentFormat = detected
        nextLine = 1
        pageDone = false
        warcSource = file.source
        if detected == .warc {
            warc = WarcReader(stream: stream, name: file.path, maxBlockBytes: settings.maxPageBytes)
        }
    }

    /// The format the first bytes say: `WARC/`, `{`, `<`, or else text.
    static func sniff(_ stream: WarcByteStream) -> InputFormat {
        let got = (try? stream.fill(4096)) ?? 0
        return stream.withUnread(got) { bytes in
            var i = 0
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
            while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09) { i += 1 }
            let rest = bytes[i...]
            if rest.starts(with: Array("WARC/".utf8)) { return .warc }
            if rest.first == UInt8(ascii: "{") { return .jsonl }
            if rest.first == UInt8(ascii: "<") {
                let head = String(decoding: rest.prefix(2048), as: UTF8.self).lowercased()
                if head.hasPrefix("<?xml") && head.contains("<posts") { return .stackexchange }
                return .html
            }
            return .text
        }
    }

    private mutating func nextFromCurrent() throws -> Ingester.WorkItem? {
        guard let stream = current else { return nil }
        let file = files[index]
        switch currentFormat {
        case .warc:
            guard let event = try warc!.next() else { return nil }
            switch event {
            case .record(let record):
                // Common Crawl names its crawl in warcinfo's isPartOf; later records take it as their source.
                if record.type == "warcinfo", settings.source == nil, let name = Self.isPartOf(record.block) { warcSource = name }
                return .warc(record, file: file.path, source: warcSource)
            case .damaged(let offset, let reason, let detail):
                let reject = JSONValue.object(JSONObject([("file", .string(file.path)), ("offset", .number(JSONNumber(offset)))]))
                return .damaged(reject, reason: reason, detail: "\(file.path): \(detail)")
            }
        case .jsonl:
            return try nextLines(stream, file: file)
        default:
            // One document per file.
            if pageDone { return nil }
            pageDone = true
            let limit = settings.maxPageBytes
            var bytes: [UInt8] = []
            var tooLarge = false
            while true {
                let got = try stream.fill(1 << 20)
                if got == 0 { break }
                if bytes.count + got > limit {
                    tooLarge = true
                    bytes = []
                }
                if !tooLarge { stream.withUnread(got) { bytes.append(contentsOf: $0) } }
                stream.consume(got)
            }
            if let damaged = stream.passBreak() { throw IOFailure("\(file.path): \(damaged.detail)") }
            let isHTML = currentFormat == .html
            let url = settings.urlFromPath ? file.relativePath.map { "https://" + $0 } : nil
            let id = StableID.make(file.source, file.relativePath ?? file.path)
            var origin = PageOrigin(id: id, source: file.source, url: url)
            if !settings.urlFromPath { origin.meta["path"] = .string(file.relativePath ?? file.path) }
            return .page(bytes: bytes, isHTML: isHTML, origin: origin, tooLarge: tooLarge)
        }
    }

    private mutating func nextLines(_ stream: WarcByteStream, file: Ingester.InputFile) throws -> Ingester.WorkItem? {
        var bytes: [UInt8] = []
        var starts: [Int] = [], ends: [Int] = [], lines: [Int] = []
        let batchBytes = 1 << 20
        while bytes.count < batchBytes {
            var got = try stream.fill(1 << 16)
            if got == 0 { break }
            // One whole line: search for its newline, asking for more until it comes.
            var newline: Int? = stream.withUnread(got) { $0.firstIndex(of: 0x0A) }
            while newline == nil {
                let more = try stream.fill(got * 2)
                if more == got { break }
                got = more
                if got > maxLineBytes {
                    throw IOFailure("\(file.path):\(nextLine): line longer than \(maxLineBytes) bytes: raise --max-line-bytes if such records are expected")
                }
                newline = stream.withUnread(got) { $0.firstIndex(of: 0x0A) }
            }
            let lineLength = newline ?? got
            let start = bytes.count
            stream.withUnread(lineLength) { bytes.append(contentsOf: $0) }
            stream.consume(min(got, lineLength + 1))
            var end = bytes.count
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            if bytes[start..<end].contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                starts.append(start)
                ends.append(end)
                lines.append(nextLine)
            }
            nextLine += 1
        }
        if let damaged = stream.passBreak() { throw IOFailure("\(file.path): \(damaged.detail)") }
        if starts.isEmpty && bytes.isEmpty { return nil }
        return .lines(Ingester.LinesBatch(file: file.path, source: file.source, bytes: bytes, starts: starts, ends: ends, lines: lines))
    }

    static func isPartOf(_ block: [UInt8]) -> String? {
        let text = String(decoding: block.prefix(8192), as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) where line.lowercased().hasPrefix("ispartof:") {
            let value = line.dropFirst("ispartof:".count).trimmingSpaces
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
