import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheIO

/// `lathe STAGE ...` runs `lathe-STAGE` found beside this executable or on PATH, as git does;
/// `lathe validate` is built in.
struct Lathe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe",
        abstract: "Lathe turns scraped text into aligned language models, one streaming stage at a time.",
        discussion: """
            STAGES (each is also its own executable, lathe-STAGE; `lathe STAGE --help` for its options):
            \(Stage.all.map { "  " + $0.command.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.abstract }.joined(separator: "\n"))

            Every stage reads JSON Lines (plain or gzip) from files or stdin and writes to stdout or -o FILE.
            """,
        version: latheVersion,
        subcommands: [Validate.self])
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every line of the inputs is a valid record of one kind.",
        discussion: """
            Reads every line to the end, prints the counts and the first errors as file:line with the JSON path \
            of the problem, and exits 1 if any record is invalid. Schemas are those in schemas/ (bundled). \
            With -o, valid records are written there; with --rejects, invalid ones with their reason.
            """)

    @Option(help: "The record kind to expect: \(ValidationKind.allCases.map(\.rawValue).joined(separator: ", ")) ('json': any JSON value per line).")
    var kind: ValidationKind

    @Option(help: "How many errors to print before only counting them.")
    var maxErrors = 10

    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func run() throws {
        try runReportingErrors(tool: "lathe validate") {
            var config = io.pipelineConfig(tool: "lathe validate", run: runOptions)
            // Validation's whole point is to see every bad line, so it never stops at the first.
            config.onError = .skip
            // Records are written only when -o asks; otherwise the report is the output.
            let recordsToStdout = io.output == "-"
            if io.output == nil { config.output = "/dev/null" }
            let check = try kind.checker()
            let reason = "invalid_" + kind.rawValue.replacingOccurrences(of: "-", with: "_")
            let fast = try kind.byteChecker(maxDepth: config.maxDepth)
            let result = try JSONLinesPipeline.run(config, keepFirstDrops: maxErrors, acceptsUnparsed: fast) { record, _ in
                if let problem = check(record) {
                    return [.drop(record, reason: reason, detail: .string(problem))]
                }
                return [.keep(record)]
            }
            let text = ValidationReport(kind: kind.rawValue, stats: result.stats).text(firstErrors: result.firstDrops)
            if !recordsToStdout {
                print(text, terminator: "")
            } else if !runOptions.quiet {
                printError(text)
            }
            if result.stats.droppedTotal > 0 { throw ExitCode.failure }
        }
    }
}

enum ValidationKind: String, CaseIterable, ExpressibleByArgument {
    case document, thread, conversation, candidates, judgment, preference
    case evalResult = "eval-result"
    case trainLog = "train-log"
    case json

    /// A function from a record to its first problem (`$.messages[1].role: ...`), or nil.
    func checker() throws -> @Sendable (JSONValue) -> String? {
        guard let recordKind = RecordKind(rawValue: rawValue) else { return { _ in nil } }
        let schema = try recordKind.loadSchema()
        return { record in
            let violations = schema.validate(record)
            guard let first = violations.first else { return nil }
            return "\(first.path): \(first.message)" + (violations.count > 1 ? " (and \(violations.count - 1) more)" : "")
        }
    }
}

extension ValidationKind {
    /// The byte-level fast path (`JSONSchema.accepts(line:)`): yes is certain, no sends the
    /// line through `checker()` for the verdict and the message. nil for `json`.
    func byteChecker(maxDepth: Int) throws -> JSONLinesPipeline.RawAcceptor? {
        guard let recordKind = RecordKind(rawValue: rawValue) else { return nil }
        let schema = try recordKind.loadSchema()
        return { line in schema.accepts(line: line, maxDepth: maxDepth) }
    }
}

struct ValidationReport {
    let kind: String
    let stats: RunStats

    func text(firstErrors: [DropReport]) -> String {
        var lines: [String] = []
        for report in firstErrors {
            let detail = report.detail?.string ?? report.reason
            lines.append("\(report.location): \(detail)")
        }
        let invalid = stats.droppedTotal
        if invalid > firstErrors.count { lines.append("... and \(invalid - firstErrors.count) more invalid records") }
        lines.append("\(stats.recordsIn) records checked as \(kind): \(stats.recordsIn - invalid) valid, \(invalid) invalid")
        return lines.joined(separator: "\n") + "\n"
    }
}

// Stages are dispatched before argument parsing so that their own flags reach them untouched.
let arguments = CommandLine.arguments
if arguments.count > 1, let stage = Stage.all.first(where: { $0.command == arguments[1] }) {
    StageDispatcher.exec(stage, arguments: Array(arguments.dropFirst(2)))
}
Lathe.main()
