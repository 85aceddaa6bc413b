import Foundation
import Testing
@testable import LatheIO

/// A scratch directory per test, removed at the end.
final class Scratch {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "lathe-io-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + name
        FileManager.default.createFile(atPath: full, contents: Data(bytes))
        return full
    }

    func file(_ name: String, _ text: String) -> String { file(name, Array(text.utf8)) }

    /// Compresses with the system's gzip, so the reader is checked against another implementation.
    func gzip(_ name: String, _ text: String) throws -> [UInt8] {
        let plain = file(name, text)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-k", "-n", "-f", plain]
        try process.run()
        process.waitUntilExit()
        return Array(FileManager.default.contents(atPath: plain + ".gz")!)
    }
}

private func readAllLines(_ path: String, maxLineBytes: Int = LineBatcher.defaultMaxLineBytes, batchBytes: Int = 1 << 20) throws -> [(Int, String)] {
    let batcher = LineBatcher(source: try ByteSource(path: path), maxLineBytes: maxLineBytes, batchBytes: batchBytes)
    var lines: [(Int, String)] = []
    while let batch = try batcher.next() {
        for i in 0..<batch.count {
            lines.append((batch.location(i).line, batch.withLine(i) { String(decoding: $0, as: UTF8.self) }))
        }
    }
    return lines
}

@Suite struct ByteSourceTests {
    @Test func plainFilesPassThrough() throws {
        let scratch = Scratch()
        let path = scratch.file("a.jsonl", "{\"a\":1}\n{\"a\":2}\n")
        let source = try ByteSource(path: path)
        #expect(!source.isGzip)
        #expect(try source.readAll() == Array("{\"a\":1}\n{\"a\":2}\n".utf8))
    }

    @Test func gzipIsDetectedByContentNotName() throws {
        let scratch = Scratch()
        let compressed = try scratch.gzip("x.jsonl", "hello\nworld\n")
        let path = scratch.file("no-extension", compressed)
        let source = try ByteSource(path: path)
        #expect(source.isGzip)
        #expect(try source.readAll() == Array("hello\nworld\n".utf8))
    }

    @Test func concatenatedMembersReadAsOneStream() throws {
        let scratch = Scratch()
        let first = try scratch.gzip("one", "line 1\nline 2\n")
        let second = try scratch.gzip("two", "line 3\n")
        let third = try scratch.gzip("three", "")
        let path = scratch.file("multi.gz", first + second + third)
        #expect(try ByteSource(path: path).readAll() == Array("line 1\nline 2\nline 3\n".utf8))
    }

    @Test func largeMultiMemberInputSpanningManyChunks() throws {
        let scratch = Scratch()
        var expected = ""
        var members: [UInt8] = []
        for m in 0..<3 {
            let text = (0..<40_000).map { "{\"member\":\(m),\"i\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 % 97))\"}\n" }.joined()
            expected += text
            members += try scratch.gzip("m\(m)", text)
        }
        let path = scratch.file("big.gz", members)
        let lines = try readAllLines(path)
        #expect(lines.count == 120_000)
        #expect(lines.map(\.1).joined(separator: "\n") + "\n" == expected)
        #expect(lines.last?.0 == 120_000)
    }

    @Test func truncatedGzipKeepsWhatCameBeforeTheCut() throws {
        let scratch = Scratch()
        let text = (0..<20_000).map { "{\"i\":\($0),\"t\":\"some text that compresses \($0 * 7919 % 1000)\"}\n" }.joined()
        let full = try scratch.gzip("t", text)
        let cut = full.count * 2 / 3
        let path = scratch.file("cut.gz", Array(full[0..<cut]))
        let source = try ByteSource(path: path)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var failure: IOFailure?
        do {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                received += buffer[0..<n]
            }
        } catch let error as IOFailure {
            failure = error
        }
        #expect(failure?.message == "\(path): gzip stream truncated at byte \(cut)")
        #expect(received.count > text.utf8.count / 3)
        #expect(Array(text.utf8).starts(with: received))
    }

    @Test func garbageAfterAMemberIsAnError() throws {
        let scratch = Scratch()
        let member = try scratch.gzip("g", "a\n")
        let path = scratch.file("g.gz", member + Array("not gzip".utf8))
        #expect(throws: IOFailure.self) { try ByteSource(path: path).readAll() }
    }

    @Test func aFileStartingWithTheFirstMagicByteOnlyIsPlain() throws {
        let scratch = Scratch()
        let path = scratch.file("odd", [0x1F, 0x41, 0x0A])
        let source = try ByteSource(path: path)
        #expect(!source.isGzip)
        #expect(try source.readAll() == [0x1F, 0x41, 0x0A])
    }

    @Test func missingFilesAndDirectoriesAreNamed() {
        #expect(throws: IOFailure.self) { try ByteSource(path: "/nonexistent/x.jsonl") }
        do {
            _ = try ByteSource(path: "/nonexistent/x.jsonl")
        } catch let error as IOFailure {
            #expect(error.message.hasPrefix("/nonexistent/x.jsonl: cannot open"))
        } catch {}
        #expect(throws: IOFailure.self) { try ByteSource(path: NSTemporaryDirectory()) }
    }
}

@Suite struct LineBatcherTests {
    @Test func crlfBlankLinesAndAMissingFinalNewline() throws {
        let scratch = Scratch()
        let path = scratch.file("l", "a\r\nb\n\n  \nc")
        let lines = try readAllLines(path)
        #expect(lines.map(\.0) == [1, 2, 5])
        #expect(lines.map(\.1) == ["a", "b", "c"])
    }

    @Test func emptyInputHasNoLines() throws {
        let scratch = Scratch()
        #expect(try readAllLines(scratch.file("e", "")).isEmpty)
    }

    @Test func linesLongerThanABatchStayWhole() throws {
        let scratch = Scratch()
        let long = String(repeating: "y", count: 300_000)
        let path = scratch.file("long", "short\n\(long)\nend\n")
        let lines = try readAllLines(path, batchBytes: 1000)
        #expect(lines.map(\.1) == ["short", long, "end"])
        #expect(lines.map(\.0) == [1, 2, 3])
    }

    @Test func aLineOverTheGuardFailsWithItsLineNumber() throws {
        let scratch = Scratch()
        let path = scratch.file("guard", "ok\nok\n" + String(repeating: "z", count: 5000) + "\nok\n")
        #expect {
            _ = try readAllLines(path, maxLineBytes: 1000, batchBytes: 256)
        } throws: { error in
            (error as? IOFailure)?.message.hasPrefix("\(path):3: line longer than 1000 bytes") == true
        }
        let lastLine = scratch.file("guard-last", "ok\n" + String(repeating: "z", count: 5000))
        #expect {
            _ = try readAllLines(lastLine, maxLineBytes: 1000, batchBytes: 256)
        } throws: { error in
            (error as? IOFailure)?.message.hasPrefix("\(lastLine):2: line longer than 1000 bytes") == true
        }
    }

    @Test func lineNumbersAcrossManySmallBatches() throws {
        let scratch = Scratch()
        let text = (1...5000).map { "\($0)" }.joined(separator: "\n") + "\n"
        let lines = try readAllLines(scratch.file("n", text), batchBytes: 64)
        #expect(lines.count == 5000)
        #expect(lines.allSatisfy { String($0.0) == $0.1 })
    }
}

@Suite struct OrderedParallelMapTests {
    @Test func resultsComeBackInInputOrder() throws {
        var next = 0
        var seen: [Int] = []
        try orderedParallelMap(jobs: 4, produce: { () -> Int? in
            defer { next += 1 }
            return next < 2000 ? next : nil
        }, transform: { item in
            // Uneven work so that later items often finish first.
            var x = item
            for _ in 0..<((2000 - item) % 7 * 500) { x = (x &* 31) &+ 1 }
            return (item, x)
        }, consume: { seen.append($0.0) })
        #expect(seen == Array(0..<2000))
    }

    @Test func itemsBeforeAProducerErrorAreStillConsumed() {
        var next = 0
        var seen: [Int] = []
        #expect(throws: IOFailure.self) {
            try orderedParallelMap(jobs: 2, produce: { () throws -> Int? in
                if next == 10 { throw IOFailure("cut") }
                next += 1
                return next - 1
            }, transform: { $0 * 2 }, consume: { seen.append($0) })
        }
        #expect(seen == (0..<10).map { $0 * 2 })
    }
}

@Suite struct RunStatsTests {
    @Test func summaryLineAndJSON() {
        var stats = RunStats()
        stats.recordsIn = 1234
        stats.recordsOut = 1200
        stats.drop("too_short", count: 30)
        stats.drop("empty", count: 4)
        stats.bytesIn = 2_500_000
        stats.seconds = 0.5
        #expect(stats.summaryLine(tool: "t") == "t: 1,234 in, 1,200 out, 34 dropped (too_short 30, empty 4); 2.5 MB in 0.50 s (5.0 MB/s)")
        #expect(JSONWriter.string(stats.json(tool: "t")) == #"{"tool":"t","records_in":1234,"records_out":1200,"dropped":34,"dropped_by_reason":{"too_short":30,"empty":4},"bytes_in":2500000,"bytes_out":0,"seconds":0.5}"#)
    }
}

@Suite struct RunOrderedTests {
    /// Lines the fast path answers skip the parser; the rest go through `prepare`; both kinds
    /// come out in input order, and a line neither can read is a counted drop.
    @Test func theByteLevelPathIsTriedFirstAndTheParserTakesTheRest() throws {
        let scratch = Scratch()
        let input = scratch.file("in.jsonl", "{\"n\":1}\n\"fast 2\"\n{\"n\":3}\nnot json\n\"fast 5\"\n")
        var config = PipelineConfig(tool: "test", inputs: [input])
        config.output = scratch.path + "/out.jsonl"
        config.onError = .skip
        config.quiet = true
        let result = try JSONLinesPipeline.runOrdered(config, prepareLine: { line, _ in
            line.first == UInt8(ascii: "\"") ? "line:" + String(decoding: line, as: UTF8.self) : nil
        }, prepare: { record, _ in
            "parsed:" + JSONWriter.string(record)
        }, decide: { text, _ in
            [.keep(Array(JSONWriter.string(.string(text)).utf8))]
        })
        let out = try String(contentsOfFile: config.output, encoding: .utf8)
        #expect(out == #"""
            "parsed:{\"n\":1}"
            "line:\"fast 2\""
            "parsed:{\"n\":3}"
            "line:\"fast 5\""

            """#)
        #expect(result.stats.recordsIn == 5)
        #expect(result.stats.droppedTotal == 1)
    }
}
