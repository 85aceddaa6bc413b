import Foundation
import Testing
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
@testable import LatheTrain

/// A tokenizer with no merges: the four special tokens (ids 0-3), then byte b is id 4 + b,
/// so token positions can be counted by hand.
func byteTokenizer() throws -> Tokenizer {
    try BPETrainer(vocabSize: 260, specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]).train()
}

func writeLines(_ lines: [String]) -> String {
    let path = NSTemporaryDirectory() + "lathe-train-\(UUID().uuidString).jsonl"
    FileManager.default.createFile(atPath: path, contents: Data(lines.map { $0 + "\n" }.joined().utf8))
    return path
}

@Suite("Training data") struct DataTests {
    // <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n<|im_start|>user\nOk?<|im_end|>\n<|im_start|>assistant\nSure<|im_end|>\n
    // is, one token per byte or marker: 0 <ims>, 1-5 "user\n", 6-7 "Hi", 8 <ime>, 9 "\n", 10 <ims>, 11-20 "assistant\n",
    // 21-22 "Yo", 23 <ime>, 24 "\n", 25 <ims>, 26-30 "user\n", 31-33 "Ok?", 34 <ime>, 35 "\n", 36 <ims>,
    // 37-46 "assistant\n", 47-50 "Sure", 51 <ime>, 52 "\n". The labelled tokens are 21-23 and 47-51; input
    // position i predicts token i+1, so positions 20-22 and 46-50 carry the loss.
    @Test func sftLossFallsExactlyOnTheAssistantTurns() throws {
        let path = writeLines([#"{"id":"two","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"},{"role":"user","content":"Ok?"},{"role":"assistant","content":"Sure"}]}"#])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try TrainingData(paths: [path], tokenizer: try byteTokenizer(), settings: DataSettings(objective: .sft, seqLen: 64))
        let example = data.example(0)
        #expect(example.tokens.count == 52)
        let byte = { (c: Character) in Int32(4 + Int(c.asciiValue!)) }
        let expected: [Int: Int32] = [20: byte("Y"), 21: byte("o"), 22: 2, 46: byte("S"), 47: byte("u"), 48: byte("r"), 49: byte("e"), 50: 2]
        for (i, target) in example.targets.enumerated() {
            #expect(target == expected[i] ?? -1, "position \(i)")
        }
        #expect(example.tokens[0] == 1 && example.tokens[10] == 1 && example.tokens[23] == 2)
        #expect(example.records == ["two"])
        #expect(data.labelledTokens == 8)
    }

    // Tokenising on two threads, over several line batches (the reader hands out 1 MiB at a time),
    // gives the data one thread gives, the same drops counted at the same lines included.
    @Test func tokenisingInParallelKeepsOrderAndDrops() throws {
        var lines: [String] = []
        for i in 0..<4000 {
            let words = (0..<(60 + i % 120)).map { "w\(($0 * 7 + i) % 101)" }.joined(separator: " ")
            switch i % 500 {
            case 17: lines.append(#"{"id":"bad\#(i)","messages":[{"role":"user","content":"no answer"}]}"#)
            case 250: lines.append("{not json")
            default:
                lines.append(#"{"id":"c\#(i)","messages":[{"role":"user","content":"q\#(i)"},{"role":"assistant","content":"\#(words)"}]}"#)
            }
        }
        let path = writeLines(lines)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) > 2 << 20)
        let tokenizer = try byteTokenizer()
        func load(jobs: Int) throws -> TrainingData {
            var settings = DataSettings(objective: .sft, seqLen: 128)
            settings.onError = .skip
            settings.jobs = jobs
            return try TrainingData(paths: [path], tokenizer: tokenizer, settings: settings)
        }
        let one = try load(jobs: 1), two = try load(jobs: 2)
        #expect(one.count == 4000 - 16 && two.count == one.count)
        #expect(two.stats.dropped == ["no_assistant_turn": 8, "invalid_json": 8] && two.stats.dropped == one.stats.dropped)
        #expect(one.truncated > 0 && two.truncated == one.truncated && two.labelledTokens == one.labelledTokens)
        for i in stride(from: 0, to: one.count, by: 97) { #expect(one.example(i) == two.example(i), "example \(i)") }
        #expect(one.example(one.count - 1) == two.example(two.count - 1))
    }

    @Test func conversationsWithNothingToLearnAreNamed() throws {
        let path = writeLines([
            #"{"id":"ok","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}]}"#,
            #"{"id":"long","messages":[{"role":"user","content":"a very long question that fills the window"},{"role":"assistant","content":"Yo"}]}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: RecordError.self) {
            try TrainingData(paths: [path], tokenizer: try byteTokenizer(), settings: DataSettings(objective: .sft, seqLen: 32))
        }
        #expect(error?.location.line == 2)
        #expect(error?.reason == "too_long")
        var settings = DataSettings(objective: .sft, seqLen: 32)
        settings.onError = .skip
        let data = try TrainingData(paths: [path], tokenizer: try byteTokenizer(), settings: settings)
        #expect(data.count == 1 && data.stats.dropped == ["too_long": 1])
    }

    // Three conversations packed into one row give, position by position, the logits each
    // gives alone in a row of its own.
    @Test func packedConversationsSeeOnlyThemselves() throws {
        let path = writeLines([
            #"{"id":"a","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}]}"#,
            #"{"id":"b","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]}"#,
            #"{"id":"c","prompt":"Name a colour.","completion":"Blue."}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokenizer = try byteTokenizer()
        var settings = DataSettings(objective: .sft, seqLen: 160)
        settings.packing = true
        let packed = try TrainingData(paths: [path], tokenizer: tokenizer, settings: settings)
        settings.packing = false
        let alone = try TrainingData(paths: [path], tokenizer: tokenizer, settings: settings)
        #expect(packed.count == 1 && alone.count == 3)
        let row = packed.example(0)
        #expect(row.records == ["a", "b", "c"])

        let config = LlamaConfig(vocabSize: 260, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, maxPositionEmbeddings: 160)
        let model = Llama(config: config, maxBatch: 1, maxSeq: 160, seed: 9)
        model.forward(tokens: row.tokens, segments: row.segments, batch: 1, seq: row.tokens.count)
        let v = config.vocabSize
        let packedLogits = Array(UnsafeBufferPointer(start: model.acts.logits, count: row.tokens.count * v))
        var offset = 0
        for k in 0..<3 {
            let single = alone.example(k)
            #expect(Array(row.targets[offset..<(offset + single.tokens.count)]) == single.targets)
            model.forward(tokens: single.tokens, segments: single.segments, batch: 1, seq: single.tokens.count)
            for j in 0..<(single.tokens.count * v) {
                #expect(abs(packedLogits[offset * v + j] - model.acts.logits[j]) < 1e-5)
            }
            offset += single.tokens.count
        }
        #expect(offset == row.tokens.count)
    }

    @Test func pretrainWindowsShiftTargetsByOne() throws {
        let path = writeLines([#"{"id":"x","text":"abcdef"}"#, #"{"id":"y","text":"ghij"}"#])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try TrainingData(paths: [path], tokenizer: try byteTokenizer(), settings: DataSettings(objective: .pretrain, seqLen: 4))
        // a b c d e f <eot> g h i j <eot>: 12 tokens, so (12 - 1) / 4 = 2 windows.
        #expect(data.count == 2)
        let b = { (c: Character) in Int32(4 + Int(c.asciiValue!)) }
        let second = data.example(1)
        #expect(second.tokens == [b("e"), b("f"), 0, b("g")])
        #expect(second.targets == [b("f"), 0, b("g"), b("h")])
        #expect(second.records == ["x", "y"])
    }

    @Test func dataOrderIsAPermutationPerEpochAndResumable() {
        var order = DataOrder(count: 5, seed: 3)
        let first = (0..<5).map { _ in order.next() }
        let second = (0..<5).map { _ in order.next() }
        #expect(first.sorted() == Array(0..<5) && second.sorted() == Array(0..<5))
        #expect(first != second)
        var resumed = DataOrder(count: 5, seed: 3, cursor: DataCursor(epoch: 1, position: 2))
        #expect((0..<3).map { _ in resumed.next() } == Array(second[2...]))
    }
}

@Suite("AdamW") struct AdamWTests {
    // One step from zero moments, worked by hand: m̂ = g, v̂ = g², so the update is
    // lr·(g/(|g|+eps) + wd·p) on matrices and lr·g/(|g|+eps) on norm weights.
    @Test func firstStepMatchesTheFormula() {
        let config = LlamaConfig(vocabSize: 4, hiddenSize: 4, intermediateSize: 4, numHiddenLayers: 1, numAttentionHeads: 2)
        let params = LlamaParameters(config: config, seed: 1)
        let grads = LlamaParameters(zerosFor: config)
        for view in grads.views { for j in 0..<view.count { grads.arena.pointer(view)[j] = Float(j % 5) - 2 } }
        let before = Array(params.flat)
        let adam = AdamW(config: config, weightDecay: 0.1)
        adam.update(params, grads, lr: 0.01, step: 1, gradScale: 0.5)
        for view in params.views {
            for j in 0..<view.count {
                let p = Double(before[view.offset + j]), g = 0.5 * Double(grads.arena.pointer(view)[j])
                let decay = view.shape.count == 2 ? 0.1 : 0
                let expected = p - 0.01 * (g / (abs(g) + 1e-8) + decay * p)
                #expect(abs(Double(params.arena.pointer(view)[j]) - expected) < 1e-6, "\(view.name)[\(j)]")
            }
        }
    }
}
