import Foundation
import LatheIO
import Testing

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
private let cooking = repoRoot.appendingPathComponent("fixtures/stackexchange/cooking.stackexchange.com/Posts.xml").path

private func jsonLines(_ text: String) throws -> [JSONValue] {
    try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
}

/// `lathe-ingest` as a user runs it: StackExchange dumps, and the document filters end to end.
@Suite struct IngestCLITests {
    @Test func stackExchangeDumpBecomesThreads() throws {
        let scratch = Scratch()
        let result = try Tool.run("lathe-ingest", [cooking, "--stats", scratch.path + "/stats.json", "--rejects", scratch.path + "/rejects.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let threads = try jsonLines(result.stdout)
        // Question 7 has no answers and is dropped by default; ids and source from the directory name.
        #expect(threads.map { $0["id"] } == ["cooking.stackexchange.com/1", "cooking.stackexchange.com/2"])
        #expect(threads[0]["source"] == "stackexchange/cooking")
        #expect(threads[0].value(at: "question.title") == "Boiling eggs")
        #expect(threads[0]["answers"]?.array?.map { $0["accepted"] } == [false, true, false])
        #expect(threads[0].value(at: "answers.1.body") == "Nine minutes:\n\n```\nboil(egg, minutes: 9)\n```")
        #expect(threads[1].value(at: "question.tags") == ["seasoning", "salt"])
        let stats = try JSONParser.parse(scratch.read("stats.json"))
        #expect(stats["records_in"] == 10)
        #expect(stats["records_out"] == 2)
        #expect(stats["dropped_by_reason"] == ["other_post_type": 1, "orphan_answer": 1, "duplicate_post": 1, "unanswered": 1])
        let rejects = try jsonLines(scratch.read("rejects.jsonl"))
        #expect(Set(rejects.compactMap { $0["reason"]?.string }) == ["other_post_type", "orphan_answer", "duplicate_post", "unanswered"])
        #expect(result.stderr.contains("held in memory"))
        // The threads are valid thread records.
        let check = try Tool.run("lathe", ["validate", "--kind", "thread", "-"], stdin: Data(result.stdout.utf8))
        #expect(check.status == 0, "\(check.stdout)")
    }

    @Test func tinyMemoryBudgetSpillsAndGivesTheSameBytes() throws {
        let scratch = Scratch()
        let inMemory = try Tool.run("lathe-ingest", [cooking, "--keep-unanswered", "--jobs", "1"])
        let spilled = try Tool.run("lathe-ingest", [cooking, "--keep-unanswered", "--memory", "1", "--temp-dir", scratch.path])
        #expect(inMemory.status == 0 && spilled.status == 0, "\(spilled.stderr)")
        #expect(spilled.stderr.contains("spilled"), "\(spilled.stderr)")
        #expect(spilled.stdout == inMemory.stdout)
        #expect(try jsonLines(spilled.stdout).map { $0["id"] } == ["cooking.stackexchange.com/1", "cooking.stackexchange.com/2", "cooking.stackexchange.com/7"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "spill runs are removed")
    }

    @Test func siteFormatAndStdin() throws {
        let xml = try Data(contentsOf: URL(fileURLWithPath: cooking))
        // stdin is not sniffed for dumps: it needs --format, and says so without it.
        let refused = try Tool.run("lathe-ingest", ["-"], stdin: xml)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--format stackexchange"), "\(refused.stderr)")
        let result = try Tool.run("lathe-ingest", ["--format", "stackexchange", "--site", "cooking.example.org", "--quiet"], stdin: xml)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let threads = try jsonLines(result.stdout)
        #expect(threads.map { $0["id"] } == ["cooking.example.org/1", "cooking.example.org/2"])
        #expect(threads[0]["source"] == "stackexchange/cooking.example.org")
    }

    @Test func malformedRowStopsOrIsSkipped() throws {
        let scratch = Scratch()
        let dump = scratch.file("Posts.xml", """
            <?xml version="1.0" encoding="utf-8"?>
            <posts>
              <row Id="1" PostTypeId="1" Score="1" Title="Q" Body="&lt;p&gt;fine&lt;/p&gt;" />
              <row Id="x" PostTypeId="2" ParentId="1" Score="1" Body="bad id" />
              <row Id="2" PostTypeId="2" ParentId="1" Score="3" Body="&lt;p&gt;an answer&lt;/p&gt;" />
            </posts>

            """)
        let failed = try Tool.run("lathe-ingest", [dump])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("\(dump):4:"), "\(failed.stderr)")
        let skipped = try Tool.run("lathe-ingest", [dump, "--on-error", "skip", "--stats", scratch.path + "/stats.json"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(try jsonLines(skipped.stdout).first?["answers"]?.array?.count == 1)
        #expect(try JSONParser.parse(scratch.read("stats.json"))["dropped_by_reason"] == ["malformed_post": 1])
    }

    // MARK: Thread records through --lang, --filters and --redact

    /// A dump of three threads: a long English question with PII and a short answer, a
    /// short English question with an email in its title, and a German question.
    private func threadDump(_ scratch: Scratch) -> String {
        func row(_ attributes: [(String, String)]) -> String {
            func escaped(_ s: String) -> String {
                s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            }
            return "  <row " + attributes.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: " ") + " />\n"
        }
        let bread = "I bake a loaf of sourdough every weekend, and by Tuesday the crumb is already dry and hard even though "
            + "I keep it in a paper bag on the counter. A friend told me that the fridge makes it worse, which surprised me, "
            + "because cold usually keeps food fresh for longer. What actually happens to the starch as bread goes stale, and "
            + "is there a way to slow it down? You can write to baker@bakery.org or reach my server at 8.8.8.8 for photos."
        let brot = "Ich backe jedes Wochenende ein Brot, aber nach zwei Tagen ist es schon trocken und hart. Meine Nachbarin "
            + "sagt, dass man es im Kühlschrank aufbewahren soll, aber das scheint mir falsch zu sein. Was passiert eigentlich "
            + "mit der Stärke, wenn Brot altbacken wird?"
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<posts>\n"
        xml += row([("Id", "1"), ("PostTypeId", "1"), ("AcceptedAnswerId", "2"), ("Score", "7"), ("Title", "Why does bread go stale so fast?"),
                    ("Body", "<p>\(bread)</p>"), ("Tags", "<bread>")])
        xml += row([("Id", "2"), ("PostTypeId", "2"), ("ParentId", "1"), ("Score", "4"),
                    ("Body", "<p>Call me at 415-555-0134 or mail jane@kitchen.net.</p>")])
        xml += row([("Id", "3"), ("PostTypeId", "1"), ("Score", "1"), ("Title", "Salt question from cook@example.net"),
                    ("Body", "<p>How much salt should I add to pasta water? I have heard many different answers.</p>"), ("Tags", "<salt>")])
        xml += row([("Id", "4"), ("PostTypeId", "2"), ("ParentId", "3"), ("Score", "2"),
                    ("Body", "<p>About one tablespoon for every four litres of water.</p>")])
        xml += row([("Id", "5"), ("PostTypeId", "1"), ("Score", "3"), ("Title", "Warum wird Brot so schnell alt?"),
                    ("Body", "<p>\(brot)</p>"), ("Tags", "<brot>")])
        xml += row([("Id", "6"), ("PostTypeId", "2"), ("ParentId", "5"), ("Score", "5"),
                    ("Body", "<p>Die Stärke kristallisiert wieder aus; im Gefrierschrank geht das viel langsamer als im Kühlschrank.</p>")])
        xml += "</posts>\n"
        try! FileManager.default.createDirectory(atPath: scratch.path + "/forum.example.org", withIntermediateDirectories: true)
        return scratch.file("forum.example.org/Posts.xml", xml)
    }

    @Test func threadsGetTheirLanguageAndLangDropsThem() throws {
        let scratch = Scratch()
        let dump = threadDump(scratch)
        let all = try Tool.run("lathe-ingest", [dump, "--quiet"])
        #expect(all.status == 0, "\(all.stderr)")
        let threads = try jsonLines(all.stdout)
        #expect(threads.map { $0["lang"] } == ["en", "en", "de"])
        #expect(threads.allSatisfy { ($0.value(at: "meta.lang_score")?.double ?? 0) > 0.65 }, "\(threads)")
        let english = try Tool.run("lathe-ingest", [dump, "--lang", "en", "--rejects", scratch.path + "/rejects.jsonl",
                                                    "--stats", scratch.path + "/stats.json"])
        #expect(english.status == 0, "\(english.stderr)")
        #expect(try jsonLines(english.stdout).map { $0["id"] } == ["forum.example.org/1", "forum.example.org/3"])
        #expect(try JSONParser.parse(scratch.read("stats.json"))["dropped_by_reason"] == ["language": 1])
        // The rejected thread is there whole, with its language.
        let rejected = try jsonLines(scratch.read("rejects.jsonl"))
        #expect(rejected.count == 1)
        #expect(rejected.first?["reason"] == "language")
        #expect(rejected.first?["id"] == "forum.example.org/5")
        #expect(rejected.first?["lang"] == "de")
        #expect(rejected.first?["answers"]?.array?.count == 1)
    }

    @Test func qualityFiltersJudgeTheQuestionAndKeepShortAnswers() throws {
        let scratch = Scratch()
        let dump = threadDump(scratch)
        let result = try Tool.run("lathe-ingest", [dump, "--lang", "en", "--filters", "gopher", "--rejects", scratch.path + "/rejects.jsonl",
                                                   "--stats", scratch.path + "/stats.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let kept = try jsonLines(result.stdout)
        // Thread 1's question passes; its answer is eight words, far under Gopher's 50, and stays.
        #expect(kept.map { $0["id"] } == ["forum.example.org/1"])
        #expect(kept.first.flatMap { $0.value(at: "answers.0.body") } == "Call me at 415-555-0134 or mail jane@kitchen.net.")
        // Language first, then quality: the German thread counts as a language drop only. Thread
        // 3's 15-word question fails Gopher's repetition rules first, as in datatrove: its top
        // 4-gram, seen once, is over 18% of its characters.
        #expect(try JSONParser.parse(scratch.read("stats.json"))["dropped_by_reason"] == ["language": 1, "top_4_gram": 1])
        let short = try jsonLines(scratch.read("rejects.jsonl")).first { $0["reason"] == "top_4_gram" }
        #expect(short?["id"] == "forum.example.org/3")
        #expect(short?["reason_detail"] == "thread 3: gopher_repetition (question)")
    }

    @Test func redactReachesTitlesQuestionsAndAnswers() throws {
        let scratch = Scratch()
        let dump = threadDump(scratch)
        let result = try Tool.run("lathe-ingest", [dump, "--redact", "email,ip,phone", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let threads = try jsonLines(result.stdout)
        let bread = try #require(threads.first { $0["id"] == "forum.example.org/1" })
        let body = bread.value(at: "question.body")?.string ?? ""
        #expect(body.hasSuffix("You can write to email@example.com or reach my server at 192.0.2.1 for photos."), "\(body)")
        #expect(bread.value(at: "answers.0.body") == "Call me at +1-555-0100 or mail email@example.com.")
        #expect(bread.value(at: "meta.redacted") == ["email": 2, "ip": 1, "phone": 1])
        let salt = try #require(threads.first { $0["id"] == "forum.example.org/3" })
        #expect(salt.value(at: "question.title") == "Salt question from email@example.com")
        #expect(salt.value(at: "meta.redacted") == ["email": 1])
        let brot = try #require(threads.first { $0["id"] == "forum.example.org/5" })
        #expect(brot.value(at: "meta.redacted") == nil)
    }

    // MARK: Document filters

    private func documentsInput(_ scratch: Scratch) -> String {
        let english = "The committee met on Tuesday to discuss the new library, and most of the members agreed that "
            + "the building should open in the spring, when the weather is better for the visitors who come from far away."
        let german = "Der Ausschuss traf sich am Dienstag, um über die neue Bibliothek zu sprechen, und die meisten "
            + "Mitglieder waren sich einig, dass das Gebäude im Frühling eröffnet werden sollte, wenn das Wetter besser ist."
        let pii = "Write to jane.doe@example.org or call 415-555-0134; the server at 8.8.8.8 answers, version 1.2.3.4.5 does not, "
            + "and neither does the address name@localhost."
        let rows: [JSONValue] = [
            ["id": "en", "text": .string(english), "url": "https://news.example.com/a"],
            ["id": "de", "text": .string(german), "url": "https://zeitung.example.de/b"],
            ["id": "pii", "text": .string(pii), "url": "https://example.net/c"],
            ["id": "sub", "text": .string(english), "url": "https://www.blocked.example/d"],
            ["id": "apex", "text": .string(english), "url": "http://blocked.example/e"],
            ["id": "near", "text": .string(english), "url": "https://notblocked.example/f"],
        ]
        return scratch.file("docs.jsonl", rows.map { JSONWriter.string($0) + "\n" }.joined())
    }

    @Test func blockDomainsDropsDomainsAndSubdomains() throws {
        let scratch = Scratch()
        let input = documentsInput(scratch)
        let list = scratch.file("blocked.txt", "# one domain a line\nblocked.example\n")
        let result = try Tool.run("lathe-ingest", [input, "--block-domains", list, "--stats", scratch.path + "/stats.json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try jsonLines(result.stdout).map { $0["id"] } == ["en", "de", "pii", "near"])
        #expect(try JSONParser.parse(scratch.read("stats.json"))["dropped_by_reason"] == ["blocked_domain": 2])
    }

    @Test func langKeepsOnlyTheListedLanguages() throws {
        let scratch = Scratch()
        let input = documentsInput(scratch)
        let result = try Tool.run("lathe-ingest", [input, "--lang", "de", "--rejects", scratch.path + "/rejects.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let kept = try jsonLines(result.stdout)
        #expect(kept.map { $0["id"] } == ["de"])
        #expect(kept[0]["lang"] == "de")
        #expect((kept[0].value(at: "meta.lang_score")?.double ?? 0) >= 0.65)
        let rejects = try jsonLines(scratch.read("rejects.jsonl"))
        #expect(rejects.count == 5)
        #expect(rejects.allSatisfy { $0["reason"] == "language" })
        #expect(rejects.first { $0["id"] == "en" }?["lang"] == "en")
    }

    @Test func redactReplacesOnlyTheAskedKinds() throws {
        let scratch = Scratch()
        let input = documentsInput(scratch)
        let result = try Tool.run("lathe-ingest", [input, "--redact", "email,ip"])
        #expect(result.status == 0, "\(result.stderr)")
        let pii = try #require(try jsonLines(result.stdout).first { $0["id"] == "pii" })
        #expect(pii["text"] == .string("Write to email@example.com or call 415-555-0134; the server at 192.0.2.1 answers, version 1.2.3.4.5 does not, "
            + "and neither does the address name@localhost."))
        #expect(pii.value(at: "meta.redacted") == ["email": 1, "ip": 1])
        let all = try Tool.run("lathe-ingest", [input, "--redact", "email,ip,phone"])
        let phone = try #require(try jsonLines(all.stdout).first { $0["id"] == "pii" })
        #expect(phone["text"]?.string?.contains("call +1-555-0100;") == true, "\(phone)")
        let bad = try Tool.run("lathe-ingest", [input, "--redact", "email,ssn"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("ssn"))
    }
}
