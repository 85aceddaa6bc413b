import ArgumentParser
import Foundation
import LatheIO

/// The version every tool prints for `--version`.
public let latheVersion = "0.1.0"

/// Inputs and output of a streaming tool (DESIGN.md, command-line conventions).
public struct IOOptions: ParsableArguments {
    @Argument(help: "Input files, JSON Lines, plain or gzip (detected by content). Reads stdin when none is given or one is '-'.")
    public var inputs: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Write records to this file ('-' for stdout, the default); a name ending in .gz writes gzip.")
    public var output: String?

    @Flag(help: "Compress the output with gzip whatever its name (default: only for names ending in .gz).")
    public var gzip = false

    @Option(help: "Gzip compression level, 1 (fastest) to 9 (smallest).")
    public var gzipLevel: Int32 = 6

    @Option(help: "Stop with file:line when a line is longer than this many bytes (default 64 MiB).")
    public var maxLineBytes: Int = LineBatcher.defaultMaxLineBytes

    public init() {}

    public func validate() throws {
        guard (1...9).contains(gzipLevel) else { throw ValidationError("--gzip-level must be between 1 and 9, not \(gzipLevel).") }
        guard maxLineBytes > 0 else { throw ValidationError("--max-line-bytes must be positive.") }
    }
}

/// How a tool runs: threads, seed, error policy, and where its accounting goes.
public struct RunOptions: ParsableArguments {
    @Option(help: "Worker threads for per-record work (default: all cores).")
    public var jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(help: "Seed for every random choice; the same input and flags give the same bytes out.")
    public var seed: UInt64 = 0

    @Option(help: "Write the run's counts (records in, out, dropped by reason, bytes, seconds) to this file as JSON.")
    public var stats: String?

    @Option(help: "Write every dropped record to this file with a 'reason' field (.gz for gzip).")
    public var rejects: String?

    @Option(help: "What to do with a malformed record: 'fail' stops the run naming file:line (default); 'skip' counts it, sends it to --rejects and goes on.")
    public var onError: OnError = .fail

    @Flag(help: "Print no summary line on stderr.")
    public var quiet = false

    public init() {}

    public func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1.") }
    }
}

extension OnError: ExpressibleByArgument {}

extension IOOptions {
    /// The pipeline settings these options and `run` describe, for the tool named `tool`.
    public func pipelineConfig(tool: String, run: RunOptions) -> PipelineConfig {
        var config = PipelineConfig(tool: tool, inputs: inputs)
        config.output = output ?? "-"
        config.gzipLevel = gzip || OutputSink.wantsGzip(config.output) ? gzipLevel : nil
        config.jobs = run.jobs
        config.onError = run.onError
        config.rejectsPath = run.rejects
        config.statsPath = run.stats
        config.maxLineBytes = maxLineBytes
        config.quiet = run.quiet
        config.progress = isatty(2) != 0
        return config
    }
}

/// Runs a tool's body with the exit statuses DESIGN.md fixes: 0 done (also when the reader
/// downstream went away), 1 for a data or runtime error, printed as `tool: message`.
public func runReportingErrors(tool: String, _ body: () throws -> Void) throws {
    signal(SIGPIPE, SIG_IGN)
    do {
        try body()
    } catch is BrokenPipe {
        throw ExitCode.success
    } catch let error as IOFailure {
        printError("\(tool): \(error.message)")
        throw ExitCode.failure
    } catch let error as RecordError {
        printError("\(tool): \(error)")
        throw ExitCode.failure
    }
}

public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The body of a stage whose issue has not landed: `--help` works, anything else says so.
public func notBuiltYet(tool: String, issue: Int) -> Never {
    printError("\(tool): not built yet (issue #\(issue)); see README.md for what works today.")
    exit(64)
}

/// The entry point of a stage whose issue has not landed: `--help` and `--version` answer,
/// anything else exits 64 saying so. No behaviour is faked.
public enum PendingStage {
    public static func main(_ tool: String) -> Never {
        guard let stage = Stage.named(tool), let issue = stage.pendingIssue else { fatalError("\(tool) is not a pending stage") }
        let abstract = stage.abstract
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.contains("--version") {
            print(latheVersion)
            exit(0)
        }
        if arguments.contains("--help") || arguments.contains("-h") {
            print("OVERVIEW: \(abstract)\n\nNot built yet: this stage arrives with issue #\(issue).\n\nUSAGE: \(tool) [--help] [--version]")
            exit(0)
        }
        notBuiltYet(tool: tool, issue: issue)
    }
}
