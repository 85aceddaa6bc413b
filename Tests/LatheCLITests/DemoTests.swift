import Foundation
import LatheIO
import Testing

/// `make demo` in brief (DEMO_QUICK: fewer training steps) as the project's integration test:
/// every stage runs through the real tools, every output is checked by `lathe validate` inside
/// the script, and the numbers tell the story — the SFT model answers held-out questions that
/// the base model meets with more questions, and knows about as much.
@Suite struct DemoTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theQuickDemoRunsEveryStageAndSFTAnswersWhereBaseAsks() throws {
        let out = NSTemporaryDirectory() + "lathe-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try Tool.shell("LATHE_BIN='\(Tool.binDirectory)' DEMO_QUICK=1 DEMO_OUT='\(out)' bash '\(Self.repository)/demo/run.sh'")
        try #require(result.status == 0, "demo/run.sh failed:\n\(result.stderr.suffix(3000))")

        let lines = String(decoding: FileManager.default.contents(atPath: out + "/results.jsonl") ?? Data(), as: UTF8.self)
        let results = try lines.split(separator: "\n").map { try JSONParser.parse(String($0)) }
        func value(_ model: String, _ task: String, _ metric: String) throws -> Double {
            let found = results.first {
                ($0["checkpoint"]?.string ?? "").contains(model) && ($0["task"]?.string ?? "").hasPrefix(task)
                    && $0["metric"]?.string == metric
            }
            return try #require(found?["value"]?.double, "\(model) \(task) \(metric)")
        }
        #expect(try value("/base/", "generate", "asks_question") > value("/sft-model/", "generate", "asks_question") + 0.3)
        #expect(try value("/sft-model/", "generate", "stopped") > value("/base/", "generate", "stopped"))
        #expect(abs(try value("/base/", "choice", "acc") - value("/sft-model/", "choice", "acc")) < 0.2)
        #expect(FileManager.default.fileExists(atPath: out + "/report.html"))
    }
}
