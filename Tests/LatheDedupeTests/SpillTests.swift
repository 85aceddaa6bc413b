import Foundation
import LatheIO
import Testing
@testable import LatheDedupe

@Suite struct SpillTests {
    /// Band hashes from a small alphabet, so buckets collide often and chains run long: runs
    /// are compacted level after level, and the buckets merged from several runs are cut to
    /// `maxChain`, yet every query finds what the index in memory finds.
    @Test func spilledIndexFindsTheSameCandidatesAsOneInMemory() throws {
        let scratch = Scratch()
        var rng = SplitMix64(seed: 7)
        var plain = LSHIndex(bands: 4, maxChain: 5, maxCandidates: 3)
        var spilled = LSHIndex(bands: 4, maxChain: 5, maxCandidates: 3)
        for doc in 0..<3000 {
            let hashes = (0..<4).map { _ in rng.next() % 40 }
            let expected = plain.insert(doc: doc, bandHashes: hashes)
            #expect(spilled.insert(doc: doc, bandHashes: hashes) == expected, "doc \(doc)")
            // About 30 documents per run: many runs, each bucket split across several of them.
            try spilled.spill(ifOver: 30 * LSHIndex.bytesPerDocument(bands: 4), directory: scratch.path)
        }
        let (spills, runs, _) = spilled.spilled
        #expect(spills > 50)
        // 8 runs of a level make one of the next: about 100 spills are 1·64 + k·8 + the rest.
        #expect(runs < 3 * LSHIndex.compactionFanIn && runs < spills / 4)
        #expect(spilled.memoryBytes <= 31 * LSHIndex.bytesPerDocument(bands: 4))
        // Runs are unlinked as soon as they are mapped: nothing is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    @Test func aTinyBudgetSpillsAndChangesNothingInTheOutput() throws {
        var rng = SplitMix64(seed: 3)
        var records: [JSONValue] = []
        for i in 0..<600 {
            let words = randomWords(200, &rng)  // two changed words: Jaccard 186/206 ≈ 0.90
            records.append(doc("r\(i)", words.joined(separator: " ")))
            if i % 5 == 0 {  // a near copy: two words changed
                var copy = words
                copy[7] = "changed"
                copy[150] = "edited"
                records.append(doc("r\(i)-near", copy.joined(separator: " ")))
            }
        }
        let scratch = Scratch()
        for var settings in [nearSettings(verify: false), nearSettings(verify: true), nearSettings(verify: true, keep: .longest)] {
            let unbounded = try dedupe(records, settings)
            settings.memoryBudget = 16 << 10
            settings.temporaryDirectory = scratch.path
            let bounded = try dedupe(records, settings)
            #expect(bounded.report.spills > LSHIndex.compactionFanIn)
            #expect(bounded.report.spilledRuns < bounded.report.spills)
            #expect(unbounded.report.spills == 0 && unbounded.report.spilledRuns == 0)
            #expect(bounded.keptIds == unbounded.keptIds)
            #expect(bounded.rejects == unbounded.rejects)
            #expect(unbounded.rejectedIds.count >= 115)
        }
    }

    @Test func unwritableTempDirectoryIsAClearError() throws {
        var settings = nearSettings(verify: false)
        settings.memoryBudget = 1024
        settings.temporaryDirectory = "/nonexistent/lathe"
        #expect {
            _ = try dedupe((0..<50).map { doc("d\($0)", "some words number \($0) here and there") }, settings)
        } throws: { error in
            "\(error)".contains("/nonexistent/lathe") && "\(error)".contains("--temp-dir")
        }
    }

    @Test func estimateExtrapolatesFromTheFileSize() throws {
        let scratch = Scratch()
        let line = #"{"id":"x","text":"one two three four five"}"# + "\n"
        let path = scratch.file("in.jsonl", String(repeating: line, count: 10_000))
        var settings = DedupeSettings()
        settings.near = NearSettings()
        let estimate = try #require(Deduplicator.estimate(inputs: [path], settings: settings))
        #expect(estimate.records == 10_000)
        #expect(estimate.bytes == 10_000 * Deduplicator.bytesPerRecord(settings))
        #expect(Deduplicator.estimate(inputs: ["-"], settings: settings) == nil)
    }
}
