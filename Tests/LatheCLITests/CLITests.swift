import Foundation
import LatheIO
import Testing

/// A scratch directory per test, removed at the end.
final class Scratch {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "lathe-cli-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + name
        FileManager.default.createFile(atPath: full, contents: Data(bytes))
        return full
    }

    @discardableResult
    func file(_ name: String, _ text: String) -> String { file(name, Array(text.utf8)) }

    func read(_ name: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path + "/" + name) ?? Data(), as: UTF8.self)
    }

    /// Compresses with the system's gzip, so the tools are checked against another implementation.
    func gzip(_ name: String, _ text: String) throws -> [UInt8] {
        let plain = file(name, text)
        let result = try Tool.shell("gzip -n -f '\(plain)'")
        precondition(result.status == 0, result.stderr)
        return Array(FileManager.default.contents(atPath: plain + ".gz")!)
    }
}

private func documents(_ count: Int, from start: Int = 0) -> String {
    (start..<(start + count)).map { #"{"id":"d\#($0)","text":"Document number \#($0) says hello.","source":"test"}"# + "\n" }.joined()
}

@Suite struct DispatcherTests {
    @Test func helpListsEveryStage() throws {
        let result = try Tool.run("lathe", ["--help"])
        #expect(result.status == 0)
        for stage in ["ingest", "dedupe", "format-sft", "pair-prefs", "train", "eval"] {
            #expect(result.stdout.contains("  \(stage) "), "lathe --help does not list \(stage)")
        }
        #expect(result.stdout.contains("validate"))
    }

    @Test func stagesRunThroughTheDispatcher() throws {
        let direct = try Tool.run("lathe-dedupe", ["--version"])
        let dispatched = try Tool.run("lathe", ["dedupe", "--version"])
        #expect(dispatched.status == 0)
        #expect(dispatched.stdout == direct.stdout)
        #expect(!dispatched.stdout.isEmpty)
    }

    @Test func unknownCommandsAreUsageErrors() throws {
        #expect(try Tool.run("lathe", ["frobnicate"]).status == 64)
        #expect(try Tool.run("lathe", ["validate", "--kind", "nonsense"]).status == 64)
        #expect(try Tool.run("lathe", ["validate", "--kind", "json", "--gzip-level", "12"]).status == 64)
    }
}

@Suite struct ValidateTests {
    @Test func validDocumentsPass() throws {
        let scratch = Scratch()
        let path = scratch.file("docs.jsonl", documents(25))
        let result = try Tool.run("lathe", ["validate", "--kind", "document", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "25 records checked as document: 25 valid, 0 invalid\n")
        #expect(result.stderr.hasPrefix("lathe validate: 25 in, 25 out, 0 dropped;"))
    }

    @Test func invalidRecordsAreReportedWithFileLineAndPath() throws {
        let scratch = Scratch()
        let path = scratch.file("docs.jsonl", documents(2) + #"{"id":"x","source":"t"}"# + "\n" + documents(1, from: 5)
            + #"{"id":"y","text":7,"source":"t"}"# + "\n")
        let result = try Tool.run("lathe", ["validate", "--kind", "document", path])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("\(path):3: "))
        #expect(lines[0].contains("text"))
        #expect(lines[1].hasPrefix("\(path):5: $.text"))
        #expect(lines[2] == "5 records checked as document: 3 valid, 2 invalid")
    }

    @Test func rejectsAndStatsFiles() throws {
        let scratch = Scratch()
        let input = scratch.file("in.jsonl", documents(3) + #"{"id":"bad","source":"t"}"# + "\n" + "not json\n")
        let result = try Tool.run("lathe", ["validate", "--kind", "document", input, "-o", scratch.path + "/ok.jsonl",
                                            "--rejects", scratch.path + "/rejects.jsonl", "--stats", scratch.path + "/stats.json"])
        #expect(result.status == 1)
        #expect(scratch.read("ok.jsonl") == documents(3))
        let rejects = scratch.read("rejects.jsonl").split(separator: "\n").map { try! JSONParser.parse(String($0)) }
        #expect(rejects.count == 2)
        #expect(rejects[0]["id"] == "bad")
        #expect(rejects[0]["reason"] == "invalid_document")
        #expect(rejects[0]["reason_detail"]?.string?.contains("text") == true)
        #expect(rejects[1]["reason"] == "invalid_json")
        #expect(rejects[1]["line"] == "not json")
        #expect(rejects[1]["reason_detail"]?.string?.hasPrefix("\(input):5: invalid JSON") == true)
        let stats = try JSONParser.parse(scratch.read("stats.json"))
        #expect(stats["records_in"] == 5)
        #expect(stats["records_out"] == 3)
        #expect(stats["dropped"] == 2)
        #expect(stats["dropped_by_reason"] == ["invalid_document": 1, "invalid_json": 1])
    }

    @Test func schemasAgreeWithTheBundledFixtures() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/records")
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".jsonl") }
        #expect(files.count >= 7)
        for file in files {
            let kind = String(file.dropLast(".jsonl".count))
            let result = try Tool.run("lathe", ["validate", "--kind", kind, fixtures.appendingPathComponent(file).path])
            #expect(result.status == 0, "\(file): \(result.stdout)")
        }
    }
}

extension DispatcherTests {
    /// An installed binary has no .build beside it: the schemas must be inside the executable.
    @Test func validateWorksFromACopiedBinary() throws {
        let scratch = Scratch()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/records")
        try FileManager.default.copyItem(atPath: Tool.binDirectory + "/lathe", toPath: scratch.path + "/lathe")
        let copied = try Tool.shell("cd / && '\(scratch.path)/lathe' validate --kind thread '\(fixtures.path)/thread.jsonl'")
        #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
        #expect(copied.stdout.contains("valid, 0 invalid"))
        // No path to a resource bundle is compiled in, so nothing can quietly fall back to .build.
        let binary = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/lathe"))
        #expect(binary.range(of: Data("LatheData.resources".utf8)) == nil)
    }
}

@Suite struct BadInputTests {
    @Test func truncatedGzipKeepsRecordsBeforeTheCut() throws {
        let scratch = Scratch()
        let text = documents(30_000)
        let full = try scratch.gzip("docs.jsonl", text)
        let cut = scratch.file("cut.jsonl.gz", Array(full[0..<(full.count / 2)]))
        let result = try Tool.run("lathe", ["validate", "--kind", "document", cut, "-o", scratch.path + "/out.jsonl"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("lathe validate: \(cut): gzip stream truncated at byte \(full.count / 2)"))
        let out = scratch.read("out.jsonl")
        #expect(out.hasSuffix("\n"))
        #expect(text.hasPrefix(out))
        #expect(out.split(separator: "\n").count > 5_000)
    }

    @Test func invalidUTF8StopsTheRunWithFileAndLine() throws {
        let scratch = Scratch()
        let path = scratch.file("bad.jsonl", Array(documents(1).utf8) + Array(#"{"id":"x","text":"caf"#.utf8) + [0xE9] + Array(#"","source":"t"}"#.utf8) + [0x0A])
        let result = try Tool.run("lathe", ["validate", "--kind", "document", path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("\(path):2: invalid JSON: invalid UTF-8 at byte 22 of the line"))
    }

    @Test func aLineOverTheGuardStopsTheRun() throws {
        let scratch = Scratch()
        let long = #"{"id":"l","text":""# + String(repeating: "a", count: 5000) + #"","source":"t"}"# + "\n"
        let path = scratch.file("long.jsonl", documents(2) + long + documents(1))
        let result = try Tool.run("lathe", ["validate", "--kind", "document", "--max-line-bytes", "1000", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):3: line longer than 1000 bytes"))
    }

    @Test func binaryGarbageIsInvalidNotACrash() throws {
        let scratch = Scratch()
        var state: UInt64 = 7
        let garbage = (0..<100_000).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let path = scratch.file("garbage.bin", garbage)
        let result = try Tool.run("lathe", ["validate", "--kind", "json", path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("\(path):1: invalid JSON"))
    }

    @Test func emptyInputIsZeroRecords() throws {
        let scratch = Scratch()
        let path = scratch.file("empty.jsonl", "")
        let result = try Tool.run("lathe", ["validate", "--kind", "document", path])
        #expect(result.status == 0)
        #expect(result.stdout == "0 records checked as document: 0 valid, 0 invalid\n")
        let fromStdin = try Tool.shell("lathe validate --kind document - < /dev/null")
        #expect(fromStdin.status == 0)
    }

    @Test func aMissingFileIsNamed() throws {
        let scratch = Scratch()
        let present = scratch.file("a.jsonl", documents(1))
        let result = try Tool.run("lathe", ["validate", "--kind", "document", present, "/no/such/file.jsonl"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/no/such/file.jsonl: cannot open: No such file or directory"))
    }
}

@Suite struct StreamingTests {
    @Test func stdinAndGzipInputAndOutput() throws {
        let scratch = Scratch()
        let text = documents(100)
        let input = scratch.file("in.jsonl", text)
        let result = try Tool.shell("lathe validate --kind document -o '\(scratch.path)/out.jsonl.gz' < '\(input)'")
        #expect(result.status == 0)
        let unzipped = try Tool.shell("gzip -dc '\(scratch.path)/out.jsonl.gz'")
        #expect(unzipped.stdout == text)
        // The gzip output read back through the gzip-sniffing input, from a name without .gz.
        try FileManager.default.moveItem(atPath: scratch.path + "/out.jsonl.gz", toPath: scratch.path + "/renamed")
        let again = try Tool.run("lathe", ["validate", "--kind", "document", scratch.path + "/renamed", "-o", "-"])
        #expect(again.stdout == text)
    }

    @Test func severalInputsInOrderAndOneJob() throws {
        let scratch = Scratch()
        let a = scratch.file("a.jsonl", documents(3000))
        let b = try scratch.gzip("b.jsonl", documents(2000, from: 3000))
        let bPath = scratch.file("b.gz", b)
        for jobs in ["1", "2", "4"] {
            let result = try Tool.run("lathe", ["validate", "--kind", "document", "--jobs", jobs, a, bPath, "-o", "-", "--quiet"])
            #expect(result.status == 0)
            #expect(result.stdout == documents(5000))
            #expect(result.stderr.isEmpty)
        }
    }

    @Test func aClosedPipeEndsQuietlyWithSuccess() throws {
        let scratch = Scratch()
        let path = scratch.file("many.jsonl", documents(200_000))
        let result = try Tool.shell("lathe validate --kind document -o - --quiet '\(path)' | head -1; echo \"status ${PIPESTATUS[0]}\"")
        #expect(result.stdout == documents(1) + "status 0\n")
        #expect(result.stderr.isEmpty)
    }
}
