import ArgumentParser
import Foundation
import LatheCLI
import LatheIO
import LatheText

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe-ingest",
        abstract: "WARC, HTML, JSONL and text -> document records, main text extracted from HTML; StackExchange Posts.xml -> thread records.",
        discussion: """
            Inputs are files or directories (walked recursively in name order; inside a directory only \
            .html/.htm, .txt, .warc/.wet and .jsonl files are read, each by its name). A file's format is \
            told by its first bytes: 'WARC/' is WARC, '{' JSON Lines, '<' HTML, anything else text; gzip is \
            detected by its magic bytes (one member per WARC record, as Common Crawl writes, or one for the file).

            WARC: response records (HTTP; chunked and gzip/deflate bodies decoded) and resource records go \
            through the extractor, conversion (WET) records are used as they are. Every other record, \
            non-HTML and binary payloads, HTTP statuses other than 2xx, pages over --max-page-bytes and empty \
            texts are counted drops (--rejects gets them); a truncated or corrupt record is skipped with its \
            byte offset and the rest of the file is read.

            Each document is {"id", "text", "source", "url"?, "title"?, "lang"?, "meta"?}: the id is the \
            WARC-Record-ID, the input's id field, or a hash of the source and path; lang is the identified \
            language (meta.lang_score its score, meta.html_lang the page's own lang attribute); meta holds the \
            charset when it was not UTF-8, replaced bytes, the canonical URL, the publication date and the WARC date.

            StackExchange dumps (Posts.xml, plain or gzip; detected by content, by a .xml name inside a \
            directory, or --format stackexchange, which stdin needs) become thread records \
            {"id", "source", "question": {"title", "body", "score", "tags"}, "answers": [{"body", "score", \
            "accepted"}], "meta"}, bodies converted from HTML with code as fenced Markdown, threads in question-id \
            order. Answers may come anywhere after their question, so posts are grouped within --memory, spilling \
            sorted runs to --temp-dir beyond it; threads are written when the whole dump has been read. Malformed \
            rows, answers whose question is missing, repeated posts and (without --keep-unanswered) questions with \
            no answers are counted drops.

            --lang, --filters and --redact apply to threads too: the language is identified on the title, question \
            and answers together (recorded as lang and meta.lang_score); the quality filters judge the question body, \
            and a failing question drops its thread under the filter's reason (answers are not judged: the rules are \
            set for whole web pages, and answers are ranked by their votes); PII is redacted in the title and every \
            body (meta.redacted counts it). --block-domains does not apply to threads.
            """,
        version: latheVersion)

    @Option(help: "What the inputs are: auto (by content; the default), warc, html, text, jsonl or stackexchange (a Posts.xml dump).")
    var format: InputFormat = .auto

    @Flag(help: "Write headings, lists and code blocks as Markdown (default: plain text, one block per line).")
    var markdown = false

    @Option(help: "Drop pages (HTTP bodies, files, WARC blocks) larger than this many bytes as 'page_too_large' (default 16 MiB).")
    var maxPageBytes: Int = 16 << 20

    @Option(help: "The 'source' of every document (default: a WARC's warcinfo isPartOf, else the input file's or directory's name).")
    var source: String?

    @Flag(help: "Give HTML files under a directory the URL https://<path below the directory> (a wget mirror's layout).")
    var urlFromPath = false

    @Option(help: "JSONL input: the field holding HTML to extract (default 'html').")
    var htmlField = "html"

    @Option(help: "JSONL input: the field holding text used as it is, when there is no HTML field (default 'text').")
    var textField = "text"

    @Option(help: "JSONL input: the field holding the URL (default 'url').")
    var urlField = "url"

    @Option(help: "JSONL input: the field holding the id (default 'id'; numbers become their decimal text).")
    var idField = "id"

    @Option(help: "Quality filters: none (the default), gopher, c4 or fineweb, with datatrove's thresholds and reason names; on threads they judge the question body.")
    var filters: FilterPreset = .none

    @Option(help: "Keep only documents and threads identified as one of these languages (comma-separated ISO 639-1 codes, e.g. en,de); default: keep all. The identified language and score go into every record.")
    var lang: String?

    @Option(help: "With --lang: the lowest identification score a kept document may have (default 0.65).")
    var minLangScore: Double = 0.65

    @Option(help: "Replace these kinds of personal data with fixed placeholders, in documents and in every title and body of a thread: a comma-separated list of email, ip, phone (default: none).")
    var redact: String?

    @Option(help: "Drop documents whose URL is on one of the domains listed in this file (one per line), or a subdomain of one, as 'blocked_domain'.")
    var blockDomains: String?

    @Option(help: "StackExchange dumps: the site's host name, used in thread ids and sources (e.g. math.stackexchange.com; default: the name of the directory holding Posts.xml).")
    var site: String?

    @Flag(help: "StackExchange dumps: keep questions that have no answers, with an empty answers list (default: drop them as 'unanswered').")
    var keepUnanswered = false

    @OptionGroup var memoryOptions: MemoryOptions

    @Flag(help: "Read and check the inputs and count their records, without extracting or writing documents.")
    var scanOnly = false

    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard maxPageBytes > 0 else { throw ValidationError("--max-page-bytes must be positive.") }
        guard memoryOptions.memory.bytes > 0 else { throw ValidationError("--memory must be positive.") }
        if site?.isEmpty == true { throw ValidationError("--site must not be empty.") }
        if source?.isEmpty == true { throw ValidationError("--source must not be empty.") }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-ingest") {
            var config = io.pipelineConfig(tool: "lathe-ingest", run: runOptions)
            if scanOnly { config.output = "/dev/null" }
            var settings = IngestSettings()
            settings.extraction.markdown = markdown
            settings.maxPageBytes = maxPageBytes
            settings.source = source
            settings.urlFromPath = urlFromPath
            settings.htmlField = htmlField
            settings.textField = textField
            settings.urlField = urlField
            settings.idField = idField
            settings.checks = try recordChecks()
            settings.memoryBudget = memoryOptions.memory.bytes
            settings.tempDirectory = memoryOptions.tempDir
            settings.site = site
            settings.keepUnanswered = keepUnanswered
            let ingester = Ingester(settings: settings, format: format)
            ingester.scanOnly = scanOnly
            let sink = try RecordSink(config: config)
            do {
                try ingester.run(inputs: io.inputs, config: config, sink: sink)
            } catch {
                try? sink.finish()
                throw error
            }
            try sink.finish()
        }
    }
}

extension Ingest {
    /// What every document and thread goes through (see `RecordChecks`).
    func recordChecks() throws -> RecordChecks {
        var checks = RecordChecks()
        if let path = blockDomains {
            do { checks.blocklist = try DomainBlocklist(contentsOf: path) } catch { throw IOFailure("\(path): \(error)") }
        }
        checks.languages = lang.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }) }
        checks.minLanguageScore = minLangScore
        checks.quality = FilterChain(filters.filters)
        if let redact {
            do { checks.redactor = PIIRedactor(kinds: try PIIKind.parseList(redact)) } catch { throw ValidationError("--redact: \(error)") }
        }
        return checks
    }
}

extension InputFormat: ExpressibleByArgument {}
extension FilterPreset: ExpressibleByArgument {}

Ingest.main()
