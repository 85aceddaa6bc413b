import Foundation
import LatheIO
import Testing

/// `make demo` in brief (DEMO_QUICK: fewer training steps) as the project's integration test:
/// every stage runs through the real tools, every output is checked by `lathe validate` inside
/// the script, and the numbers tell the story — the SFT model answers held-out questions that
/// the base model meets with more questions, and knows about as much; the reward model, DPO and
/// PPO stages leave checkpoints that the reward and win-rate tasks score.
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

        // Every aligned model's answers are scored and judged against the SFT model's; the SFT model
        // judged against itself gives the same answers, so every pair ties and its win rate is exactly 0.5.
        for model in ["/base/", "/sft-model/", "/dpo-model/", "/ppo-model/"] {
            #expect(try value(model, "reward", "mean").isFinite)
            #expect(try (0...1).contains(value(model, "winrate", "win_rate")))
        }
        #expect(try value("/sft-model/", "winrate", "win_rate") == 0.5 && value("/sft-model/", "winrate", "tie_rate") == 1)
        // The reward model, scored on held-out pairs, prefers the voted-up answer more often than not.
        #expect(try value("/rm/", "prefs", "accuracy") > 0.5)
    }
}
