import Foundation
import LatheIO
import LatheModel

/// Everything besides weights and moments that exact resume needs (`trainer_state.json`):
/// the step, where the data order stands (its generator is SplitMix64 seeded by seed and
/// epoch, so seed + cursor is its whole state), and the settings that shape batches, which a
/// resumed run must share. Lathe uses no other randomness during training.
public struct TrainerState: Equatable, Sendable {
    public static let file = "trainer_state.json"
    public static let optimizerFile = "optimizer.safetensors"
    static let format = "lathe-trainer-state-1"

    public var step: Int
    public var tokens: Int
    public var cursor: DataCursor
    public var seed: UInt64
    /// lathe-train's --objective (pretrain, sft, dpo, …).
    public var objective: String
    public var seqLen: Int
    public var batchSize: Int
    public var gradAccum: Int
    public var examplesPerEpoch: Int
    public var totalSteps: Int
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    /// What else an objective needs to continue exactly (e.g. which reference its cached
    /// log-probabilities came from), saved as `objective_state`.
    public var extras: [String: String]

    public init(step: Int, tokens: Int, cursor: DataCursor, seed: UInt64, objective: String, seqLen: Int, batchSize: Int,
                gradAccum: Int, examplesPerEpoch: Int, totalSteps: Int, optimizer: AdamW, extras: [String: String] = [:]) {
        self.step = step
        self.tokens = tokens
        self.cursor = cursor
        self.seed = seed
        self.objective = objective
        self.seqLen = seqLen
        self.batchSize = batchSize
        self.gradAccum = gradAccum
        self.examplesPerEpoch = examplesPerEpoch
        self.totalSteps = totalSteps
        beta1 = optimizer.beta1
        beta2 = optimizer.beta2
        eps = optimizer.eps
        self.extras = extras
    }

    public func json() -> [UInt8] {
        func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
        func float(_ value: Float) -> JSONValue { .number(JSONNumber(value)!) }
        return Checkpoint.prettyJSON(JSONObject([
            ("format", .string(Self.format)), ("global_step", int(step)), ("tokens", int(tokens)),
            ("epoch", int(cursor.epoch)), ("epoch_position", int(cursor.position)),
            // A string: u64 seeds do not survive readers that parse numbers as doubles.
            ("seed", .string(String(seed))), ("data_order", "splitmix64(seed ^ epoch * 0xD1B54A32D192ED03), Fisher-Yates"),
            ("objective", .string(objective)), ("seq_len", int(seqLen)), ("batch_size", int(batchSize)),
            ("grad_accum", int(gradAccum)), ("examples_per_epoch", int(examplesPerEpoch)), ("max_steps", int(totalSteps)),
            ("adam_beta1", float(beta1)), ("adam_beta2", float(beta2)), ("adam_epsilon", float(eps)),
            ("objective_state", .object(JSONObject(extras.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))),
        ]))
    }

    public init(contentsOf directory: String) throws {
        let path = directory + "/" + Self.file
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IOFailure("\(path): cannot read; --resume needs a checkpoint that lathe-train wrote")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(Array(data)) } catch { throw IOFailure("\(path): not JSON: \(error)") }
        guard value["format"]?.string == Self.format else {
            throw IOFailure("\(path): format is \(value["format"].map { "\($0)" } ?? "missing"), expected \(Self.format)")
        }
        func int(_ key: String) throws -> Int {
            guard let n = value[key]?.int else { throw IOFailure("\(path): \(key) should be an integer, found \(value[key].map { "\($0)" } ?? "nothing")") }
            return n
        }
        func float(_ key: String) throws -> Float {
            guard let x = value[key]?.double else { throw IOFailure("\(path): \(key) should be a number") }
            return Float(x)
        }
        guard let seed = value["seed"]?.string.flatMap(UInt64.init),
              let objective = value["objective"]?.string else {
            throw IOFailure("\(path): seed or objective is missing or malformed")
        }
        step = try int("global_step")
        tokens = try int("tokens")
        cursor = DataCursor(epoch: try int("epoch"), position: try int("epoch_position"))
        self.seed = seed
        self.objective = objective
        seqLen = try int("seq_len")
        batchSize = try int("batch_size")
        gradAccum = try int("grad_accum")
        examplesPerEpoch = try int("examples_per_epoch")
        totalSteps = try int("max_steps")
        beta1 = try float("adam_beta1")
        beta2 = try float("adam_beta2")
        eps = try float("adam_epsilon")
        var extras: [String: String] = [:]
        for (key, field) in value["objective_state"]?.object ?? JSONObject() {
            guard let text = field.string else { throw IOFailure("\(path): objective_state.\(key) should be a string") }
            extras[key] = text
        }
        self.extras = extras
    }

    /// Why a run with these settings cannot continue this state bit for bit; nil when it can.
    public func mismatch(seed: UInt64, objective: String, seqLen: Int, batchSize: Int, gradAccum: Int,
                         examplesPerEpoch: Int) -> String? {
        let pairs: [(String, String, String)] = [
            ("--seed", String(self.seed), String(seed)), ("--objective", self.objective, objective),
            ("--seq-len", String(self.seqLen), String(seqLen)), ("--batch-size", String(self.batchSize), String(batchSize)),
            ("--grad-accum", String(self.gradAccum), String(gradAccum)),
            ("examples per epoch (the data)", String(self.examplesPerEpoch), String(examplesPerEpoch)),
        ]
        let differ = pairs.filter { $0.1 != $0.2 }
        guard !differ.isEmpty else { return nil }
        return differ.map { "\($0.0) was \($0.1), now \($0.2)" }.joined(separator: "; ")
    }
}
