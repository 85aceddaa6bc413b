import Foundation
import LatheIO
import Testing

private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func fixture(_ path: String) -> String { repo.appendingPathComponent("fixtures/" + path).path }

private func contents(_ path: String) -> String {
    String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
}

/// `id:reason` for each line of a --rejects file.
private func rejectReasons(_ path: String) throws -> String {
    try contents(path).split(separator: "\n").map { line in
        let record = try JSONParser.parse(String(line))
        return (record["id"]?.string ?? "?") + ":" + (record["reason"]?.string ?? "?")
    }.joined(separator: "\n") + "\n"
}

/// Runs `tool` and checks its output against a hand-written golden file, then that `lathe
/// validate --kind kind` accepts that output.
private func expectGolden(_ tool: String, _ arguments: [String], golden: String, kind: String) throws {
    let result = try Tool.run(tool, arguments + ["--quiet"])
    #expect(result.status == 0, "\(tool) \(arguments): \(result.stderr)")
    #expect(result.stdout == contents(fixture(golden)), "\(tool) \(arguments) differs from \(golden)")
    let validated = try Tool.run("lathe", ["validate", "--kind", kind, "-"], stdin: Data(result.stdout.utf8))
    #expect(validated.status == 0, "lathe validate --kind \(kind) rejects the output of \(tool) \(arguments): \(validated.stderr)")
}

@Suite struct FormatSFTTests {
    @Test(arguments: ["alpaca", "sharegpt", "messages", "prompt-completion", "threads"])
    func everyInputFormatMatchesItsGolden(_ name: String) throws {
        try expectGolden("lathe-format-sft", [fixture("format-sft/\(name).jsonl")], golden: "format-sft/\(name).expected.jsonl", kind: "conversation")
    }

    @Test func forcedFormatGivesTheSameOutput() throws {
        try expectGolden("lathe-format-sft", ["--from", "sharegpt", fixture("format-sft/sharegpt.jsonl")],
                         golden: "format-sft/sharegpt.expected.jsonl", kind: "conversation")
    }

    @Test func dottedFieldPaths() throws {
        try expectGolden("lathe-format-sft", ["--prompt-field", "q.text", "--response-field", "a.text", "--system-field", "meta.sys",
                                              fixture("format-sft/fields.jsonl")],
                         golden: "format-sft/fields.expected.jsonl", kind: "conversation")
    }

    @Test func promptCompletionStyle() throws {
        try expectGolden("lathe-format-sft", ["--style", "prompt-completion", fixture("format-sft/alpaca.jsonl")],
                         golden: "format-sft/alpaca.prompt-completion.expected.jsonl", kind: "conversation")
    }

    @Test func renderedTextAndSpansMatchTheGolden() throws {
        let one = try Tool.shell("head -1 '\(fixture("format-sft/alpaca.jsonl"))' | lathe-format-sft --quiet --render chatml")
        #expect(one.stdout == contents(fixture("format-sft/alpaca.chatml.expected.jsonl")))
    }

    @Test func cleaningRulesAreCountedDropReasons() throws {
        let scratch = Scratch()
        let rejects = scratch.path + "/rejects.jsonl"
        let stats = scratch.path + "/stats.json"
        let result = try Tool.run("lathe-format-sft", ["--min-chars", "2", "--max-chars", "40", "--drop-refusals", "--rejects", rejects,
                                                       "--stats", stats, fixture("format-sft/cleaning.jsonl")])
        #expect(result.status == 0)
        #expect(result.stdout == contents(fixture("format-sft/cleaning.expected.jsonl")))
        #expect(try rejectReasons(rejects) == contents(fixture("format-sft/cleaning.rejects.expected.txt")))
        #expect(result.stderr.contains("8 in, 2 out, 6 dropped"))
        let counts = try JSONParser.parse(contents(stats))
        #expect(counts["dropped_by_reason"]?["duplicate"]?.int == 1)
    }

    @Test func threadDropReasons() throws {
        let scratch = Scratch()
        let rejects = scratch.path + "/rejects.jsonl"
        _ = try Tool.run("lathe-format-sft", ["--quiet", "--rejects", rejects, fixture("format-sft/threads.jsonl")])
        #expect(try rejectReasons(rejects) == "se/3:no_answer_above_min_score\nse/4:no_answers\n")
        let lenient = try Tool.run("lathe-format-sft", ["--quiet", "--min-score", "0", fixture("format-sft/threads.jsonl")])
        #expect(lenient.stdout.contains(#"{"role":"assistant","content":"No."}"#))
    }

    @Test func htmlDropPolicyAndExtraRefusalFile() throws {
        let scratch = Scratch()
        let phrases = scratch.file("refusals.txt", "Mass ATTRACTS\n")
        let html = try Tool.run("lathe-format-sft", ["--html", "drop", "--rejects", scratch.path + "/r.jsonl", fixture("format-sft/cleaning.jsonl")])
        #expect(html.stderr.contains("html_remnants 1"))
        let refusals = try Tool.run("lathe-format-sft", ["--refusals", phrases, fixture("format-sft/cleaning.jsonl")])
        #expect(!refusals.stdout.contains("Mass attracts mass"))
        // c1 and its duplicate c6 match the extra phrase, c3 a built-in one.
        #expect(refusals.stderr.contains("refusal 3"))
    }

    @Test func everyTemplateSpansAssistantTextAndEndOfTurn() throws {
        let eot = ["chatml": "<|im_end|>", "llama3": "<|eot_id|>", "zephyr": "</s>", "alpaca": "<|endoftext|>", "plain": "<|endoftext|>"]
        for (template, marker) in eot {
            let result = try Tool.run("lathe-format-sft", ["--quiet", "--render", template, fixture("format-sft/sharegpt.jsonl")])
            #expect(result.status == 0)
            for line in result.stdout.split(separator: "\n") {
                let record = try JSONParser.parse(String(line))
                let text = Array(record["text"]!.string!.utf8)
                let answers = record["messages"]!.array!.filter { $0["role"]?.string == "assistant" }.map { $0["content"]!.string! }
                let spans = record["assistant_spans"]!.array!
                #expect(spans.count == answers.count, "\(template)")
                for (span, answer) in zip(spans, answers) {
                    let covered = String(decoding: text[span.array![0].int!..<span.array![1].int!], as: UTF8.self)
                    #expect(covered == answer + marker, "\(template): span covers \(covered.debugDescription)")
                }
                // The system turn is in the text, outside every span.
                if let system = record["messages"]!.array!.first(where: { $0["role"]?.string == "system" })?["content"]?.string {
                    #expect(record["text"]!.string!.contains(system))
                }
            }
            let validated = try Tool.run("lathe", ["validate", "--kind", "conversation", "-"], stdin: Data(result.stdout.utf8))
            #expect(validated.status == 0, "\(template): \(validated.stderr)")
        }
    }

    @Test func tokenizerCountsAndLimits() throws {
        let tokenizer = fixture("tokenizers/smollm2-style.json")
        let counted = try Tool.run("lathe-format-sft", ["--quiet", "--render", "chatml", "--tokenizer", tokenizer, fixture("format-sft/sharegpt.jsonl")])
        #expect(counted.status == 0, "\(counted.stderr)")
        let tokens = try counted.stdout.split(separator: "\n").map { try JSONParser.parse(String($0))["num_tokens"]!.int! }
        #expect(tokens.count == 2 && tokens.allSatisfy { $0 > 0 })
        // s1 has two exchanges; a limit between the one-exchange and two-exchange counts keeps
        // it only when truncated, with its first exchange gone whole.
        let limit = tokens[0] - 1
        let dropped = try Tool.run("lathe-format-sft", ["--render", "chatml", "--tokenizer", tokenizer, "--max-tokens", String(limit),
                                                         fixture("format-sft/sharegpt.jsonl")])
        #expect(dropped.stderr.contains("too_many_tokens 1"))
        let truncated = try Tool.run("lathe-format-sft", ["--quiet", "--render", "chatml", "--tokenizer", tokenizer, "--max-tokens", String(limit),
                                                           "--truncate", fixture("format-sft/sharegpt.jsonl")])
        let first = try JSONParser.parse(String(truncated.stdout.split(separator: "\n")[0]))
        #expect(first["messages"]!.array!.map { $0["content"]!.string! } == ["Be brief.", "Bye", "Goodbye."])
        #expect(first["num_tokens"]!.int! <= limit)
    }

    @Test func badInputNamesFileAndLine() throws {
        let scratch = Scratch()
        let input = scratch.file("mixed.jsonl", """
            {"id":"a1","instruction":"Hi","output":"Hello"}
            {"id":"d1","text":"a document, not an SFT example","source":"web"}
            {"id":"a2","instruction":"Hi","output":42}

            """)
        let failed = try Tool.run("lathe-format-sft", [input])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("mixed.jsonl:2: expected a thread"), "\(failed.stderr)")
        #expect(failed.stdout.split(separator: "\n").count == 1)
        let skipped = try Tool.run("lathe-format-sft", ["--on-error", "skip", input])
        #expect(skipped.status == 0)
        #expect(skipped.stderr.contains("invalid_record 2"))
        let shape = try Tool.run("lathe-format-sft", ["--on-error", "fail", "--from", "alpaca", scratch.file("one.jsonl", #"{"id":"a2","instruction":"Hi","output":42}"# + "\n")])
        #expect(shape.stderr.contains("one.jsonl:1: expected a string at 'output' in this alpaca record, found integer 42"), "\(shape.stderr)")
    }

    @Test func splitsAreStableAndNeverShareAPrompt() throws {
        let scratch = Scratch()
        // 600 records over 150 prompts, each prompt with four different answers.
        var lines = ""
        for i in 0..<600 { lines += #"{"id":"r\#(i)","instruction":"Question \#(i % 150)?","output":"Answer \#(i)."}"# + "\n" }
        let input = scratch.file("in.jsonl", lines)
        func split(_ dir: String, seed: String) throws -> (train: String, test: String) {
            let result = try Tool.run("lathe-format-sft", ["--quiet", "--split", "train=0.8,test=0.2", "--out-dir", scratch.path + "/" + dir,
                                                           "--seed", seed, input])
            #expect(result.status == 0, "\(result.stderr)")
            return (scratch.read(dir + "/train.jsonl"), scratch.read(dir + "/test.jsonl"))
        }
        func prompts(_ text: String) throws -> Set<String> {
            Set(try text.split(separator: "\n").map { try JSONParser.parse(String($0))["messages"]!.array![0]["content"]!.string! })
        }
        let a = try split("a", seed: "0")
        let trainPrompts = try prompts(a.train), testPrompts = try prompts(a.test)
        #expect(trainPrompts.isDisjoint(with: testPrompts))
        #expect(trainPrompts.count + testPrompts.count == 150)
        #expect(a.train.split(separator: "\n").count + a.test.split(separator: "\n").count == 600)
        #expect((10...60).contains(testPrompts.count), "test got \(testPrompts.count) of 150 prompts for a 0.2 share")
        let again = try split("b", seed: "0")
        #expect(again.train == a.train && again.test == a.test)
        let reseeded = try split("c", seed: "7")
        #expect(try prompts(reseeded.test) != testPrompts)
        // Only the finished splits are left, no temporary files.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/a").sorted() == ["test.jsonl", "train.jsonl"])
    }

    @Test(arguments: [false, true])
    func splitRunsCountTheBytesOfTheirFiles(gzip: Bool) throws {
        let scratch = Scratch()
        var sft = "", candidates = ""
        for i in 0..<300 {
            sft += #"{"id":"r\#(i)","instruction":"Question \#(i)?","output":"Answer \#(i)."}"# + "\n"
            candidates += #"{"id":"c\#(i)","prompt":"Prompt \#(i)","responses":[{"content":"good","score":2},{"content":"bad","score":1},{"content":"worse","score":0}]}"# + "\n"
        }
        let runs = [("lathe-format-sft", scratch.file("sft.jsonl", sft), [String]()),
                    ("lathe-pair-prefs", scratch.file("candidates.jsonl", candidates), ["--strategy", "all-pairs"])]
        for (tool, input, options) in runs {
            let dir = scratch.path + "/" + tool, stats = dir + ".stats.json"
            let result = try Tool.run(tool, ["--quiet", "--split", "train=0.7,test=0.3", "--out-dir", dir, "--stats", stats] + options
                                             + (gzip ? ["--gzip"] : []) + [input])
            #expect(result.status == 0, "\(tool): \(result.stderr)")
            let counted = try JSONParser.parse(contents(stats))
            var total = 0, records = 0
            for name in ["train", "test"] {
                let path = dir + "/" + name + (gzip ? ".jsonl.gz" : ".jsonl")
                let size = FileManager.default.contents(atPath: path)?.count ?? -1
                let lines = try Tool.shell(gzip ? "zcat '\(path)' | wc -l" : "wc -l < '\(path)'").stdout
                #expect(size > 0, "\(tool) wrote nothing to \(name)")
                #expect(counted["splits"]?[name]?["bytes_out"]?.int == size, "\(tool) \(name): \(counted)")
                #expect(counted["splits"]?[name]?["records_out"]?.int == Int(lines.trimmingCharacters(in: .whitespacesAndNewlines)))
                total += size
                records += counted["splits"]?[name]?["records_out"]?.int ?? 0
            }
            #expect(counted["bytes_out"]?.int == total, "\(tool): \(counted)")
            #expect(counted["records_out"]?.int == records && records == (tool == "lathe-format-sft" ? 300 : 900))
        }
    }

    @Test func gzipInAndOutAndSameBytesEachRun() throws {
        let scratch = Scratch()
        let gz = try scratch.gzip("threads.jsonl", contents(fixture("format-sft/threads.jsonl")))
        let input = scratch.file("in.jsonl.gz", gz)
        let out = scratch.path + "/out.jsonl.gz"
        let result = try Tool.run("lathe-format-sft", ["--quiet", "-o", out, "--jobs", "2", input])
        #expect(result.status == 0)
        let plain = try Tool.shell("zcat '\(out)'")
        #expect(plain.stdout == contents(fixture("format-sft/threads.expected.jsonl")))
        let one = try Tool.run("lathe-format-sft", ["--quiet", "--jobs", "1", "--render", "llama3", fixture("records/conversation.jsonl")])
        let two = try Tool.run("lathe-format-sft", ["--quiet", "--jobs", "2", "--render", "llama3", fixture("records/conversation.jsonl")])
        #expect(one.stdout == two.stdout && !one.stdout.isEmpty)
    }

    /// The line reader (`SFTReader.read(line:at:)`) changes no byte of the output, the rejects
    /// or the counts: every input fixture and some lines it must leave to the parser, read
    /// with it and with every line parsed (LATHE_FORMAT_SFT_PARSE_ALL).
    @Test(arguments: [[], ["--render", "chatml", "--system", "Be brief.", "--html", "drop"],
                      ["--style", "prompt-completion", "--min-chars", "3", "--drop-refusals", "--keep-duplicates"]])
    func lineReaderChangesNoByte(options: [String]) throws {
        let scratch = Scratch()
        var lines = ["alpaca", "sharegpt", "messages", "prompt-completion", "threads", "cleaning"]
            .map { contents(fixture("format-sft/\($0).jsonl")) }.joined()
        lines += """
            {"id": 12, "instruction": "Caf\\u00e9 \\ud83d\\ude00 &amp; <b>bold</b>", "input": "x\\/y", "output": "\\"Quoted\\"\\n\\tdone"}
            {"id": -0, "instruction": "Caf\\u00e9 \\ud83d\\ude00 &amp; <b>bold</b>", "input": "x\\/y", "output": "\\"Quoted\\"\\n\\tdone"}
            {"instruction": "Same turns, no id", "output": "Yes"}
            {"instruction": "Same turns, no id", "output": "Yes", "meta": {"n": [1, 2.5e3, null]}}
            {"instruction": "dup", "output": "a", "output": "b"}
            {"instruction": "escaped key", "outp\\u0075t": "b"}
            {"messages": [{"from": null, "role": "user", "content": "Hi"}]}
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "{}"}]}
            {"conversations": [{"from": "human", "value": "   "}, {"from": "gpt", "value": "x"}]}
            {"prompt": "p", "completion": 3}
            {"id": "t9", "question": {"title": "T", "body": "B"}, "answers": []}

            """
        let input = scratch.file("in.jsonl", lines)
        func run(parseAll: Bool) throws -> (Tool.Result, String, String) {
            let name = parseAll ? "parsed" : "read"
            let result = try Tool.run("lathe-format-sft", options + ["--on-error", "skip", "--quiet", "--rejects", scratch.path + "/\(name).rejects",
                                                                     "--stats", scratch.path + "/\(name).stats", input],
                                      environment: parseAll ? ["LATHE_FORMAT_SFT_PARSE_ALL": "1"] : [:])
            let stats = try JSONParser.parse(contents(scratch.path + "/\(name).stats"))
            return (result, contents(scratch.path + "/\(name).rejects"), "\(stats["records_out"] ?? .null) \(stats["dropped_by_reason"] ?? .null)")
        }
        let (read, readRejects, readCounts) = try run(parseAll: false)
        let (parsed, parsedRejects, parsedCounts) = try run(parseAll: true)
        #expect(read.status == 0 && parsed.status == 0, "\(read.stderr) \(parsed.stderr)")
        #expect(read.stdout == parsed.stdout && read.stdout.split(separator: "\n").count > 10)
        #expect(readRejects == parsedRejects && !readRejects.isEmpty)
        #expect(readCounts == parsedCounts, "\(readCounts) vs \(parsedCounts)")
    }
}

@Suite struct PairPrefsTests {
    @Test(arguments: ["best-vs-rest", "all-pairs"])
    func strategiesOnAThreadWithTiesAndEqualScores(_ strategy: String) throws {
        try expectGolden("lathe-pair-prefs", ["--style", "standard", "--strategy", strategy, fixture("pair-prefs/threads.jsonl")],
                         golden: "pair-prefs/threads.\(strategy).expected.jsonl", kind: "preference")
    }

    @Test func bestVsWorstConversationalWithDropReasons() throws {
        let scratch = Scratch()
        let rejects = scratch.path + "/rejects.jsonl"
        try expectGolden("lathe-pair-prefs", ["--rejects", rejects, fixture("pair-prefs/threads.jsonl")],
                         golden: "pair-prefs/threads.best-vs-worst.expected.jsonl", kind: "preference")
        #expect(try rejectReasons(rejects) == contents(fixture("pair-prefs/threads.rejects.expected.txt")))
    }

    @Test func maxPairsKeepsTheLargestMargins() throws {
        try expectGolden("lathe-pair-prefs", ["--style", "standard", "--strategy", "all-pairs", "--max-pairs-per-prompt", "3", fixture("pair-prefs/threads.jsonl")],
                         golden: "pair-prefs/threads.all-pairs.max3.expected.jsonl", kind: "preference")
    }

    @Test func marginLengthRatioAndRandomPair() throws {
        let threads = fixture("pair-prefs/threads.jsonl")
        let margin = try Tool.run("lathe-pair-prefs", ["--quiet", "--style", "standard", "--strategy", "all-pairs", "--min-margin", "3", threads])
        #expect(margin.stdout.split(separator: "\n").map { String(try! JSONParser.parse(String($0))["id"]!.string!) } == ["t1:1>3", "t1:1>4"])
        // "About half the cooking time, under foil." has 40 characters, "Five minutes." 13.
        let ratio = try Tool.run("lathe-pair-prefs", ["--quiet", "--style", "standard", "--strategy", "best-vs-rest", "--max-length-ratio", "3", threads])
        #expect(ratio.stdout.split(separator: "\n").map { String(try! JSONParser.parse(String($0))["id"]!.string!) } == ["t1:1>3", "t1:1>4"])
        var picks = Set<String>()
        for seed in 0..<12 {
            let random = try Tool.run("lathe-pair-prefs", ["--quiet", "--strategy", "random-pair", "--seed", String(seed), threads])
            let again = try Tool.run("lathe-pair-prefs", ["--quiet", "--strategy", "random-pair", "--seed", String(seed), threads])
            #expect(random.stdout == again.stdout)
            let ids = random.stdout.split(separator: "\n").map { try! JSONParser.parse(String($0))["id"]!.string! }
            #expect(ids.count == 1)
            picks.formUnion(ids)
        }
        #expect(picks.count > 1, "random-pair picked the same pair for every seed")
    }

    @Test func candidatesWithAveragedAspects() throws {
        let scratch = Scratch()
        let rejects = scratch.path + "/rejects.jsonl"
        try expectGolden("lathe-pair-prefs", ["--style", "standard", "--aspects", "ratings.helpfulness,ratings.honesty", "--rejects", rejects,
                                              fixture("pair-prefs/candidates.jsonl")],
                         golden: "pair-prefs/candidates.expected.jsonl", kind: "preference")
        #expect(try rejectReasons(rejects) == "c2:too_few_responses\n")
    }

    @Test func judgmentsByMajorityWithTiesAndContradictions() throws {
        let scratch = Scratch()
        let rejects = scratch.path + "/rejects.jsonl"
        try expectGolden("lathe-pair-prefs", ["--rejects", rejects, fixture("pair-prefs/judgments.jsonl")],
                         golden: "pair-prefs/judgments.expected.jsonl", kind: "preference")
        #expect(try rejectReasons(rejects) == contents(fixture("pair-prefs/judgments.rejects.expected.txt")))
    }

    @Test func bundledRecordsValidateInBothStyles() throws {
        for style in ["standard", "conversational"] {
            let result = try Tool.run("lathe-pair-prefs", ["--quiet", "--style", style, "--strategy", "all-pairs", fixture("records/thread.jsonl"),
                                                           fixture("records/candidates.jsonl"), fixture("records/judgment.jsonl")])
            #expect(result.status == 0)
            let validated = try Tool.run("lathe", ["validate", "--kind", "preference", "-"], stdin: Data(result.stdout.utf8))
            #expect(validated.status == 0, "\(style): \(validated.stderr)")
        }
    }

    @Test func badInputNamesFileAndLine() throws {
        let scratch = Scratch()
        let input = scratch.file("bad.jsonl", #"{"id":"x","prompt":"p","chosen":"a","rejected":"b"}"# + "\n")
        let failed = try Tool.run("lathe-pair-prefs", [input])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("bad.jsonl:1: expected a thread"), "\(failed.stderr)")
        let winner = scratch.file("winner.jsonl", #"{"id":"j","prompt":"p","response_a":"a","response_b":"b","winner":"A"}"# + "\n")
        let wrong = try Tool.run("lathe-pair-prefs", [winner])
        #expect(wrong.stderr.contains("winner.jsonl:1: expected \"a\", \"b\" or \"tie\" at 'winner'"), "\(wrong.stderr)")
        let skipped = try Tool.run("lathe-pair-prefs", ["--on-error", "skip", input, winner])
        #expect(skipped.status == 0 && skipped.stderr.contains("invalid_record 2"))
    }

    @Test func splitsByPromptLikeFormatSFT() throws {
        let scratch = Scratch()
        var lines = ""
        for i in 0..<200 {
            lines += #"{"id":"c\#(i)","prompt":"Prompt \#(i % 40)","responses":[{"content":"good \#(i)","score":2},{"content":"bad \#(i)","score":1}]}"# + "\n"
        }
        let input = scratch.file("in.jsonl", lines)
        let result = try Tool.run("lathe-pair-prefs", ["--quiet", "--style", "standard", "--split", "train=0.5,test=0.5", "--out-dir", scratch.path + "/out", "--gzip", input])
        #expect(result.status == 0, "\(result.stderr)")
        func prompts(_ name: String) throws -> Set<String> {
            let text = try Tool.shell("zcat '\(scratch.path)/out/\(name).jsonl.gz'").stdout
            return Set(try text.split(separator: "\n").map { try JSONParser.parse(String($0))["prompt"]!.string! })
        }
        let train = try prompts("train"), test = try prompts("test")
        #expect(train.isDisjoint(with: test) && train.count + test.count == 40)
    }
}
