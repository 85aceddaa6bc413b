import Foundation
import Testing
import LatheIO
@testable import LatheDedupe

/// Opt-in (LATHE_DEDUPE_BENCH=FILE.jsonl, release build): exact mode against the cost of
/// parsing and writing every record, which is what `lathe validate --kind json` does.
@Suite struct SpeedBench {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LATHE_DEDUPE_BENCH"] != nil))
    func exactModeAgainstParseAndWrite() throws {
        let path = ProcessInfo.processInfo.environment["LATHE_DEDUPE_BENCH"]!
        var config = PipelineConfig(tool: "bench", inputs: [path])
        config.output = "/dev/null"
        config.quiet = true
        var baseline = Double.infinity, exact = Double.infinity, stateful = Double.infinity
        for _ in 0..<3 {
            let started = Date()
            try JSONLinesPipeline.runStateful(config, prepare: { _, _ in 0 }, decide: { _, record, _ in [.keep(record)] })
            stateful = min(stateful, Date().timeIntervalSince(started))
            var start = Date()
            try JSONLinesPipeline.run(config) { record, _ in [.keep(record)] }
            baseline = min(baseline, Date().timeIntervalSince(start))
            start = Date()
            _ = try Deduplicator.run(config, settings: DedupeSettings())
            exact = min(exact, Date().timeIntervalSince(start))
        }
        // runStateful with nothing to do: its writing on the ordered thread is the floor here.
        print("parse+write \(baseline) s, runStateful identity \(stateful) s, exact dedupe \(exact) s, ratio \(baseline / exact)")
    }
}
