import Foundation
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
import Synchronization

/// The knobs of a run, as `lathe-train` takes them.
public struct TrainSettings: Sendable {
    public var batchSize = 8
    public var gradAccum = 1
    public var lr = 3e-4
    public var warmup = 0
    public var schedule = LearningRateSchedule.cosine
    public var weightDecay = 0.1
    /// Largest global gradient norm; 0 turns clipping off.
    public var clip = 1.0
    public var steps = 100
    public var evalEvery = 0
    public var saveEvery = 0
    public var keepLast = 0
    public var seed: UInt64 = 0
    public var outDirectory = "out"
    public init() {}
}

/// Why a run stopped early.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Set by SIGINT/SIGTERM; the loop finishes its step, saves and returns.
public enum StopRequest {
    public static let signal = Atomic<Int32>(0)
}

/// What one optimizer step did.
public struct StepResult: Sendable {
    public var loss: Double
    public var gradNorm: Double
    public var lr: Double
    public var tokens: Int
    public var seconds: Double
    /// The objective's own log fields, under TRL's names (`rewards/margins`, `objective/kl`, …).
    public var metrics: [(name: String, value: Double)]

    public init(loss: Double, gradNorm: Double, lr: Double, tokens: Int, seconds: Double,
                metrics: [(name: String, value: Double)] = []) {
        self.loss = loss
        self.gradNorm = gradNorm
        self.lr = lr
        self.tokens = tokens
        self.seconds = seconds
        self.metrics = metrics
    }
}

/// The training loop: batches from `TrainingData` in the order `DataOrder` gives, loss
/// averaged over every labelled token of the optimizer batch (all micro-batches), gradient
/// clipping, AdamW, checkpoints that resume bit for bit.
public final class Trainer: TrainingRun {
    public let model: Llama
    public let optimizer: AdamW
    public let tokenizer: Tokenizer
    /// Written into each checkpoint's tokenizer_config.json.
    public let template: ChatTemplate
    public let data: TrainingData
    public let evalData: TrainingData?
    public let settings: TrainSettings
    public private(set) var order: DataOrder
    /// Optimizer steps taken so far and tokens seen, over the whole run (resumes included).
    public private(set) var step = 0
    public private(set) var tokensSeen = 0
    /// Buffers of every micro-batch of one step: (gradAccum, B, T).
    private var tokens: [Int32]
    private var targets: [Int32]
    private var segments: [Int32]

    public init(model: Llama, tokenizer: Tokenizer, template: ChatTemplate = .chatml, data: TrainingData, evalData: TrainingData?,
                settings: TrainSettings, resumeFrom state: TrainerState? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.data = data
        self.evalData = evalData
        self.settings = settings
        optimizer = AdamW(config: model.config, weightDecay: Float(settings.weightDecay))
        order = DataOrder(count: data.count, seed: settings.seed, cursor: state?.cursor ?? DataCursor())
        step = state?.step ?? 0
        tokensSeen = state?.tokens ?? 0
        let size = settings.gradAccum * settings.batchSize * data.settings.seqLen
        tokens = Array(repeating: 0, count: size)
        targets = Array(repeating: -1, count: size)
        segments = Array(repeating: -1, count: size)
    }

    var seqLen: Int { data.settings.seqLen }

    /// Bytes of parameters, gradients, AdamW moments and activations, the run's working set.
    public var memoryEstimate: (parameters: Int, gradients: Int, optimizer: Int, activations: Int) {
        let p = model.params.arena.count * 4
        return (p, p, 2 * p, model.acts.bytes)
    }

    // MARK: one step

    /// Lays out example rows of micro-batch `k` and returns its length T (the longest row).
    private func fill(micro k: Int, _ examples: [Example]) -> Int {
        let t = examples.map(\.tokens.count).max() ?? 1
        let base = k * settings.batchSize * seqLen
        for (b, example) in examples.enumerated() {
            let row = base + b * t
            for j in 0..<t {
                let inside = j < example.tokens.count
                tokens[row + j] = inside ? example.tokens[j] : 0
                targets[row + j] = inside ? example.targets[j] : -1
                segments[row + j] = inside ? example.segments[j] : -1
            }
        }
        return t
    }

    /// One optimizer step over gradAccum micro-batches of batchSize rows.
    public func trainStep() throws -> StepResult {
        let started = monotonicSeconds()
        let b = settings.batchSize
        var lengths: [Int] = [], weights: [Int] = [], records: [String] = [], realTokens = 0
        for k in 0..<settings.gradAccum {
            let examples = (0..<b).map { _ in data.example(order.next()) }
            records += examples.flatMap(\.records)
            realTokens += examples.reduce(0) { $0 + $1.tokens.count }
            let t = fill(micro: k, examples)
            lengths.append(t)
            let base = k * b * seqLen
            weights.append((0..<(b * t)).reduce(0) { $0 + (targets[base + $1] >= 0 ? 1 : 0) })
        }
        let total = weights.reduce(0, +)
        guard total > 0 else {
            throw TrainingError("step \(step + 1): every label of the batch is masked (no assistant token to learn from); records: "
                + records.joined(separator: ", "))
        }
        model.zeroGradients()
        var lossSum = 0.0
        for k in 0..<settings.gradAccum where weights[k] > 0 {
            let base = k * b * seqLen, t = lengths[k]
            tokens.withUnsafeBufferPointer { tok in segments.withUnsafeBufferPointer { seg in
                model.forward(tokens: tok.baseAddress! + base, segments: seg.baseAddress! + base, batch: b, seq: t)
            } }
            let (loss, weight) = targets.withUnsafeBufferPointer {
                model.crossEntropy(targets: $0.baseAddress! + base, gradientScale: 1 / Float(total))
            }
            lossSum += Double(loss) * Double(weight)
            model.backward()
        }
        let loss = lossSum / Double(total)
        let norm = gradientNorm(model.grads)
        guard loss.isFinite && norm.isFinite else {
            throw TrainingError("step \(step + 1): the loss is \(loss) and the gradient norm \(norm); stopped before updating the "
                + "weights (the last checkpoint is intact). Lower --lr or check the data; batch records: " + records.joined(separator: ", "))
        }
        step += 1
        let lr = optimizer.step(model, step: step, gradientNorm: norm, settings: settings)
        tokensSeen += realTokens
        return StepResult(loss: loss, gradNorm: norm, lr: lr, tokens: realTokens, seconds: monotonicSeconds() - started)
    }

    /// `eval_loss`, when there is held-out data.
    public func evaluate() -> [(name: String, value: Double)] {
        evaluationLoss().map { [("eval_loss", $0)] } ?? []
    }

    /// Mean loss per labelled token over the whole eval set, in order, no update.
    public func evaluationLoss() -> Double? {
        guard let evalData else { return nil }
        var lossSum = 0.0, weightSum = 0.0
        var i = 0
        while i < evalData.count {
            let examples = (i..<min(i + settings.batchSize, evalData.count)).map { evalData.example($0) }
            i += examples.count
            let t = fill(micro: 0, examples)
            tokens.withUnsafeBufferPointer { tok in segments.withUnsafeBufferPointer { seg in
                model.forward(tokens: tok.baseAddress!, segments: seg.baseAddress!, batch: examples.count, seq: t)
            } }
            let (loss, weight) = targets.withUnsafeBufferPointer { model.crossEntropy(targets: $0.baseAddress!) }
            lossSum += Double(loss) * Double(weight)
            weightSum += Double(weight)
        }
        return weightSum > 0 ? lossSum / weightSum : nil
    }

    // MARK: checkpoints

    /// Writes the model, tokenizer, trainer state and optimizer moments at the current step,
    /// then removes all but the newest `keepLast` checkpoints.
    @discardableResult
    public func saveCheckpoint() throws -> String {
        let state = TrainerState(step: step, tokens: tokensSeen, cursor: order.cursor, seed: settings.seed,
                                 objective: data.settings.objective.rawValue, seqLen: seqLen, batchSize: settings.batchSize,
                                 gradAccum: settings.gradAccum, examplesPerEpoch: data.count, totalSteps: settings.steps,
                                 optimizer: optimizer)
        let files = try HFCheckpoint.files(model: model.params, tokenizer: tokenizer, template: template,
                                           objective: data.settings.objective, seqLen: seqLen)
        return try RunCheckpoint.write(files, state: state, optimizer: optimizer, settings: settings)
    }
}

extension AdamW {
    /// Optimizer step `step` of a run: the scheduled rate, the gradient clipped to settings.clip
    /// (global norm `gradientNorm`), the update. Returns the rate used.
    func step(_ model: Llama, step: Int, gradientNorm norm: Double, settings: TrainSettings) -> Double {
        let lr = settings.schedule.rate(step: step, total: settings.steps, peak: settings.lr, warmup: settings.warmup)
        let scale = settings.clip > 0 && norm > settings.clip ? Float(settings.clip / norm) : 1
        update(model.params, model.grads, lr: Float(lr), step: step, gradScale: scale)
        return lr
    }
}

/// The Hugging Face side of a checkpoint: what `transformers` and `tokenizers` read.
public enum HFCheckpoint {
    /// The id generation stops on: the template's end of turn after SFT, end of text after pretraining.
    static func eosId(_ tokenizer: Tokenizer, template: ChatTemplate, objective: Objective) -> Int32? {
        (objective == .sft ? tokenizer.tokenToId(template.endOfTurn) : nil) ?? (try? TrainingData.endOfTextId(tokenizer))
    }

    public static func files(model params: LlamaParameters, tokenizer: Tokenizer, template: ChatTemplate,
                             objective: Objective, seqLen: Int) throws -> [Checkpoint.File] {
        let eos = eosId(tokenizer, template: template, objective: objective)
        let eosToken: JSONValue = eos.flatMap { tokenizer.idToToken($0) }.map(JSONValue.string) ?? .null
        let padName = ["<|pad|>", "<|endoftext|>"].first { tokenizer.tokenToId($0) != nil }
        let pad = padName.map(JSONValue.string) ?? eosToken
        // A score head needs pad_token_id in config.json: transformers reads each row's value at its last non-pad token.
        let padId = padName.flatMap { tokenizer.tokenToId($0) } ?? eos
        let tokenizerConfig = JSONObject([
            ("tokenizer_class", "PreTrainedTokenizerFast"), ("chat_template", .string(template.jinja)),
            ("bos_token", .null), ("eos_token", eosToken), ("pad_token", pad), ("unk_token", .null),
            ("model_max_length", .number(JSONNumber(params.config.maxPositionEmbeddings))),
            ("clean_up_tokenization_spaces", false),
        ])
        return [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(params.config, head: params.head, bosTokenId: nil,
                                                                                                   eosTokenId: eos, padTokenId: padId)),
            Checkpoint.weightsFile(params),
            Checkpoint.File(name: "tokenizer.json", bytes: tokenizer.jsonBytes()),
            Checkpoint.File(name: "tokenizer_config.json", bytes: Checkpoint.prettyJSON(tokenizerConfig)),
            Checkpoint.File(name: "generation_config.json", bytes: Checkpoint.generationConfigJSON(bosTokenId: nil, eosTokenId: eos)),
        ]
    }
}
