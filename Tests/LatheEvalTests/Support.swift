import Foundation
import LatheData
import LatheEval
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

/// A byte-level tokenizer with a few merges learnt from some sentences, and the chatml markers whole.
func tinyTokenizer() throws -> Tokenizer {
    var trainer = try BPETrainer(vocabSize: 300, minFrequency: 2)
    trainer.add(contentsOf: Array(repeating: "the cat sat on the mat and the dog ate the bone; answers are short", count: 4))
    return try trainer.train()
}

func tinyConfig(vocab: Int) -> LlamaConfig {
    LlamaConfig(vocabSize: vocab, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                numKeyValueHeads: 2, maxPositionEmbeddings: 512)
}

/// A random tiny model; the scale makes its distributions far from uniform, so scores differ.
func tinyParams(_ tokenizer: Tokenizer, seed: UInt64) -> LlamaParameters {
    var config = tinyConfig(vocab: tokenizer.vocabSize)
    config.initializerRange = 0.3
    return LlamaParameters(config: config, seed: seed)
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "lathe-eval-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes a checkpoint directory the way lathe-train does.
@discardableResult
func writeCheckpoint(_ params: LlamaParameters, _ tokenizer: Tokenizer, to path: String) throws -> String {
    try Checkpoint.writeDirectory(path, files: try HFCheckpoint.files(model: params, tokenizer: tokenizer, template: .chatml,
                                                                      objective: .sft, seqLen: 64))
    return path
}

func writeLines(_ lines: [String], _ name: String, in directory: String) -> String {
    let path = directory + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
    return path
}

func loaded(_ params: LlamaParameters, _ tokenizer: Tokenizer, path: String = "model", step: Int? = nil) -> LoadedCheckpoint {
    LoadedCheckpoint(ref: CheckpointRef(path: path, step: step), params: params, tokenizer: tokenizer,
                     tokenizerKey: tokenizer.jsonBytes())
}

/// The plain reference path: one forward over the whole sequence (batch 1, no padding, no
/// cache, no windows) and log-softmax by hand in Double. Element j is log p(x[j+1] | x[...j]).
func referenceLogProbs(_ params: LlamaParameters, _ x: [Int32]) -> [Double] {
    let n = x.count - 1
    let model = Llama(params: params, maxBatch: 1, maxSeq: n)
    let inputs = Array(x.dropLast())
    inputs.withUnsafeBufferPointer { model.forward(tokens: $0.baseAddress!, batch: 1, seq: n) }
    let v = params.config.vocabSize
    return (0..<n).map { j in
        let row = (0..<v).map { Double(model.acts.logits[j * v + $0]) }
        let m = row.max()!
        let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
        return row[Int(x[j + 1])] - lse
    }
}
