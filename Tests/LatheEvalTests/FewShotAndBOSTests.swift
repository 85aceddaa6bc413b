import Foundation
import LatheData
import LatheEval
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain
import Testing

@Suite("LatheEval few-shot examples from a file of their own")
struct EvalFewShotFromTests {
    let dir = temporaryDirectory()

    func pool(seed: UInt64) throws -> FewShotPool {
        let path = writeLines([
            #"{"id":"d1","question":"is the cat on the mat?","choices":["yes","no"],"answer":0}"#,
            #"{"id":"d2","question":"where sat the cat?","choices":["on the dog","on the mat"],"answer":1}"#,
            #"{"id":"d3","question":"what ate the dog?","choices":["the bone","the cat"],"answer":0}"#,
        ], "dev.jsonl", in: dir)
        return FewShotPool(path: path, items: try EvalSet.load(path: path, kind: .choice).items, seed: seed)
    }

    func questions() throws -> EvalSet {
        try EvalSet.load(path: writeLines([
            #"{"id":"q1","question":"where sat the cat?","choices":["on the mat","on the bone"],"answer":0}"#,
            #"{"id":"q2","question":"are answers short?","choices":["yes","no"],"answer":0}"#,
        ], "test.jsonl", in: dir))
    }

    @Test func examplesAreSeededDrawsThatNeverRepeatTheQuestion() throws {
        let tokenizer = try tinyTokenizer()
        let set = try questions()
        let solved = ["is the cat on the mat?": "yes", "where sat the cat?": "on the mat", "what ate the dog?": "the bone"]
        var orders = Set<[String]>()
        for seed: UInt64 in 0..<8 {
            let settings = EvalSettings(template: nil, fewShot: 2, fewShotFrom: try pool(seed: seed))
            let encoded = try EncodedSet(set, tokenizer: tokenizer, settings: settings)
            // q1's own question is in dev.jsonl (as d2): its two examples are always d1 and d3.
            let context = tokenizer.decode(encoded.choices[0].context)
            let shots = context.components(separatedBy: "\n\n").dropLast().map { block -> String in
                let lines = block.split(separator: "\n").map(String.init)
                let question = String(lines[0].dropFirst("Question: ".count))
                #expect(lines[1] == "Answer: " + solved[question]!)
                return question
            }
            #expect(Set(shots) == ["is the cat on the mat?", "what ate the dog?"])
            #expect(context.hasSuffix("\n\nQuestion: where sat the cat?\nAnswer:"))
            orders.insert(shots)
            // The same seed draws the same examples.
            let again = try EncodedSet(set, tokenizer: tokenizer, settings: settings)
            #expect(again.choices.map(\.context) == encoded.choices.map(\.context))
            // q2's question is not in the pool: its two come from all three.
            let other = tokenizer.decode(encoded.choices[1].context)
            #expect(other.components(separatedBy: "Question: ").count - 1 == 3)
        }
        #expect(orders.count == 2, "eight seeds should draw both orders of d1 and d3")
    }

    @Test func tooFewExamplesBesideTheQuestionIsAnErrorNamingTheFile() throws {
        let tokenizer = try tinyTokenizer()
        let pool = try pool(seed: 0)
        #expect {
            try EncodedSet(try questions(), tokenizer: tokenizer, settings: EvalSettings(template: nil, fewShot: 3, fewShotFrom: pool))
        } throws: { error in
            "\(error)".contains(pool.path + ": 2 few-shot items differ from question q1, but --num-fewshot asks for 3")
        }
    }

    @Test func scoresMatchThePlainPathAndTheSettingsSayWhereTheExamplesCameFrom() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 9)
        let settings = EvalSettings(template: .chatml, fewShot: 2, fewShotFrom: try pool(seed: 7))
        let results = try Evaluator(sets: [try questions()], settings: settings).evaluate(loaded(params, tokenizer)).results
        let encoded = try EncodedSet(try questions(), tokenizer: tokenizer, settings: settings)
        var acc = 0
        for item in encoded.choices {
            let ll = item.continuations.map { c in referenceLogProbs(params, item.context + c)[(item.context.count - 1)...].reduce(0, +) }
            if ll.firstIndex(of: ll.max()!) == item.answer { acc += 1 }
        }
        let result = results.first { $0.metric == "acc" }!
        #expect(result.value == Double(acc) / 2)
        #expect(result.settings == "chat_template=chatml few_shot=2 fewshot_from=dev fewshot_seed=7 dtype=fp32")
    }

    @Test func aFewShotFileOfAnotherKindIsAnErrorWithFileAndLine() throws {
        let path = writeLines([#"{"id":"d1","text":"a document"}"#], "notmc.jsonl", in: dir)
        #expect {
            try EvalSet.load(path: path, kind: .choice)
        } throws: { error in
            "\(error)".contains(path + ":1:") && "\(error)".contains("expected a choice record")
                && "\(error)".contains("found a document record")
        }
    }
}

@Suite("LatheEval BOS from GGUF metadata")
struct EvalGGUFBOSTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/gguf/tiny-llama.gguf").path

    /// The fixture with tokenizer.ggml.add_bos_token (a GGUF bool, type 7) switched on.
    static func withAddBOS() throws -> String {
        var bytes = Array(FileManager.default.contents(atPath: fixture)!)
        let key = Array("tokenizer.ggml.add_bos_token".utf8) + [7, 0, 0, 0]
        let at = (0...(bytes.count - key.count - 1)).first { Array(bytes[$0..<($0 + key.count)]) == key }!
        #expect(bytes[at + key.count] == 0)
        bytes[at + key.count] = 1
        let path = temporaryDirectory() + "/with-bos.gguf"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func everySequenceStartsWithBOSWhenTheFileAsksForIt() throws {
        let plain = try Checkpoints.load(CheckpointRef(path: Self.fixture))
        let bos = try Checkpoints.load(CheckpointRef(path: try Self.withAddBOS()))
        #expect(plain.bos == nil)
        #expect(bos.bos == 266)   // tokenizer.ggml.bos_token_id of the fixture

        let dir = temporaryDirectory()
        let sets = try [
            writeLines([#"{"question":"hello?","choices":["world","123"],"answer":0}"#], "mc.jsonl", in: dir),
            writeLines([#"{"prompt":"hello","completion":"world"}"#], "chats.jsonl", in: dir),
            writeLines([#"{"prompt":"hello"}"#], "prompts.jsonl", in: dir),
        ].map { try EvalSet.load(path: $0) }
        let settings = EvalSettings(template: nil)
        for set in sets {
            let without = try EncodedSet(set, tokenizer: plain.tokenizer, settings: settings, bos: plain.bos)
            let with = try EncodedSet(set, tokenizer: bos.tokenizer, settings: settings, bos: bos.bos)
            switch set.kind {
            case .choice:
                #expect(with.choices[0].context == [266] + without.choices[0].context)
                #expect(with.choices[0].continuations == without.choices[0].continuations)
            case .conversation:
                #expect(with.sequences[0].inputs == [266] + without.sequences[0].inputs)
                #expect(with.sequences[0].targets == [-1] + without.sequences[0].targets)
            default:
                #expect(with.prompts[0] == [266] + without.prompts[0])
                #expect(without.prompts[0].first != 266)
            }
        }

        // The scores are the plain path's over the BOS-led tokens, and the results say so.
        let evaluator = Evaluator(sets: [sets[1]], settings: settings)
        let result = try evaluator.evaluate(bos).results.first { $0.metric == "loss" }!
        let c = ConversationTokens.encode([ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "world")],
                                          template: .plain, tokenizer: bos.tokenizer)
        let x = [266] + c.tokens, labelled = [false] + c.labelled
        let lp = referenceLogProbs(bos.params, x)
        let counted = (0..<lp.count).filter { labelled[$0 + 1] }
        let expected = -counted.map { lp[$0] }.reduce(0, +) / Double(counted.count)
        #expect(abs(result.value - expected) < 1e-4)
        #expect(result.settings == "chat_template=off add_bos=true seq_len=256 dtype=fp32")
    }
}
