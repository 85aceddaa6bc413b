import LatheData
import LatheIO
import Testing

private let here = SourceLocation(file: "test.jsonl", line: 1)

@Suite struct HTMLRemnantsTests {
    @Test func entitiesAndTagsBecomeTextAndMarkdown() {
        #expect(HTMLRemnants.clean("Fish &amp; chips &#8212; &#x41;&lt;3") == "Fish & chips \u{2014} A<3")
        #expect(HTMLRemnants.clean("<p>One</p><p>Two<br>three</p>") == "One\n\nTwo\nthree")
        #expect(HTMLRemnants.clean("Run <code>make</code> first.") == "Run `make` first.")
        #expect(HTMLRemnants.clean("<ul><li>a</li><li>b</li></ul>") == "- a\n- b")
        #expect(HTMLRemnants.clean("See <a href=\"https://x.org\">the docs</a>.<!-- hidden -->") == "See the docs.")
        #expect(HTMLRemnants.clean("<pre><code>if (a &lt; b) {\n    return;\n}\n</code></pre>") == "```\nif (a < b) {\n    return;\n}\n```")
    }

    @Test func textThatIsNotHTMLIsLeftAlone() {
        for text in ["a < b and c > d", "Vec<String>", "#include <stdio.h>", "AT&T; R&D", "x &unknown; y", "```\n<p>raw</p> &amp;\n```"] {
            #expect(HTMLRemnants.clean(text) == text, "\(text)")
        }
        // Indentation of code in a fenced block survives a cleaned paragraph around it.
        #expect(HTMLRemnants.clean("<b>Try</b>:\n```\n  indented &amp;\n```") == "Try:\n```\n  indented &amp;\n```")
    }
}

@Suite struct SFTFormatterTests {
    func format(_ record: JSONValue, _ configure: (inout SFTSettings) -> Void = { _ in }, tokens: (@Sendable (String) -> Int)? = nil) throws -> FormattedExample {
        var settings = SFTSettings()
        configure(&settings)
        return try SFTFormatter(settings: settings, countTokens: tokens).format(record, at: here)
    }

    func reason(_ record: JSONValue, _ configure: (inout SFTSettings) -> Void = { _ in }, tokens: (@Sendable (String) -> Int)? = nil) -> String? {
        do {
            _ = try format(record, configure, tokens: tokens)
            return nil
        } catch let dropped as Dropped {
            return dropped.reason
        } catch {
            return "error: \(error)"
        }
    }

    func chat(_ turns: [(String, String)]) -> JSONValue {
        ["id": "x", "messages": .array(turns.map { ["role": .string($0.0), "content": .string($0.1)] })]
    }

    @Test func systemOptionAddsATurnOnlyWhenMissing() throws {
        let added = try format(chat([("user", "Hi"), ("assistant", "Hello")])) { $0.system = "Be kind." }
        #expect(added.record["messages"]?.array?.first?["content"] == "Be kind.")
        let kept = try format(chat([("system", "Own."), ("user", "Hi"), ("assistant", "Hello")])) { $0.system = "Be kind." }
        #expect(kept.record["messages"]?.array?.count == 3)
        #expect(kept.record["messages"]?.array?.first?["content"] == "Own.")
    }

    @Test func roleRules() {
        #expect(reason(chat([("user", "a"), ("assistant", "b"), ("assistant", "c")])) == "roles_out_of_order")
        #expect(reason(chat([("user", "a"), ("system", "s"), ("assistant", "c")])) == "roles_out_of_order")
        #expect(reason(chat([("user", "a"), ("assistant", "b"), ("user", "c")])) == "no_final_assistant")
        #expect(reason(chat([("user", "a"), ("assistant", "\n\t ")])) == "empty_turn")
        #expect(reason(["id": "x", "messages": [["role": "tool", "content": "{}"]]]) == "unsupported_role")
    }

    /// A stand-in tokenizer: one token per byte, so limits are easy to reason about.
    @Test func truncationRemovesWholeEarlierExchanges() throws {
        let turns = [("system", "S"), ("user", "first question"), ("assistant", "first answer"),
                     ("user", "second question"), ("assistant", "second answer")]
        let bytes: @Sendable (String) -> Int = { $0.utf8.count }
        let full = ChatTemplate.plain.render(turns.map { ChatMessage(role: $0.0, content: $0.1) }).text.utf8.count
        let last = ChatTemplate.plain.render([turns[0], turns[3], turns[4]].map { ChatMessage(role: $0.0, content: $0.1) }).text.utf8.count
        func limited(_ limit: Int, truncate: Bool) -> (inout SFTSettings) -> Void {
            { $0.template = .plain; $0.maxTokens = limit; $0.truncate = truncate }
        }
        #expect(try format(chat(turns), limited(full, truncate: false), tokens: bytes).record["num_tokens"]?.int == full)
        #expect(reason(chat(turns), limited(full - 1, truncate: false), tokens: bytes) == "too_many_tokens")
        let cut = try format(chat(turns), limited(full - 1, truncate: true), tokens: bytes)
        #expect(cut.record["messages"]?.array?.map { $0["content"]!.string! } == ["S", "second question", "second answer"])
        #expect(cut.record["num_tokens"]?.int == last)
        #expect(reason(chat(turns), limited(last - 1, truncate: true), tokens: bytes) == "too_many_tokens")
    }

    @Test func aThreadsQuestionFieldsAreNamedByTheirPath() {
        func message(_ record: JSONValue) -> String? {
            do { _ = try QAThread(record, at: here) } catch { return String(describing: error) }
            return nil
        }
        #expect(message(["id": "t", "question": ["title": 3, "body": "B"], "answers": []])
                == "test.jsonl:1: expected a string at 'question.title' in this thread record, found integer 3")
        #expect(message(["id": "t", "question": ["title": "T"], "answers": []])
                == "test.jsonl:1: expected a string at 'question.body' in this thread record, found no such field")
        #expect(message(["id": "t", "question": "T", "answers": []])
                == "test.jsonl:1: expected a string at 'question.title' in this thread record, found no such field")
        #expect(message(["id": "t", "question": ["title": "T", "body": "B"], "answers": []]) == nil)
    }

    @Test func recordsWithoutIdsGetStableOnes() throws {
        let record: JSONValue = ["instruction": "Hi", "output": "Hello"]
        let a = try format(record).record["id"]?.string
        let b = try format(record).record["id"]?.string
        #expect(a != nil && a == b && a!.hasPrefix("alpaca-"))
        // The id is Hash128 of the turns' roles and contents, each ended by 0xFF, the same
        // whichever path writes it.
        let parts: [UInt8] = ["user", "Hi", "assistant", "Hello"].flatMap { Array($0.utf8) + [UInt8(0xFF)] }
        #expect(a == "alpaca-" + Hash128(parts).hex)
        let other = try format(["instruction": "Hi", "output": "Hey"]).record["id"]?.string
        #expect(other != a)
    }
}

@Suite struct SplitSpecTests {
    @Test func parsesAndRejects() throws {
        let spec = try SplitSpec(parsing: "train=0.9,valid=0.05,test=0.05")
        #expect(spec.names == ["train", "valid", "test"])
        for bad in ["train=0.9", "train=0.5,train=0.5", "train", "a=0.5,b=x", "=1", "a/b=1"] {
            #expect(throws: SplitSpec.ParseError.self, "\(bad)") { try SplitSpec(parsing: bad) }
        }
    }

    @Test func assignmentFollowsTheFractionsAndTheSeed() throws {
        let spec = try SplitSpec(parsing: "train=0.75,test=0.25")
        let keys = (0..<4000).map { "prompt \($0)" }
        let test = keys.filter { spec.assign($0, seed: 0) == 1 }.count
        #expect((800...1200).contains(test), "\(test) of 4000 in a 0.25 split")
        #expect(keys.map { spec.assign($0, seed: 0) } == keys.map { spec.assign($0, seed: 0) })
        #expect(keys.map { spec.assign($0, seed: 0) } != keys.map { spec.assign($0, seed: 1) })
    }
}

@Suite struct PairingTests {
    func responses(_ scores: [Double]) -> [ScoredResponse] {
        scores.enumerated().map { ScoredResponse(index: $0.offset, content: "response \($0.offset)", score: $0.element) }
    }

    func ids(_ pairs: [ResponsePair]) -> [String] { pairs.map { "\($0.chosen.index)>\($0.rejected.index)" } }

    @Test func strategiesBreakTiesByPosition() throws {
        var settings = PairingSettings()
        let scores = responses([2, 4, 4, 0, 0])
        #expect(ids(try settings.pairs(scores, key: "k")) == ["1>4"])
        settings.strategy = .bestVsRest
        #expect(ids(try settings.pairs(scores, key: "k")) == ["1>0", "1>3", "1>4"])
        settings.strategy = .allPairs
        #expect(ids(try settings.pairs(scores, key: "k")) == ["0>3", "0>4", "1>0", "1>3", "1>4", "2>0", "2>3", "2>4"])
        settings.minMargin = 3
        #expect(ids(try settings.pairs(scores, key: "k")) == ["1>3", "1>4", "2>3", "2>4"])
        settings.minMargin = 5
        #expect(throws: Dropped("below_min_margin")) { try settings.pairs(scores, key: "k") }
    }

    @Test func identicalAndEqualNeverPair() throws {
        let settings = PairingSettings()
        #expect(throws: Dropped("equal_scores")) { try settings.pairs(self.responses([1, 1, 1]), key: "k") }
        let same = [ScoredResponse(index: 0, content: "same", score: 3), ScoredResponse(index: 1, content: "same", score: 1)]
        #expect(throws: Dropped("identical_responses")) { try settings.pairs(same, key: "k") }
        // Texts are the same when their scalars are, as JSON compares strings: "é" written as
        // one scalar and as e + U+0301 are two responses.
        let composed = [ScoredResponse(index: 0, content: "caf\u{E9}", score: 2), ScoredResponse(index: 1, content: "cafe\u{301}", score: 1)]
        #expect(try settings.pairs(composed, key: "k").count == 1)
        #expect(throws: Dropped("too_few_responses")) { try settings.pairs(self.responses([1]), key: "k") }
    }

    /// --max-length-ratio counts scalars in the written form of a text, escapes as one each.
    @Test func responseTextCountsScalarsThroughEscapes() {
        let counts: [(String, Int)] = [("", 0), ("plain", 5), ("caf\u{E9} 東京 😀", 9), ("e\u{301}", 2),
                                       ("a\"b\\c\n\t\r\u{8}\u{C}\u{1}\u{1F}", 12)]
        for (text, count) in counts {
            #expect(ResponseText(text).scalarCount == count, "\(text)")
            #expect(text.unicodeScalars.count == count)
        }
    }

    @Test func threadScoresFollowTheStackExchangeRecipe() {
        let builder = PreferenceBuilder()
        #expect(builder.threadScore(.init(body: "", score: 7, accepted: false)) == 3)
        #expect(builder.threadScore(.init(body: "", score: 7, accepted: true)) == 4)
        #expect(builder.threadScore(.init(body: "", score: -5, accepted: false)) == 0)
        #expect(builder.threadScore(.init(body: "", score: 0, accepted: true)) == 1)
    }
}
