import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheIO
import LatheTokenizer

extension SFTInputFormat: ExpressibleByArgument {}
extension HTMLPolicy: ExpressibleByArgument {}
extension SFTStyle: ExpressibleByArgument {}
extension ChatTemplate: ExpressibleByArgument {}

struct FormatSFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe-format-sft",
        abstract: "Turn Q&A threads and common dataset formats into SFT conversation records.",
        discussion: """
            Reads Lathe threads, Alpaca {instruction, input, output}, ShareGPT {conversations}, OpenAI/TRL \
            {messages} and {prompt, completion} records, each recognised by its fields (or forced with --from), \
            and any other JSON Lines through --prompt-field/--response-field. Writes {id, messages, source} \
            records (schemas/conversation.schema.json), in input order.

            Cleaning rules, each a drop reason counted in the summary and written to --rejects: empty_turn, \
            roles_out_of_order, no_final_assistant, response_too_short, response_too_long, html_remnants \
            (--html drop), refusal (--drop-refusals), duplicate (same turns as an earlier record), too_many_tokens \
            (--max-tokens); from threads: no_answers, no_answer_above_min_score; unsupported_role for tool turns.

            --render TEMPLATE adds 'text' (the conversation in that chat template) and 'assistant_spans' \
            ([start, end) UTF-8 byte offsets of each assistant turn's content plus its end-of-turn marker, the \
            part lathe-train puts the loss on).
            """,
        version: latheVersion)

    @Option(help: "Input format: auto (recognise each record by its fields; the default), thread, alpaca, sharegpt, messages, prompt-completion, fields.")
    var from: SFTInputFormat = .auto

    @Option(help: "Dotted path of the prompt text in each record (e.g. data.question); with --response-field reads any JSON Lines. Default: none.")
    var promptField: String?

    @Option(help: "Dotted path of the response text, with --prompt-field. Default: none.")
    var responseField: String?

    @Option(help: "Dotted path of a system prompt, with --prompt-field. Default: none.")
    var systemField: String?

    @Option(help: "Add this system turn to every conversation that has none. Default: none.")
    var system: String?

    @Option(help: "The 'source' written for records that carry none (default: the input format's name).")
    var source: String?

    @Option(help: "Threads: with no accepted answer, use the top-scored answer if it has at least this score (default 1).")
    var minScore = 1

    @Option(help: "Drop conversations with an assistant turn shorter than this many characters (default 1).")
    var minChars = 1

    @Option(help: "Drop conversations with an assistant turn longer than this many characters (default: no limit).")
    var maxChars: Int?

    @Option(help: "HTML left in the text: 'clean' decodes entities and turns tags into text, <pre> blocks into fenced Markdown (default); 'drop' drops such records as html_remnants; 'keep' leaves it.")
    var html: HTMLPolicy = .clean

    @Flag(help: "Drop conversations whose assistant turns contain a canned refusal or 'as an AI language model' phrasing (default: off).")
    var dropRefusals = false

    @Option(help: "A file of more refusal phrases, one per line, matched case-insensitively; implies --drop-refusals. Default: none.")
    var refusals: String?

    @Flag(help: "Keep conversations whose turns exactly repeat an earlier record's (default: they are dropped as duplicate).")
    var keepDuplicates = false

    @Option(help: "Output form: 'messages' ({id, messages, source}; the default) or 'prompt-completion' (TRL's {id, prompt, completion, source} text form; conversations with more than one exchange or a system turn are dropped as not_single_turn).")
    var style: SFTStyle = .messages

    @Option(help: "Add 'text' and 'assistant_spans' rendered with this chat template: \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")). Default: none.")
    var render: ChatTemplate?

    @Option(help: "A tokenizer.json, or a directory holding one, to count the tokens of the rendered text (written as num_tokens); needs --render. Default: none.")
    var tokenizer: String?

    @Option(help: "With --tokenizer: drop conversations of more tokens than this (default: no limit).")
    var maxTokens: Int?

    @Flag(help: "With --max-tokens: remove whole earlier exchanges (never part of a turn) until the conversation fits, keeping the system turn and the last exchange (default: off, too long conversations are dropped).")
    var truncate = false

    @OptionGroup var splitOptions: SplitOptions
    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if (promptField == nil) != (responseField == nil) { throw ValidationError("--prompt-field and --response-field go together.") }
        if systemField != nil && promptField == nil { throw ValidationError("--system-field needs --prompt-field and --response-field.") }
        if from == .fields && promptField == nil { throw ValidationError("--from fields needs --prompt-field and --response-field.") }
        if promptField != nil && from != .auto && from != .fields { throw ValidationError("--prompt-field reads records with --from fields, not --from \(from.rawValue).") }
        if tokenizer != nil && render == nil { throw ValidationError("--tokenizer counts the tokens of the rendered text: add --render TEMPLATE.") }
        if maxTokens != nil && tokenizer == nil { throw ValidationError("--max-tokens needs --tokenizer DIR to count tokens.") }
        if truncate && maxTokens == nil { throw ValidationError("--truncate needs --max-tokens.") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1.") }
        if minChars < 0 { throw ValidationError("--min-chars must not be negative.") }
        if let maxChars, maxChars < minChars { throw ValidationError("--max-chars must be at least --min-chars.") }
        if style == .promptCompletion && system != nil { throw ValidationError("--style prompt-completion has no place for --system; use --style messages.") }
        if let split = splitOptions.split {
            do { _ = try SplitSpec(parsing: split) } catch { throw ValidationError(error.description) }
            if io.output != nil { throw ValidationError("--split writes into --out-dir; -o has no use with it.") }
        }
    }

    func settings() throws -> SFTSettings {
        var settings = SFTSettings()
        settings.reader.format = promptField != nil ? .fields : from
        settings.reader.fields = promptField.map { FieldPaths(prompt: $0, response: responseField!, system: systemField) }
        settings.reader.source = source
        settings.reader.minScore = minScore
        settings.system = system
        settings.html = html
        settings.minChars = minChars
        settings.maxChars = maxChars
        if dropRefusals || refusals != nil {
            var extra: [String] = []
            if let path = refusals {
                guard let data = FileManager.default.contents(atPath: path) else { throw IOFailure("\(path): cannot read the refusal phrases") }
                extra = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
            }
            settings.refusals = RefusalDetector(extra: extra)
        }
        settings.style = style
        settings.template = render
        settings.maxTokens = maxTokens
        settings.truncate = truncate
        settings.split = try splitOptions.split.map { try SplitSpec(parsing: $0) }
        settings.splitSeed = runOptions.seed
        return settings
    }

    func tokenCounter() throws -> (@Sendable (String) -> Int)? {
        guard let path = tokenizer else { return nil }
        var isDirectory: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? path + "/tokenizer.json" : path
        let loaded: Tokenizer
        do { loaded = try Tokenizer(contentsOf: file) } catch { throw IOFailure("\(file): \(error.message)") }
        // The template writes its own markers, so the tokenizer's post-processor adds none.
        return { loaded.encode($0, addSpecialTokens: false).count }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-format-sft") {
            var config = io.pipelineConfig(tool: "lathe-format-sft", run: runOptions)
            let formatter = SFTFormatter(settings: try settings(), countTokens: try tokenCounter())
            let splits = try splitOptions.open(names: formatter.settings.split?.names ?? [], config: &config)
            let keepDuplicates = keepDuplicates
            // Ids of the first record with each content, to name it in a duplicate's reject.
            var firstWithContent = FirstWithContent()
            let maxDepth = config.maxDepth
            let readLine: @Sendable (UnsafeRawBufferPointer, SourceLocation) -> Result<FormattedExample, Dropped>? = { line, location in
                formatter.format(line: line, at: location, maxDepth: maxDepth)
            }
            // Every line through the parser, for the tests that compare the two readers' output.
            let parseAll = ProcessInfo.processInfo.environment["LATHE_FORMAT_SFT_PARSE_ALL"] != nil
            do {
                try JSONLinesPipeline.runOrdered(config, prepareLine: parseAll ? nil : readLine, prepare: { record, location in
                    do {
                        return Result<FormattedExample, Dropped>.success(try formatter.format(record, at: location))
                    } catch let dropped as Dropped {
                        return .failure(dropped)
                    }
                }, decide: { result, _ in
                    let example: FormattedExample
                    switch result {
                    case .failure(let dropped): return [.drop(reason: dropped.reason, detail: dropped.detail.map(JSONValue.string))]
                    case .success(let formatted): example = formatted
                    }
                    if !keepDuplicates {
                        if let first = firstWithContent.insert(example) {
                            return [.drop(reason: "duplicate", detail: .string("same turns as \(first)"))]
                        }
                    }
                    if let splits, let split = example.split {
                        try splits.write(line: example.line, to: split)
                        return []
                    }
                    return [.keep(example.line)]
                }, finish: { sink in try splits?.finish(sink) })
            } catch {
                splits?.abandon()
                throw error
            }
        }
    }
}

FormatSFT.main()
