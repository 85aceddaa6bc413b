import LatheModel
import LatheTensor

/// Scores many sequences with one model: Σ log p(target) per sequence, through the inference
/// forward (`LlamaInference`), batched by length (longest first, so each batch pads little),
/// padding kept out of attention by segment -1.
public final class SequenceScorer {
    public let model: LlamaInference
    public let batchSize: Int
    private var tokens: [Int32], segments: [Int32], targets: [Int32]
    private var logProbs: [Float]

    /// Buffers for `batchSize` rows of up to `maxSeq` inputs; weights used as `precision` says.
    public convenience init(params: LlamaParameters, batchSize: Int, maxSeq: Int, precision: MatmulPrecision = .fp32) {
        self.init(weights: InferenceWeights(params, precision: precision), batchSize: batchSize, maxSeq: maxSeq)
    }

    public init(weights: InferenceWeights, batchSize: Int, maxSeq: Int) {
        model = LlamaInference(weights: weights, maxBatch: batchSize, maxSeq: maxSeq)
        self.batchSize = batchSize
        tokens = Array(repeating: 0, count: batchSize * maxSeq)
        segments = tokens
        targets = tokens
        logProbs = Array(repeating: 0, count: batchSize * maxSeq)
    }

    /// Σ log p over each sequence's counted targets, in input order (0 for one with none).
    public func score(_ sequences: [ScoredSequence]) -> [Double] {
        var out = [Double](repeating: 0, count: sequences.count)
        let order = sequences.indices.filter { !sequences[$0].inputs.isEmpty }
            .sorted { (-sequences[$0].inputs.count, $0) < (-sequences[$1].inputs.count, $1) }
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
                targets.withUnsafeBufferPointer { tgt in logProbs.withUnsafeMutableBufferPointer { lp in
                    model.logProbs(tokens: tok.baseAddress!, segments: seg.baseAddress!, targets: tgt.baseAddress!,
                                   batch: rows.count, seq: t, into: lp.baseAddress!)
                } }
            } }
            for (b, k) in rows.enumerated() {
                var sum = 0.0
                for j in 0..<t where targets[b * t + j] >= 0 { sum += Double(logProbs[b * t + j]) }
                out[k] = sum
            }
        }
        return out
    }
}
