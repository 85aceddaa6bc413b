import Foundation
import LatheEval
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain
import Testing

@Suite("LatheEval inputs, bad input, statistics and report")
struct EvalInputTests {
    @Test func runDirectoriesListsAndGlobsResolveInStepOrder() throws {
        let tokenizer = try tinyTokenizer()
        let params = tinyParams(tokenizer, seed: 1)
        let run = temporaryDirectory()
        for step in [10, 2, 30] { try writeCheckpoint(params, tokenizer, to: run + "/checkpoint-\(step)") }
        #expect(Checkpoints.resolve([run]).map(\.step) == [2, 10, 30])
        #expect(Checkpoints.resolve([run]).map(\.path) == [2, 10, 30].map { run + "/checkpoint-\($0)" })
        #expect(Checkpoints.resolve([run + "/checkpoint-*"]).map(\.step) == [2, 10, 30])
        let list = writeLines(["# best two", "checkpoint-30", "", run + "/checkpoint-2"], "list.txt", in: run)
        #expect(Checkpoints.resolve([list]).map(\.step) == [30, 2])
        // A run whose checkpoints are named step-N (the issue's layout) resolves the same way.
        let stepRun = temporaryDirectory()
        for step in [100, 20] { try writeCheckpoint(params, tokenizer, to: stepRun + "/step-\(step)") }
        try FileManager.default.createDirectory(atPath: stepRun + "/logs", withIntermediateDirectories: true)
        #expect(Checkpoints.resolve([stepRun]).map(\.path) == [stepRun + "/step-20", stepRun + "/step-100"])
        #expect(Checkpoints.resolve([stepRun]).map(\.step) == [20, 100])
        let missing = Checkpoints.resolve([run + "/nope"])
        #expect(missing.count == 1 && missing[0].problem != nil)
        let loaded = try Checkpoints.load(Checkpoints.resolve([run])[0])
        #expect(loaded.params.config == params.config)
        #expect(loaded.tokenizer.vocabSize == tokenizer.vocabSize)
    }

    @Test func aCheckpointMissingAFileIsNamed() throws {
        let tokenizer = try tinyTokenizer()
        let dir = try writeCheckpoint(tinyParams(tokenizer, seed: 1), tokenizer, to: temporaryDirectory() + "/checkpoint-5")
        try FileManager.default.removeItem(atPath: dir + "/tokenizer.json")
        #expect {
            try Checkpoints.load(CheckpointRef(path: dir, step: 5))
        } throws: { error in
            "\(error)".contains(dir + ": tokenizer.json is missing")
        }
    }

    @Test func aRecordOfTheWrongKindIsAnErrorWithFileAndLine() throws {
        let dir = temporaryDirectory()
        let path = writeLines([
            #"{"id":"q1","question":"a?","choices":["x","y"],"answer":0}"#,
            #"{"id":"d1","text":"a document"}"#,
        ], "mixed.jsonl", in: dir)
        #expect {
            try EvalSet.load(path: path)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path + ":2:") && text.contains("expected a choice record") && text.contains("found a document record")
        }
        // with --on-error skip the record is counted and the rest kept
        let set = try EvalSet.load(path: path, onError: .skip)
        #expect(set.items.count == 1)
        #expect(set.stats.dropped == ["wrong_kind": 1])
    }

    @Test func aChoiceAnswerOutOfRangeIsAnError() throws {
        let dir = temporaryDirectory()
        let path = writeLines([#"{"id":"q1","question":"a?","choices":["x","y","z"],"answer":3}"#], "mc.jsonl", in: dir)
        #expect {
            try EvalSet.load(path: path)
        } throws: { error in
            "\(error)".contains(path + ":1:") && "\(error)".contains("\"answer\" is 3, out of range for 3 choices (0 to 2)")
        }
    }

    @Test func binomialAndBootstrapErrors() {
        #expect(Statistics.binomialStderr(0.5, n: 5) == 0.25)
        #expect(Statistics.binomialStderr(1, n: 1) == nil)
        let (m, se) = Statistics.mean([1, 2, 3, 4])
        #expect(m == 2.5)
        #expect(abs(se! - (5.0 / 3 / 4).squareRoot()) < 1e-12)
        let num = [1.0, 4, 2, 8, 5], den = [1.0, 2, 1, 3, 2]
        let a = Statistics.bootstrapRatioStderr(num, den, seed: 7)!, b = Statistics.bootstrapRatioStderr(num, den, seed: 7)!
        #expect(a == b && a > 0 && a < 1)
        // equal ratios everywhere: no spread
        #expect(Statistics.bootstrapRatioStderr([2, 4, 6], [1, 2, 3], seed: 1)! < 1e-12)
    }

    @Test func reportHasOnePlotPerMetricAndMarksTheBest() {
        var results: [EvalResult] = []
        for (step, loss, acc) in [(100, 2.5, 0.40), (200, 2.1, 0.55), (300, 2.3, 0.50)] {
            results.append(EvalResult(checkpoint: "run/checkpoint-\(step)", step: step, task: "loss:chats", metric: "loss",
                                      value: loss, stderr: 0.05, n: 10))
            results.append(EvalResult(checkpoint: "run/checkpoint-\(step)", step: step, task: "choice:mc", metric: "acc",
                                      value: acc, stderr: 0.1, n: 20))
        }
        results.append(EvalResult(checkpoint: "run/broken", step: nil, task: "load", metric: "failed", value: 1, stderr: nil,
                                  n: 0, error: "run/broken: model.safetensors is missing"))
        let html = EvalReport.html(results)
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        #expect(html.components(separatedBy: "class=\"best\"").count - 1 == 2)
        #expect(html.contains("class=\"best\" data-checkpoint=\"run/checkpoint-200\""))
        #expect(!html.contains("data-checkpoint=\"run/checkpoint-100\""))
        #expect(html.components(separatedBy: "class=\"errorbar\"").count - 1 == 6)
        #expect(html.contains("run/broken: model.safetensors is missing"))
        #expect(!html.contains("<script") && !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        let table = EvalReport.table(results)
        #expect(table.contains("FAILED: run/broken: model.safetensors is missing"))
        #expect(table.split(separator: "\n").count == 1 + results.count + 1)
        #expect(html.contains(">training step</text>"))
    }

    /// Checkpoints of different runs have unrelated steps: they are plotted in the order given
    /// and named by their run, not placed on one step axis.
    @Test func checkpointsOfDifferentRunsArePlottedInTheOrderGiven() {
        let results = [("out/base/checkpoint-300", 300, 0.52), ("out/sft/checkpoint-200", 200, 0.50), ("out/dpo/checkpoint-40", 40, 0.51)]
            .map { EvalResult(checkpoint: $0.0, step: $0.1, task: "choice:mc", metric: "acc", value: $0.2, stderr: 0.05, n: 80) }
        let html = EvalReport.html(results)
        #expect(html.contains(">checkpoint (in the order given)</text>"))
        let labels = ["base", "sft", "dpo"].map { html.range(of: ">\($0)</text>")?.lowerBound }
        #expect(labels.allSatisfy { $0 != nil })
        #expect(labels[0]! < labels[1]! && labels[1]! < labels[2]!)
    }

    @Test func resultRecordsCarryTheSchemaFields() {
        let r = EvalResult(checkpoint: "c", step: 3, task: "ppl:docs", metric: "perplexity", value: 12.5, stderr: 0.5, n: 4,
                           settings: "window=256")
        var out: [UInt8] = []
        JSONWriter.write(r.json, into: &out)
        #expect(String(decoding: out, as: UTF8.self)
            == #"{"checkpoint":"c","step":3,"task":"ppl:docs","metric":"perplexity","value":12.5,"stderr":0.5,"n":4,"settings":"window=256"}"#)
    }
}

@Suite("LatheEval on GGUF files")
struct EvalGGUFTests {
    @Test func aGGUFFileIsEvaluatedThroughTheImporter() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/gguf/tiny-llama.gguf").path
        let refs = Checkpoints.resolve([path])
        #expect(refs.count == 1 && refs[0].isGGUF && refs[0].problem == nil)
        let checkpoint = try Checkpoints.load(refs[0])
        let file = try GGUFFile(path: path)
        #expect(checkpoint.params.config == (try file.llamaConfig()))
        let direct = try file.llamaParameters()
        #expect(Array(checkpoint.params.flat) == Array(direct.flat))

        let dir = temporaryDirectory()
        let docs = writeLines([#"{"text":"hello world 123"}"#], "docs.jsonl", in: dir)
        let results = try Evaluator(sets: [try EvalSet.load(path: docs)], settings: EvalSettings()).evaluate(checkpoint).results
        // End of text (when the file's vocabulary has one) stands before the document, as in pretraining.
        let eot = ConversationTokens.endOfTextId(checkpoint.tokenizer).map { [$0] } ?? []
        let x = eot + checkpoint.tokenizer.encode("hello world 123", addSpecialTokens: false)
        let expected = exp(-referenceLogProbs(checkpoint.params, x).reduce(0, +) / Double(x.count - 1))
        #expect(abs(results.first { $0.metric == "perplexity" }!.value - expected) < 1e-3 * expected)
    }
}

@Suite("LatheEval template checks")
struct EvalTemplateTests {
    @Test func aTemplateWhoseMarkersTheTokenizerSplitsIsAnError() throws {
        let tokenizer = try tinyTokenizer()
        let dir = temporaryDirectory()
        let path = writeLines([#"{"id":"p","prompt":"the cat"}"#], "prompts.jsonl", in: dir)
        let set = try EvalSet.load(path: path)
        #expect {
            try EncodedSet(set, tokenizer: tokenizer, settings: EvalSettings(template: .llama3))
        } throws: { error in
            "\(error)".contains(path + ": the tokenizer does not keep <|begin_of_text|> whole")
        }
        #expect(throws: Never.self) { try EncodedSet(set, tokenizer: tokenizer, settings: EvalSettings(template: nil)) }
    }
}

@Suite struct AsksQuestionTests {
    @Test func theFirstSentenceDecides() {
        #expect(opensWithQuestion("\nIs there a bus from the station?\nIs there a toilet nearby?"))
        #expect(opensWithQuestion("  Why do you want to know? It opens at 9."))
        #expect(!opensWithQuestion("It opens at 9 am. Why do you ask?"))
        #expect(!opensWithQuestion("The Corner Bread Shop is on Mill Lane"))
        #expect(!opensWithQuestion("Yes!\nIs it?"))
        #expect(!opensWithQuestion(""))
    }
}
