import LatheIO
import LatheModel
import LatheTensor

/// How many checkpoints `lathe-eval --jobs N` evaluates at once: as many as asked for, as there
/// are checkpoints, and as fit in the memory the kernel says is available (with a fifth kept
/// back), each costing the estimate below for the largest model among them.
public struct JobPlan: Sendable {
    public let jobs: Int
    /// Bytes one checkpoint's evaluation holds: fp32 weights, the bf16 copy, forward buffers,
    /// and for choice/generate the KV cache (and where bf16 is widened, the generator's scratch).
    public let perCheckpoint: Int
    public let available: Int?
    /// One line for stderr: how many at once and why.
    public let description: String

    /// The memory of evaluating a model of `config` with the evaluator's settings; `caches`
    /// when choice or generate tasks run.
    public static func bytes(config: LlamaConfig, evaluator: Evaluator, caches: Bool, maxNewTokens: Int) -> Int {
        let form = InferenceWeights.Form.of(evaluator.precision)
        var total = LlamaParameters.layout(config).count * 4 + InferenceWeights.bytes(config: config, form: form)
            + LlamaInference.bufferBytes(config: config, form: form, maxBatch: evaluator.batchSize,
                                         maxSeq: evaluator.settings.seqLen)
        if caches {
            let capacity = evaluator.settings.seqLen + maxNewTokens
            total += 2 * config.numHiddenLayers * evaluator.batchSize * capacity * config.kvDim * 4
                + InferenceWeights.scratchCount(config: config, form: form) * 4
        }
        return total
    }

    /// The model shape a checkpoint reference names, without loading its weights (nil when unreadable).
    public static func config(of ref: CheckpointRef) -> LlamaConfig? {
        guard ref.problem == nil else { return nil }
        if ref.isGGUF { return try? GGUFFile(path: ref.path).llamaConfig() }
        return try? Checkpoint.loadConfig(from: ref.path)
    }

    public init(requested: Int, refs: [CheckpointRef], evaluator: Evaluator, caches: Bool, maxNewTokens: Int,
                available: Int? = availableMemory()) {
        let configs = refs.compactMap(Self.config(of:))
        let per = configs.map { Self.bytes(config: $0, evaluator: evaluator, caches: caches, maxNewTokens: maxNewTokens) }.max() ?? 0
        let wanted = max(1, min(requested, refs.count))
        let fit = available.map { per > 0 ? max(1, $0 * 4 / 5 / per) : wanted } ?? 1
        let jobs = min(wanted, fit)
        (perCheckpoint, self.available, self.jobs) = (per, available, jobs)
        let each = "≈\(formatMemory(per)) each (fp32 weights\(evaluator.precision == .bf16 ? " and their bf16 copy" : ""), "
            + "buffers for \(evaluator.batchSize) x \(evaluator.settings.seqLen)\(caches ? ", KV caches" : ""))"
        let memory = available.map { "\(formatMemory($0)) available, 4/5 of it usable" } ?? "available memory unknown"
        var why: String
        if jobs == wanted {
            why = requested > refs.count ? "one per checkpoint" : "as --jobs \(requested) asks"
            if available != nil { why += ", and they fit: \(memory)" }
        } else {
            why = available == nil ? "one at a time since \(memory)" : "memory allows \(fit): \(memory)"
        }
        description = "\(jobs) checkpoint\(jobs == 1 ? "" : "s") at once (\(why)); \(each)"
    }
}
