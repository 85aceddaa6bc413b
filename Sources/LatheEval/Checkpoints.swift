import Foundation
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain
import LatheData

/// A model to evaluate, as named on the command line: a checkpoint directory or a GGUF file.
public struct CheckpointRef: Sendable, Equatable {
    /// The path as given (or as found in a run directory or list); results carry it.
    public var path: String
    /// The training step, from a `checkpoint-STEP` name (what lathe-train writes) or trainer_state.json.
    public var step: Int?
    public var isGGUF: Bool { Checkpoint.isGGUF(path) }
    /// Why the argument names no checkpoint, when it does not.
    public var problem: String?

    public init(path: String, step: Int? = nil, problem: String? = nil) {
        self.path = path
        self.step = step
        self.problem = problem
    }

    /// Names of step directories in a run: lathe-train's and transformers' `checkpoint-STEP`, and `step-STEP`.
    static let stepPrefixes = ["checkpoint-", "step-"]

    /// The step a `checkpoint-STEP` or `step-STEP` directory name carries.
    static func step(named name: Substring) -> Int? {
        stepPrefixes.lazy.compactMap { name.hasPrefix($0) ? Int(name.dropFirst($0.count)) : nil }.first
    }

    static func step(of path: String) -> Int? {
        if let n = step(named: path.split(separator: "/").last ?? Substring(path)) { return n }
        if let data = FileManager.default.contents(atPath: path + "/trainer_state.json"),
           let state = try? JSONParser.parse(Array(data)) {
            return state["step"]?.int ?? state["global_step"]?.int
        }
        return nil
    }
}

/// A checkpoint's weights and tokenizer, loaded.
public struct LoadedCheckpoint: @unchecked Sendable {
    public let ref: CheckpointRef
    public let params: LlamaParameters
    public let tokenizer: Tokenizer
    /// The tokenizer's serialised form: checkpoints with equal keys share tokenised eval sets.
    public let tokenizerKey: [UInt8]
    /// The token every sequence starts with: a GGUF file's BOS when its metadata sets
    /// `tokenizer.ggml.add_bos_token`, as llama.cpp reads it; nil for checkpoint directories,
    /// read as lm-evaluation-harness reads Hugging Face models (no special tokens added).
    public let bos: Int32?

    public init(ref: CheckpointRef, params: LlamaParameters, tokenizer: Tokenizer, tokenizerKey: [UInt8], bos: Int32? = nil) {
        (self.ref, self.params, self.tokenizer, self.tokenizerKey, self.bos) = (ref, params, tokenizer, tokenizerKey, bos)
    }
}

extension LoadedCheckpoint {
    /// Fails naming the checkpoint when its tokenizer splits a marker `template` needs.
    public func checkMarkers(of template: ChatTemplate?) throws {
        guard let template else { return }
        do { try TrainingData.checkMarkers(of: template, tokenizer: tokenizer) } catch let error as IOFailure {
            throw IOFailure("\(ref.path): \(error.message)")
        }
    }
}

public enum Checkpoints {
    /// Checkpoint directories, GGUF files, run directories (each `checkpoint-STEP` or `step-STEP`
    /// inside, in step order), files listing any of these one per line, and glob patterns. An
    /// argument naming nothing usable comes back with its `problem` set.
    public static func resolve(_ arguments: [String]) -> [CheckpointRef] {
        arguments.flatMap { resolve($0, depth: 0) }
    }

    static func resolve(_ argument: String, depth: Int) -> [CheckpointRef] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            if argument.contains(where: { "*?[".contains($0) }) {
                let matches = glob(argument)
                if matches.isEmpty { return [CheckpointRef(path: argument, problem: "\(argument): the pattern matches nothing")] }
                return matches.map { CheckpointRef(path: $0, step: CheckpointRef.step(of: $0)) }
                    .sorted { ($0.step ?? Int.max, $0.path) < ($1.step ?? Int.max, $1.path) }
                    .flatMap { resolve($0.path, depth: depth) }
            }
            return [CheckpointRef(path: argument, problem: "\(argument): no such checkpoint directory, GGUF file or list")]
        }
        if isDirectory.boolValue {
            if manager.fileExists(atPath: argument + "/config.json") || manager.fileExists(atPath: argument + "/model.safetensors") {
                return [CheckpointRef(path: argument, step: CheckpointRef.step(of: argument))]
            }
            let steps = ((try? manager.contentsOfDirectory(atPath: argument)) ?? [])
                .compactMap { name in CheckpointRef.step(named: Substring(name)).map { (step: $0, name: name) } }
                .sorted { ($0.step, $0.name) < ($1.step, $1.name) }
            if steps.isEmpty {
                return [CheckpointRef(path: argument, problem: "\(argument): not a checkpoint (no config.json) and no checkpoint-STEP "
                    + "or step-STEP directories inside; give a checkpoint directory, a run directory of lathe-train, or a GGUF file")]
            }
            let base = argument.hasSuffix("/") ? String(argument.dropLast()) : argument
            return steps.map { CheckpointRef(path: base + "/" + $0.name, step: $0.step) }
        }
        if Checkpoint.isGGUF(argument) { return [CheckpointRef(path: argument)] }
        guard depth == 0, let data = manager.contents(atPath: argument) else {
            return [CheckpointRef(path: argument, problem: "\(argument): not a GGUF file, and a list of checkpoints cannot name another list")]
        }
        // A list: one path a line, relative ones taken from the list's directory; # starts a comment.
        let directory = (argument as NSString).deletingLastPathComponent
        return String(decoding: data, as: UTF8.self).split(separator: "\n").flatMap { line -> [CheckpointRef] in
            let entry = line.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty || entry.hasPrefix("#") { return [] }
            let path = entry.hasPrefix("/") || directory.isEmpty ? entry : directory + "/" + entry
            return resolve(path, depth: 1)
        }
    }

    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
    }

    /// Loads weights and tokenizer, or an error naming the file and what is wrong with it.
    public static func load(_ ref: CheckpointRef) throws -> LoadedCheckpoint {
        if let problem = ref.problem { throw IOFailure(problem) }
        let params: LlamaParameters, tokenizer: Tokenizer, key: [UInt8]
        var bos: Int32?
        if ref.isGGUF {
            params = try Checkpoint.loadParameters(from: ref.path)
            let stored = try ImportedTokenizer(path: ref.path)
            (tokenizer, key, bos) = (stored.tokenizer, stored.json, stored.bos)
        } else {
            let needed = [Checkpoint.configFile, Checkpoint.weightsFile, "tokenizer.json"]
            let missing = needed.filter { !FileManager.default.fileExists(atPath: ref.path + "/" + $0) }
            if !missing.isEmpty {
                throw IOFailure("\(ref.path): \(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") missing; "
                    + "a checkpoint directory needs \(needed.joined(separator: ", ")) (lathe-train writes all three)")
            }
            params = try Checkpoint.loadParameters(from: ref.path, head: nil)
            let path = ref.path + "/tokenizer.json"
            key = Array(FileManager.default.contents(atPath: path) ?? Data())
            do { tokenizer = try Tokenizer(contentsOf: path) } catch { throw IOFailure("\(path): \(error)") }
        }
        guard tokenizer.vocabSize <= params.config.vocabSize else {
            throw IOFailure("\(ref.path): the tokenizer has \(tokenizer.vocabSize) ids but the model's vocabulary is \(params.config.vocabSize)")
        }
        return LoadedCheckpoint(ref: ref, params: params, tokenizer: tokenizer, tokenizerKey: key, bos: bos)
    }
}
