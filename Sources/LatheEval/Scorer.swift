import LatheModel
import LatheTensor

/// Scores many sequences with one model: Σ log p(target) per sequence, batched by length
/// (longest first, so each batch pads little), padding kept out of attention by segment -1.
public final class SequenceScorer {
    public let model: Llama
    public let batchSize: Int
    private var tokens: [Int32], segments: [Int32], targets: [Int32]

    /// Activations for `batchSize` rows of up to `maxSeq` inputs.
    public init(params: LlamaParameters, batchSize: Int, maxSeq: Int) {
        model = Llama(params: params, maxBatch: batchSize, maxSeq: maxSeq)
        self.batchSize = batchSize
        tokens = Array(repeating: 0, count: batchSize * maxSeq)
        segments = tokens
        targets = tokens
    }

    /// Σ log p over each sequence's counted targets, in input order (0 for one with none).
    public func score(_ sequences: [ScoredSequence]) -> [Double] {
        var out = [Double](repeating: 0, count: sequences.count)
        let order = sequences.indices.filter { !sequences[$0].inputs.isEmpty }
            .sorted { (-sequences[$0].inputs.count, $0) < (-sequences[$1].inputs.count, $1) }
        let vocab = model.config.vocabSize
        var start = 0
        while start < order.count {
            let rows = Array(order[start..<min(start + batchSize, order.count)])
            start += rows.count
            let t = sequences[rows[0]].inputs.count
            for (b, k) in rows.enumerated() {
                let s = sequences[k]
                for j in 0..<t {
                    let inside = j < s.inputs.count
                    tokens[b * t + j] = inside ? s.inputs[j] : 0
                    segments[b * t + j] = inside ? 0 : -1
                    targets[b * t + j] = inside ? s.targets[j] : -1
                }
            }
            tokens.withUnsafeBufferPointer { tok in segments.withUnsafeBufferPointer { seg in
                model.forward(tokens: tok.baseAddress!, segments: seg.baseAddress!, batch: rows.count, seq: t)
            } }
            targets.withUnsafeBufferPointer {
                _ = CrossEntropy.forward(losses: model.acts.losses, logits: model.acts.logits, targets: $0.baseAddress!,
                                         mask: nil, rows: rows.count * t, vocab: vocab)
            }
            for (b, k) in rows.enumerated() {
                var sum = 0.0
                for j in 0..<t where targets[b * t + j] >= 0 { sum -= Double(model.acts.losses[b * t + j]) }
                out[k] = sum
            }
        }
        return out
    }
}
