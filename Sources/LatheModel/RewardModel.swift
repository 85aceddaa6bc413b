import LatheTensor

/// A Llama trunk with a scalar score head (`LlamaForSequenceClassification`, one label): one
/// value per position, (B,T). A reward model reads it at each sequence's last token; PPO's value
/// model reads it at every position. The trunk is `Llama` itself (its forward leaves the scalars
/// in `model.acts.logits`, its backward starts from `model.acts.logitsGrad`); this type adds
/// batching of sequences of different lengths and the gradient plumbing for both readings.
///
/// Rows are right-padded: row b holds its sequence at positions 0..<lengths[b]; padding
/// positions carry segment −1 (they attend to nothing and nothing attends to them), so a
/// sequence's scores do not depend on what else is in the batch.
public final class RewardModel: @unchecked Sendable {
    public let model: Llama
    /// Lengths of the rows of the last `forward(_:)`.
    public private(set) var lengths: [Int] = []

    public var params: LlamaParameters { model.params }
    public var grads: LlamaParameters { model.grads }
    public var config: LlamaConfig { model.config }
    public var maxBatch: Int { model.acts.maxBatch }
    public var maxSeq: Int { model.acts.maxSeq }

    /// `params` must have the scalar head (`OutputHead.scalar`).
    public init(params: LlamaParameters, maxBatch: Int, maxSeq: Int) {
        precondition(params.head == .scalar, "a reward model needs a score head with one label, not \(params.head)")
        model = Llama(params: params, maxBatch: maxBatch, maxSeq: maxSeq)
    }

    /// A freshly initialised reward model (every matrix, the score head included, normal(0, initializer_range)).
    public convenience init(config: LlamaConfig, maxBatch: Int, maxSeq: Int, seed: UInt64) {
        self.init(params: LlamaParameters(config: config, seed: seed, head: .scalar), maxBatch: maxBatch, maxSeq: maxSeq)
    }

    // MARK: value at every position (PPO's value model)

    /// Runs the trunk on tokens (B,T) (segments and positions as `Llama.forward` takes them) and
    /// returns the value at every position, (B,T), valid until the next forward.
    @discardableResult
    public func values(tokens: UnsafePointer<Int32>, segments: UnsafePointer<Int32>? = nil,
                       positions: UnsafePointer<Int32>? = nil, batch: Int, seq: Int) -> UnsafeBufferPointer<Float> {
        model.forward(tokens: tokens, segments: segments, positions: positions, batch: batch, seq: seq)
        lengths = []
        return UnsafeBufferPointer(start: model.acts.logits, count: batch * seq)
    }

    /// Adds ∂L/∂parameters into `grads` given ∂L/∂values (B,T) of the last forward
    /// (0 wherever a value does not enter the loss).
    public func backward(valueGradients: UnsafePointer<Float>) {
        model.acts.logitsGrad.update(from: valueGradients, count: model.batch * model.seq)
        model.backward()
    }

    // MARK: reward at each row's last token

    /// One batch: `sequences` (at most maxBatch, each 1...maxSeq tokens) right-padded to the longest,
    /// run through the trunk; returns each sequence's value at its last token. The values at
    /// every position stay in `model.acts.logits` (B,T) for `backward(rewardGradients:)`.
    public func forward(_ sequences: [[Int32]]) -> [Float] {
        let batch = sequences.count, seq = sequences.map(\.count).max() ?? 0
        precondition(batch >= 1 && batch <= maxBatch, "\(batch) sequences exceed the batch of \(maxBatch) the model was sized for")
        precondition(sequences.allSatisfy { !$0.isEmpty }, "an empty sequence has no last token to score")
        precondition(seq <= maxSeq, "a sequence of \(seq) tokens exceeds the \(maxSeq) the model was sized for")
        var tokens = [Int32](repeating: 0, count: batch * seq)
        var segments = [Int32](repeating: -1, count: batch * seq)
        for (b, sequence) in sequences.enumerated() {
            for (t, token) in sequence.enumerated() {
                tokens[b * seq + t] = token
                segments[b * seq + t] = 0
            }
        }
        model.forward(tokens: tokens, segments: segments, batch: batch, seq: seq)
        lengths = sequences.map(\.count)
        return lengths.enumerated().map { b, length in model.acts.logits[b * seq + length - 1] }
    }

    /// Adds ∂L/∂parameters into `grads` given ∂L/∂reward of each sequence of the last `forward(_:)`.
    public func backward(rewardGradients: [Float]) {
        precondition(!lengths.isEmpty && rewardGradients.count == lengths.count,
                     "\(rewardGradients.count) reward gradients for the \(lengths.count) sequences of the last forward")
        let seq = model.seq
        model.acts.logitsGrad.update(repeating: 0, count: model.batch * seq)
        for (b, length) in lengths.enumerated() { model.acts.logitsGrad[b * seq + length - 1] = rewardGradients[b] }
        model.backward()
    }

    /// The reward of each sequence, in the order given; sequences are run longest first in
    /// batches of up to maxBatch, each padded only to its own longest, so little is spent on padding.
    public func rewards(_ sequences: [[Int32]]) -> [Float] {
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        var out = [Float](repeating: 0, count: sequences.count)
        for start in stride(from: 0, to: order.count, by: maxBatch) {
            let chunk = Array(order[start..<min(start + maxBatch, order.count)])
            for (index, reward) in zip(chunk, forward(chunk.map { sequences[$0] })) { out[index] = reward }
        }
        return out
    }
}
