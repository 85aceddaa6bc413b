import Foundation
import LatheIO
import Testing

/// lathe-pair-prefs reads thread lines from their bytes (`ThreadLine`) and leaves the
/// rest to the parser; with the fast path off (LATHE_NO_FAST_PATH) every line is parsed. Both
/// must write the same bytes, drop the same records for the same reasons, and count the same.
@Suite struct PairPrefsFastPathTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/pair-prefs").path

    @Test(arguments: [["--strategy", "best-vs-worst"], ["--strategy", "all-pairs", "--style", "standard"],
                      ["--strategy", "best-vs-rest", "--from", "thread"], ["--strategy", "random-pair", "--seed", "3", "--max-length-ratio", "4"]])
    func sameOutputWithTheFastPathOnAndOff(_ options: [String]) throws {
        let scratch = Scratch()
        var runs: [(stdout: String, rejects: String, stats: JSONValue, summary: String)] = []
        for environment in [[:], ["LATHE_NO_FAST_PATH": "1"]] {
            let name = environment.isEmpty ? "fast" : "parsed"
            let rejects = scratch.path + "/\(name).rejects.jsonl", stats = scratch.path + "/\(name).stats.json"
            let result = try Tool.run("lathe-pair-prefs", options + ["--on-error", "skip", "--rejects", rejects, "--stats", stats,
                                                                     Self.fixtures + "/thread-lines.jsonl", Self.fixtures + "/threads.jsonl"],
                                      environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            let summary = result.stderr.split(separator: "\n").last.map { String($0.prefix { $0 != ";" }) } ?? ""
            runs.append((result.stdout, try String(contentsOfFile: rejects, encoding: .utf8), try statsWithoutTimes(stats), summary))
        }
        #expect(runs[0].stdout.split(separator: "\n").count >= 10)
        #expect(runs[0].rejects.split(separator: "\n").count >= 10)
        #expect(runs[0].stdout == runs[1].stdout)
        #expect(runs[0].rejects == runs[1].rejects)
        #expect(runs[0].stats == runs[1].stats)
        #expect(runs[0].summary == runs[1].summary)
    }

    /// The stats file without the run's time.
    func statsWithoutTimes(_ path: String) throws -> JSONValue {
        var stats = try JSONParser.parse(String(contentsOfFile: path, encoding: .utf8))
        stats["seconds"] = .null
        return stats
    }
}
