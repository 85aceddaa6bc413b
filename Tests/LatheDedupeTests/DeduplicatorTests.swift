import Foundation
import Testing
import LatheIO
@testable import LatheDedupe

private let base = (1...20).map { "word\($0)" }

/// The 20-word base with one word replaced: at the end, 15 of 17 distinct 5-gram shingles are
/// shared (Jaccard 15/17 ≈ 0.88); in the middle, 11 of 21 (≈ 0.52).
private func replaced(at index: Int) -> String {
    var words = base
    words[index] = "other"
    return words.joined(separator: " ")
}

@Suite struct ExactModeTests {
    @Test func normalisedCopiesGoAndNameTheirOriginal() throws {
        let result = try dedupe([
            doc("a", "Hello   World, this is it."),
            doc("b", "hello world, THIS is it."),
            doc("c", "Hello World, this is it!"),
            doc("d", "Cafe\u{301} noir"),
            doc("e", "café NOIR"),
        ], DedupeSettings())
        #expect(result.keptIds == ["a", "c", "d"])
        #expect(result.rejectedIds == ["b", "e"])
        #expect(result.reject("b")?["reason"]?.string == "exact_duplicate")
        #expect(result.reject("b")?["reason_detail"]?["duplicate_of"]?.string == "a")
        #expect(result.reject("e")?["reason_detail"]?["duplicate_of"]?.string == "d")
        #expect(result.report.stats.dropped == ["exact_duplicate": 2])
    }

    @Test func normalizeNoneComparesBytes() throws {
        var settings = DedupeSettings()
        settings.normalization = .none
        let result = try dedupe([doc("a", "Hello"), doc("b", "hello"), doc("c", "Hello")], settings)
        #expect(result.keptIds == ["a", "b"])
    }

    @Test func conversationsDedupeOnRoleAndContentOfEveryTurn() throws {
        func conversation(_ id: String, _ turns: [(String, String)]) -> JSONValue {
            .object(JSONObject([("id", .string(id)), ("messages", .array(turns.map { .object(JSONObject([("role", .string($0.0)), ("content", .string($0.1))])) }))]))
        }
        var settings = DedupeSettings()
        settings.keys = KeyFields(["messages"])
        let result = try dedupe([
            conversation("a", [("user", "Hi"), ("assistant", "Hello!")]),
            conversation("b", [("user", "hi"), ("assistant", "hello!")]),
            conversation("c", [("assistant", "Hi"), ("user", "Hello!")]),
        ], settings)
        #expect(result.keptIds == ["a", "c"])
    }

    @Test func severalKeysAreComparedTogether() throws {
        var settings = DedupeSettings()
        settings.keys = KeyFields(["prompt", "chosen"])
        let result = try dedupe([
            (["id": "a", "prompt": "ab", "chosen": "c"] as JSONValue),
            (["id": "b", "prompt": "a", "chosen": "bc"] as JSONValue),
            (["id": "c", "prompt": "AB", "chosen": "c", "rejected": "x"] as JSONValue),
        ], settings)
        #expect(result.keptIds == ["a", "b"])
    }

    @Test func emptyTextsAreNeverDuplicates() throws {
        let records = [doc("a", ""), doc("b", "   "), doc("c", ""), doc("d", "x")]
        #expect(try dedupe(records, DedupeSettings()).keptIds == ["a", "b", "c", "d"])
        #expect(try dedupe(records, nearSettings(verify: false)).keptIds == ["a", "b", "c", "d"])
        #expect(try dedupe(records, nearSettings(verify: true)).keptIds == ["a", "b", "c", "d"])
    }

    @Test func missingKeyFailsWithFileLineAndFieldOrIsCountedWhenSkipped() throws {
        let records = [doc("a", "one"), (["id": "b", "body": "two"] as JSONValue), doc("c", "three")]
        do {
            _ = try dedupe(records, DedupeSettings())
            Issue.record("expected an error")
        } catch let error as RecordError {
            #expect(error.location.line == 2)
            #expect(error.description.contains("in.jsonl:2"))
            #expect(error.message.contains("'text'"))
        }
        let skipped = try dedupe(records, nearSettings(verify: true), onError: .skip)
        #expect(skipped.keptIds == ["a", "c"])
        #expect(skipped.report.stats.dropped == ["missing_field": 1])
    }

    @Test func outputIsInputOrderMinusDrops() throws {
        var rng = SplitMix64(seed: 5)
        var records: [JSONValue] = []
        var texts: [String] = []
        for i in 0..<3000 {
            let text: String
            if i > 10 && rng.next() % 3 == 0 {
                text = texts[Int(rng.next() % UInt64(texts.count))].uppercased()
            } else {
                text = randomWords(30, &rng).joined(separator: " ")
            }
            texts.append(text)
            records.append(doc("r\(i)", text))
        }
        for settings in [DedupeSettings(), nearSettings(verify: false), nearSettings(verify: true)] {
            let result = try dedupe(records, settings, jobs: 2)
            let dropped = Set(result.rejectedIds)
            #expect(result.keptIds == records.map { $0["id"]!.string! }.filter { !dropped.contains($0) })
            #expect(result.kept.count + result.rejects.count == records.count)
            #expect(dropped.count > 800)
        }
    }
}

@Suite struct NearModeTests {
    @Test func verifyKeepsExactlyThePairsAtOrAboveTheThreshold() throws {
        let records = [
            doc("a", base.joined(separator: " ")),
            doc("b", replaced(at: 19)),   // J(a, b) = 15/17
            doc("c", replaced(at: 10)),   // J(a, c) = 11/21, J(b, c) = 10/22
            doc("d", (1...20).map { "unrelated\($0)" }.joined(separator: " ")),
        ]
        let result = try dedupe(records, nearSettings(verify: true, bands: 20, rows: 2))
        #expect(result.keptIds == ["a", "c", "d"])
        let b = try #require(result.reject("b"))
        #expect(b["reason"]?.string == "near_duplicate")
        #expect(b["reason_detail"]?["duplicate_of"]?.string == "a")
        #expect(b["reason_detail"]?["jaccard"]?.double == 0.8824)
        // 20 bands of 2 rows make c a candidate (1 − (1 − 0.52²)^20 ≈ 0.998): verification removes it.
        #expect(result.report.candidatePairs >= 2)
        #expect(result.report.verifiedPairs == 1)
    }

    @Test func withoutVerifyLSHCandidatesAreDropped() throws {
        let records = [doc("a", base.joined(separator: " ")), doc("b", replaced(at: 10))]
        // With 20 bands × 2 rows a pair at 0.52 is almost surely a candidate, and goes unverified.
        let loose = try dedupe(records, nearSettings(verify: false, bands: 20, rows: 2))
        #expect(loose.keptIds == ["a"])
        #expect(loose.reject("b")?["reason_detail"]?["duplicate_of"]?.string == "a")
        // FineWeb's 14 × 8 separates it (candidate probability 0.07 at 0.52) with this seed.
        #expect(try dedupe(records, nearSettings(verify: false)).keptIds == ["a", "b"])
    }

    @Test func shortTextsAreComparedWhole() throws {
        let records = [doc("a", "red apple"), doc("b", "red pear"), doc("c", "Red  APPLE")]
        var settings = nearSettings(verify: true)
        settings.exact = false
        let result = try dedupe(records, settings)
        #expect(result.keptIds == ["a", "b"])
        #expect(result.reject("c")?["reason_detail"]?["jaccard"]?.double == 1)
    }

    @Test func enormousDocumentsAreShingledUpToMaxWords() throws {
        var rng = SplitMix64(seed: 9)
        let head = randomWords(1000, &rng)
        var settings = nearSettings(verify: false)
        settings.near!.maxWords = 1000
        settings.exact = false
        let analyzer = Analyzer(settings: settings)
        let location = SourceLocation(file: "x", line: 1)
        let short = analyzer.analyze(doc("a", head.joined(separator: " ")), location, [.bands])
        let long = analyzer.analyze(doc("b", (head + randomWords(200_000, &rng)).joined(separator: " ")), location, [.bands])
        #expect(short.bands != nil)
        #expect(short.bands == long.bands)
    }

    @Test func keepPoliciesPickTheSurvivorOfEachCluster() throws {
        let records = [
            doc("a", base.joined(separator: " "), [("score", 1)]),
            doc("b", base.joined(separator: " ") + " extra", [("score", 5)]),       // J(a,b) = 16/17
            doc("c", replaced(at: 19) + " longer tail words", [("score", 3)]),      // J with a: 15/20
            doc("d", "a different document that stands alone here", [("score", 9)]),
            doc("e", base.joined(separator: " "), [("score", 7)]),                  // exact copy of a
        ]
        let first = try dedupe(records, nearSettings(verify: true))
        #expect(first.keptIds == ["a", "c", "d"])
        #expect(first.reject("e")?["reason"]?.string == "exact_duplicate")

        let longest = try dedupe(records, nearSettings(verify: true, keep: .longest))
        #expect(longest.keptIds == ["b", "c", "d"])
        #expect(longest.reject("a")?["reason_detail"]?["duplicate_of"]?.string == "b")

        let scored = try dedupe(records, nearSettings(verify: true, keep: .field("score")))
        #expect(scored.keptIds == ["c", "d", "e"])
        #expect(scored.reject("a")?["reason"]?.string == "exact_duplicate")
        #expect(scored.reject("b")?["reason"]?.string == "near_duplicate")
        #expect(scored.reject("b")?["reason_detail"]?["duplicate_of"]?.string == "e")

        // Exact mode alone honours the policy too.
        var exactOnly = DedupeSettings()
        exactOnly.keep = .field("score")
        #expect(try dedupe(records, exactOnly).keptIds == ["b", "c", "d", "e"])
    }

    @Test func keepOtherThanFirstRefusesStdin() throws {
        var config = PipelineConfig(tool: "test", inputs: ["-"])
        config.quiet = true
        #expect(throws: IOFailure.self) { try Deduplicator.run(config, settings: nearSettings(verify: true)) }
    }
}

@Suite struct DecontaminationTests {
    @Test func evalItemInsideALongerDocumentIsFoundAndReported() throws {
        let scratch = Scratch()
        var rng = SplitMix64(seed: 1)
        let question = "Which planet in our solar system has the longest day measured in Earth hours and why is that so"
        let eval = scratch.records("eval.jsonl", [
            (["id": "q1", "question": .string(question), "answer": "Venus"] as JSONValue),
            (["id": "q2", "question": "too short to check", "answer": "no"] as JSONValue),
        ])
        let thirteen = question.split(separator: " ").prefix(12).joined(separator: " ")
        let records = [
            doc("clean", randomWords(300, &rng).joined(separator: " ")),
            doc("leak", (randomWords(200, &rng) + [question.uppercased()] + randomWords(200, &rng)).joined(separator: " ")),
            doc("twelve", (randomWords(50, &rng) + [thirteen] + randomWords(50, &rng)).joined(separator: " ")),
            doc("leak2", "Notes: " + question + "?"),
        ]
        var settings = DedupeSettings()
        settings.contamination = try ContaminationIndex.load(paths: [eval], fields: [], idField: "id", ngram: 13, normalization: .full)
        settings.contaminationReport = scratch.path + "/leaks.jsonl"
        let result = try dedupe(records, settings)
        #expect(result.keptIds == ["clean", "twelve"])
        #expect(result.reject("leak")?["reason"]?.string == "contaminated")
        #expect(result.reject("leak")?["reason_detail"]?["eval_items"]?.array?.first?["id"]?.string == "q1")
        #expect(result.report.evalItemsTooShort == 1)
        let leaks = scratch.read("leaks.jsonl")
        #expect(leaks.count == 1)
        #expect(leaks.first?["eval_id"]?.string == "q1")
        #expect(leaks.first?["records"]?.int == 2)
    }

    /// With --min-ngram 5, a 6-word question is indexed whole and found as 6 words in a row;
    /// its words scattered, or a 4-word item, are not.
    @Test func shortEvalTextsAreIndexedWholeAboveTheMinimum() throws {
        let scratch = Scratch()
        let eval = scratch.records("eval.jsonl", [
            (["id": "q1", "question": "Which street is the bakery on?"] as JSONValue),
            (["id": "q2", "question": "Where is it?"] as JSONValue),
        ])
        let records = [
            doc("quiz", "Last week: WHICH street is the bakery on? Answer: Mill Lane."),
            doc("scattered", "Which street? The bakery is on Mill Lane, which is on the map."),
            doc("where", "Where is it? Nobody knows."),
        ]
        var settings = DedupeSettings()
        settings.exact = false
        settings.contamination = try ContaminationIndex.load(paths: [eval], fields: [], idField: "id", ngram: 13, minNgram: 5, normalization: .full)
        let result = try dedupe(records, settings)
        #expect(result.keptIds == ["scattered", "where"])
        #expect(result.reject("quiz")?["reason_detail"]?["eval_items"]?.array?.first?["id"]?.string == "q1")
        #expect(result.report.evalItemsTooShort == 1)
        // Without the minimum both items are too short and nothing is dropped.
        settings.contamination = try ContaminationIndex.load(paths: [eval], fields: [], idField: "id", ngram: 13, normalization: .full)
        #expect(try dedupe(records, settings).keptIds == ["quiz", "scattered", "where"])
    }

    /// Passes that write nothing must not count: every mode reports the same leaks and lines.
    @Test func leaksAndRemovedLinesAreCountedOnceInEveryMode() throws {
        let scratch = Scratch()
        var rng = SplitMix64(seed: 9)
        let question = "Which planet in our solar system has the longest day measured in Earth hours and why is that so"
        let eval = scratch.records("eval.jsonl", [(["id": "q1", "question": .string(question)] as JSONValue)])
        var records: [JSONValue] = []
        for i in 0..<6 {
            let body = randomWords(40, &rng).joined(separator: " ")
            records.append(doc("d\(i)", "Accept all cookies now please\n" + body + (i % 2 == 0 ? " " + question : "")))
        }
        var expected: (leaks: Int, records: Int, lines: Int)?
        for (verify, keep) in [(false, KeepPolicy.first), (true, .first), (true, .longest), (false, .longest)] {
            var settings = nearSettings(verify: verify, keep: keep)
            settings.lines = LineSettings(minDocuments: 3, minWords: 5)
            settings.contamination = try ContaminationIndex.load(paths: [eval], fields: [], idField: "id", ngram: 13, normalization: .full)
            let report = try dedupe(records, settings).report
            let got = (report.leakedItems.first?.records ?? 0, report.contaminatedRecords, report.linesRemoved)
            #expect(got.0 == 3 && got.1 == 3, "verify \(verify) keep \(keep)")
            if let expected { #expect(expected == got, "verify \(verify) keep \(keep)") } else { expected = got }
        }
        #expect(expected?.lines == 6)
    }

    @Test func evalFileThatIsNotJSONLinesIsAnError() throws {
        let scratch = Scratch()
        let bad = scratch.file("eval.txt", "{\"id\": 1, \"q\": \"fine\"}\nthis is not json\n")
        do {
            _ = try ContaminationIndex.load(paths: [bad], fields: [], idField: "id", ngram: 13, normalization: .full)
            Issue.record("expected an error")
        } catch let error as IOFailure {
            #expect(error.message.contains("eval.txt:2"))
            #expect(error.message.contains("--against"))
        }
    }
}

@Suite struct LinesModeTests {
    @Test func linesInKDocumentsGoAndTooShortDocumentsAreDropped() throws {
        let banner = "Accept all cookies to continue browsing"
        var records: [JSONValue] = []
        for i in 0..<4 {
            records.append(doc("p\(i)", "\(banner)\nunique content number \(i) with enough words here\n  accept ALL cookies to continue browsing  "))
        }
        records.append(doc("short", "\(banner)\nonly two"))
        records.append(doc("once", "a line seen once\nanother line seen once only"))
        var settings = DedupeSettings()
        settings.lines = LineSettings(minDocuments: 3, minWords: 5)
        let result = try dedupe(records, settings)
        #expect(result.keptIds == ["p0", "p1", "p2", "p3", "once"])
        #expect(result.kept[0]["text"]?.string == "unique content number 0 with enough words here")
        #expect(result.kept[4]["text"]?.string == "a line seen once\nanother line seen once only")
        #expect(result.reject("short")?["reason"]?.string == "lines_too_short")
        #expect(result.report.linesRemoved == 9)
    }
}
