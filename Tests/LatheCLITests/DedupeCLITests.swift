import Foundation
import LatheIO
import Testing

private func lines(_ text: String) throws -> [JSONValue] {
    try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
}

private func document(_ id: String, _ words: [String], separator: String = " ") -> String {
    #"{"id":"\#(id)","text":"\#(words.joined(separator: separator))","source":"test"}"# + "\n"
}

/// `lathe-dedupe` as a user runs it: flags to drops, the rejects file, the closing lines, the
/// memory budget, and usage errors.
@Suite struct DedupeCLITests {
    /// Sixty distinct words have 56 word 5-grams. Changing word 30 changes the 5 shingles that
    /// hold it: Jaccard 51/61 ≈ 0.836, a near-duplicate. Changing words 10, 30 and 50 changes
    /// 15 (their windows do not overlap): 41/71 ≈ 0.577, kept under --verify.
    @Test func nearVerifyDropsExactAndNearCopiesAndNamesTheOriginal() throws {
        let scratch = Scratch()
        let base = (0..<60).map { "w\($0)" }
        var near = base
        near[30] = "changed"
        var far = near
        far[10] = "other"
        far[50] = "another"
        let input = scratch.file("in.jsonl", document("a", base) + document("b", near) + document("c", far)
            + document("d", base.map { $0.uppercased() }, separator: "\\n  ") + document("e", (0..<60).map { "v\($0)" }))
        let result = try Tool.run("lathe-dedupe", ["--near", "--verify", input, "--rejects", scratch.path + "/rejects.jsonl",
                                                   "--stats", scratch.path + "/stats.json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try lines(result.stdout).map { $0["id"] } == ["a", "c", "e"])
        let rejects = try lines(scratch.read("rejects.jsonl"))
        #expect(rejects.map { $0["id"] } == ["b", "d"])
        #expect(rejects[0]["reason"] == "near_duplicate")
        #expect(rejects[0].value(at: "reason_detail.duplicate_of") == "a")
        #expect(rejects[0].value(at: "reason_detail.jaccard")?.double == 0.8361)
        #expect(rejects[1]["reason"] == "exact_duplicate")
        #expect(rejects[1].value(at: "reason_detail.duplicate_of") == "a")
        let stats = try JSONParser.parse(scratch.read("stats.json"))
        #expect(stats["dropped_by_reason"] == ["near_duplicate": 1, "exact_duplicate": 1])
        #expect(result.stderr.contains("near: 14 bands × 8 rows"), "\(result.stderr)")
        #expect(result.stderr.contains("memory: about 5 records need about"), "\(result.stderr)")
    }

    /// A budget far below what the index needs spills it at every document; the runs are
    /// compacted, and the output is the same bytes as without a budget.
    @Test func tinyMemoryBudgetSpillsCompactsAndGivesTheSameBytes() throws {
        let scratch = Scratch()
        var text = ""
        for i in 0..<200 {
            var words = (0..<40).map { "w\((i * 31 + $0 * 17) % 997)" }
            text += document("d\(i)", words)
            if i % 10 == 0 {
                words[20] = "edit"
                text += document("d\(i)-near", words)
            }
        }
        let input = scratch.file("in.jsonl", text)
        let free = try Tool.run("lathe-dedupe", ["--near", input])
        let bounded = try Tool.run("lathe-dedupe", ["--near", input, "--memory", "2K", "--temp-dir", scratch.path])
        #expect(free.status == 0 && bounded.status == 0, "\(bounded.stderr)")
        #expect(bounded.stdout == free.stdout)
        #expect(try lines(free.stdout).count < 220)
        #expect(bounded.stderr.contains("spilled") && bounded.stderr.contains("compacted into"), "\(bounded.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["in.jsonl"])
    }

    @Test func flagsThatCannotWorkTogetherAreUsageErrors() throws {
        let scratch = Scratch()
        let input = scratch.file("in.jsonl", document("a", ["x"]))
        let verify = try Tool.run("lathe-dedupe", ["--verify", input])
        #expect(verify.status == 64 && verify.stderr.contains("--near"), "\(verify.stderr)")
        // Refused before stdin is read (a test that fed it would meet a closed pipe).
        let stdin = try Tool.run("lathe-dedupe", ["--keep", "longest", "-"])
        #expect(stdin.status == 64 && stdin.stderr.contains("input files"), "\(stdin.stderr)")
    }
}
