import Foundation
import LatheModel

/// One objective's training state, as lathe-train's loop drives it: the loop owns the log, the
/// progress line, checkpoints every --save-every steps and at the end, --keep-last, and the
/// SIGINT/SIGTERM checkpoint; the run owns its data, model, optimizer and what a step means.
public protocol TrainingRun: AnyObject {
    var settings: TrainSettings { get }
    /// Optimizer steps taken and tokens trained on, over the whole run (resumes included).
    var step: Int { get }
    var tokensSeen: Int { get }
    /// Log fields (of `StepResult.metrics`) the progress line shows after the loss.
    var headline: [String] { get }
    /// One optimizer step.
    func trainStep() throws -> StepResult
    /// Held-out metrics (`eval_loss`, …); empty when the run has no held-out data.
    func evaluate() throws -> [(name: String, value: Double)]
    /// Writes `checkpoint-STEP` (weights, tokenizer, trainer state, optimizer moments) atomically.
    @discardableResult
    func saveCheckpoint() throws -> String
}

extension TrainingRun {
    public var headline: [String] { [] }
    public func evaluate() throws -> [(name: String, value: Double)] { [] }
}

/// The `checkpoint-STEP` directories of a run, as Hugging Face's Trainer names them.
public enum RunCheckpoint {
    public static func path(_ settings: TrainSettings, step: Int) -> String { settings.outDirectory + "/checkpoint-\(step)" }

    /// Writes `files` (the model side) with trainer_state.json and the optimizer's moments as
    /// checkpoint-STEP through a temporary directory, then keeps only the newest `keepLast`.
    public static func write(_ files: [Checkpoint.File], state: TrainerState, optimizer: AdamW,
                             settings: TrainSettings) throws -> String {
        let path = path(settings, step: state.step)
        let all = files + [
            Checkpoint.File(name: TrainerState.file, bytes: state.json()),
            Checkpoint.File(name: TrainerState.optimizerFile) { path in
                try SafetensorsFile.write(Checkpoint.tensors(of: optimizer.m, prefix: "exp_avg.")
                    + Checkpoint.tensors(of: optimizer.v, prefix: "exp_avg_sq."), metadata: ["format": "lathe"], to: path)
            },
        ]
        try FileManager.default.createDirectory(atPath: settings.outDirectory, withIntermediateDirectories: true)
        try Checkpoint.writeDirectory(path, files: all)
        if settings.keepLast > 0 {
            for old in steps(in: settings.outDirectory).dropLast(settings.keepLast) {
                try? FileManager.default.removeItem(atPath: Self.path(settings, step: old))
            }
        }
        return path
    }

    /// Steps of the `checkpoint-STEP` directories in `directory`, ascending.
    public static func steps(in directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst("checkpoint-".count)) : nil }.sorted()
    }
}

extension AdamW {
    /// Restores the moments saved beside a checkpoint's weights.
    public func load(from directory: String) throws {
        let path = directory + "/" + TrainerState.optimizerFile
        try Checkpoint.load(m, from: path, prefix: "exp_avg.")
        try Checkpoint.load(v, from: path, prefix: "exp_avg_sq.")
    }
}
