import ArgumentParser
import Foundation
import LatheIO

/// The files of `--split NAME=FRACTION,... --out-dir DIR`: one `DIR/NAME.jsonl` (`.jsonl.gz`
/// with gzip) per split, written under temporary names and renamed into place only when the
/// run succeeds, so a failed run never leaves a split that looks complete.
public final class SplitOutputs {
    public let names: [String]
    private let finalPaths: [String]
    private let tempPaths: [String]
    private let sinks: [OutputSink]
    /// Records written to each split.
    public private(set) var written: [Int]

    public init(directory: String, names: [String], gzipLevel: Int32?) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw IOFailure("\(directory): cannot create the output directory: \(error.localizedDescription)")
        }
        self.names = names
        let suffix = gzipLevel == nil ? ".jsonl" : ".jsonl.gz"
        finalPaths = names.map { directory + "/" + $0 + suffix }
        let pid = ProcessInfo.processInfo.processIdentifier
        tempPaths = names.map { directory + "/." + $0 + suffix + ".tmp-\(pid)" }
        sinks = try tempPaths.map { try OutputSink(path: $0, gzipLevel: gzipLevel) }
        written = names.map { _ in 0 }
    }

    /// Writes a JSON line (without its newline) to split `split`.
    public func write(line: [UInt8], to split: Int) throws {
        try sinks[split].write(line)
        try sinks[split].write([0x0A])
        written[split] += 1
    }

    /// Closes every split and renames it into place.
    public func commit() throws {
        for sink in sinks { try sink.close() }
        for (temp, path) in zip(tempPaths, finalPaths) where rename(temp, path) != 0 {
            throw IOFailure("\(path): cannot rename \(temp) into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the temporary files of a failed run.
    public func abandon() {
        for sink in sinks { try? sink.close() }
        for temp in tempPaths { unlink(temp) }
    }
}

/// `--split` and `--out-dir`, shared by the stages that write train/test sets.
public struct SplitOptions: ParsableArguments {
    @Option(help: "Split the output by a hash of each prompt into named parts, e.g. train=0.98,test=0.02 (fractions add up to 1); needs --out-dir. The same prompt always lands in the same part; --seed draws another assignment. Default: no split.")
    public var split: String?

    @Option(help: "With --split: the directory that receives NAME.jsonl for each part (NAME.jsonl.gz with --gzip), written atomically.")
    public var outDir: String?

    public init() {}

    public func validate() throws {
        guard (split == nil) == (outDir == nil) else { throw ValidationError("--split and --out-dir go together: give both, or neither.") }
    }

    /// The split files for `names`, when splitting; `config.output` then goes nowhere, since
    /// every kept record lands in a split.
    public func open(names: [String], config: inout PipelineConfig) throws -> SplitOutputs? {
        guard let outDir else { return nil }
        let gzip = config.gzipLevel
        config.output = "/dev/null"
        config.gzipLevel = nil
        return try SplitOutputs(directory: outDir, names: names, gzipLevel: gzip)
    }
}

extension SplitOutputs {
    /// Renames the splits into place and counts the records and bytes written to each as
    /// output; the `finish` step of a stage's pipeline.
    public func finish(_ sink: RecordSink) throws {
        try commit()
        for (i, name) in names.enumerated() { sink.countSplit(name, records: written[i], bytes: sinks[i].bytesWritten) }
    }
}
