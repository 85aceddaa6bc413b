import Foundation
import LatheIO

/// A checkpoint directory in the Hugging Face layout: `config.json` (LlamaForCausalLM, or
/// LlamaForSequenceClassification for a reward/value model),
/// `model.safetensors` with HF tensor names, and whatever else the caller adds (tokenizer
/// files, generation config, trainer state), written to a temporary directory beside the
/// target and renamed into place, so a crash never leaves half a checkpoint.
public enum Checkpoint {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// A file of a checkpoint: its name in the directory and how to write it to a path.
    public struct File {
        public let name: String
        public let write: (String) throws -> Void
        public init(name: String, write: @escaping (String) throws -> Void) {
            self.name = name
            self.write = write
        }
        public init(name: String, bytes: [UInt8]) {
            self.init(name: name) { try writeFileAtomically($0, bytes: bytes) }
        }
    }

    /// Writes `files` into `directory`, replacing an existing one only once the new one is whole.
    public static func writeDirectory(_ directory: String, files: [File]) throws {
        let manager = FileManager.default
        let temporary = directory + ".tmp-\(getpid())"
        try? manager.removeItem(atPath: temporary)
        do {
            try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            for file in files { try file.write(temporary + "/" + file.name) }
        } catch {
            try? manager.removeItem(atPath: temporary)
            throw error as? IOFailure ?? IOFailure("\(temporary): \(error.localizedDescription)")
        }
        // rename(2) cannot replace a non-empty directory: move the old one aside first.
        var old: String?
        if manager.fileExists(atPath: directory) {
            old = directory + ".old-\(getpid())"
            guard rename(directory, old!) == 0 else {
                throw IOFailure("\(directory): cannot move the previous checkpoint aside: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(temporary, directory) == 0 else {
            throw IOFailure("\(directory): cannot rename \(temporary) into place: \(String(cString: strerror(errno)))")
        }
        if let old { try? manager.removeItem(atPath: old) }
    }

    /// `config.json` as `transformers` writes it for LlamaForCausalLM, or for
    /// LlamaForSequenceClassification with a score head: its labels (`num_labels`, `id2label`,
    /// `label2id` as transformers names one label) and `pad_token_id`, which transformers needs
    /// to find each row's last token. Keys sorted.
    public static func configJSON(_ config: LlamaConfig, head: OutputHead = .languageModel, bosTokenId: Int32?,
                                  eosTokenId: Int32?, padTokenId: Int32? = nil) throws -> [UInt8] {
        let encoded = try JSONParser.parse(Array(try JSONEncoder().encode(config)))
        var fields: [(String, JSONValue)] = Array(encoded.object ?? JSONObject())
        fields += [
            ("architectures", [.string(head.architecture)]), ("torch_dtype", "float32"),
            ("attention_bias", false), ("attention_dropout", 0), ("mlp_bias", false), ("pretraining_tp", 1),
            ("rope_scaling", nil), ("use_cache", true), ("head_dim", .number(JSONNumber(config.headDim))),
            ("bos_token_id", bosTokenId.map { .number(JSONNumber(Int($0))) } ?? .null),
            ("eos_token_id", eosTokenId.map { .number(JSONNumber(Int($0))) } ?? .null),
        ]
        if case .score(let labels) = head {
            let names = (0..<labels).map { "LABEL_\($0)" }
            fields += [
                ("num_labels", .number(JSONNumber(labels))),
                ("id2label", .object(JSONObject(names.enumerated().map { ("\($0.offset)", .string($0.element)) }))),
                ("label2id", .object(JSONObject(names.enumerated().map { ($0.element, .number(JSONNumber($0.offset))) }))),
                ("pad_token_id", padTokenId.map { .number(JSONNumber(Int($0))) } ?? .null),
            ]
        }
        return prettyJSON(JSONObject(fields.sorted { $0.0 < $1.0 }))
    }

    /// `generation_config.json`: the token ids generation starts and stops with.
    public static func generationConfigJSON(bosTokenId: Int32?, eosTokenId: Int32?) -> [UInt8] {
        var fields: [(String, JSONValue)] = [("_from_model_config", true)]
        if let bosTokenId { fields.append(("bos_token_id", .number(JSONNumber(Int(bosTokenId))))) }
        if let eosTokenId { fields.append(("eos_token_id", .number(JSONNumber(Int(eosTokenId))))) }
        return prettyJSON(JSONObject(fields))
    }

    /// One key per line, as people read these files; values stay compact.
    public static func prettyJSON(_ object: JSONObject) -> [UInt8] {
        var out = Array("{\n".utf8)
        for (i, (key, value)) in object.enumerated() {
            out += Array("  ".utf8)
            JSONWriter.writeString(key, into: &out)
            out += Array(": ".utf8)
            JSONWriter.write(value, into: &out)
            out += Array((i + 1 < object.count ? ",\n" : "\n").utf8)
        }
        out += Array("}\n".utf8)
        return out
    }

    /// `model.safetensors` for `params`: every tensor under its HF name, F32; none for lm_head when tied
    /// (a score head writes `score.weight` and no lm_head).
    public static func weightsFile(_ params: LlamaParameters) -> File {
        File(name: weightsFile) { path in
            try SafetensorsFile.write(tensors(of: params), metadata: ["format": "pt"], to: path)
        }
    }

    /// Every view of a parameter arena as a tensor to write, named `prefix + HF name`.
    public static func tensors(of params: LlamaParameters, prefix: String = "") -> [SafetensorsFile.Tensor] {
        params.views.map { view in
            SafetensorsFile.Tensor(name: prefix + view.name, shape: view.shape,
                                   values: UnsafeBufferPointer(params.arena[view.name]))
        }
    }

    // MARK: loading

    /// The head `directory/config.json` declares: a score head for LlamaForSequenceClassification
    /// (num_labels, else id2label's size, else transformers' default of 2), else the language-model head.
    public static func loadHead(from directory: String) throws -> OutputHead {
        let path = directory + "/" + configFile
        guard let data = FileManager.default.contents(atPath: path), let json = try? JSONParser.parse(Array(data)) else {
            throw IOFailure("\(path): cannot read as JSON; a checkpoint directory needs config.json and model.safetensors")
        }
        let architectures = json["architectures"]?.array?.compactMap(\.string) ?? []
        guard architectures.contains(OutputHead.scalar.architecture) else { return .languageModel }
        let labels = json["num_labels"]?.int ?? json["id2label"]?.object?.count ?? 2
        guard labels >= 1 else { throw IOFailure("\(path): num_labels is \(labels); a score head needs at least one") }
        return .score(labels: labels)
    }

    /// The model shape in `directory/config.json`.
    public static func loadConfig(from directory: String) throws -> LlamaConfig {
        let path = directory + "/" + configFile
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IOFailure("\(path): cannot read; --init needs a checkpoint directory with config.json and model.safetensors")
        }
        if let type = (try? JSONParser.parse(Array(data)))?["model_type"]?.string, type != "llama" {
            throw IOFailure("\(path): model_type is \"\(type)\"; Lathe loads Llama-family models (model_type \"llama\")")
        }
        let config: LlamaConfig
        do { config = try JSONDecoder().decode(LlamaConfig.self, from: data) } catch {
            throw IOFailure("\(path): not a Llama config: \(error)")
        }
        guard config.problems.isEmpty else { throw IOFailure("\(path): \(config.problems.joined(separator: "; "))") }
        return config
    }

    /// The weights of `directory` (config.json + model.safetensors, F32, F16 or BF16) with the
    /// `head` the caller needs (nil: the checkpoint's own), or an error naming the tensor that is
    /// missing or mis-shaped and the file.
    ///
    /// A causal LM loaded with a score head keeps its trunk, drops lm_head and starts `score.weight`
    /// at normal(0, 1/C) drawn from `seed` (reward training from an SFT model). A sequence
    /// classifier loaded as a causal LM is an error: it has no lm_head to generate with.
    /// A `.gguf` path is read as llama.cpp's file of a causal LM (GGUF import), dequantised to fp32.
    /// Whether `path` names a GGUF file (llama.cpp's format) rather than a checkpoint directory.
    public static func isGGUF(_ path: String) -> Bool { path.hasSuffix(".gguf") }

    public static func loadParameters(from directory: String, head: OutputHead? = .languageModel,
                                      seed: UInt64 = 0) throws -> LlamaParameters {
        let gguf: GGUFFile?
        do { gguf = isGGUF(directory) ? try GGUFFile(path: directory) : nil } catch { throw IOFailure(error.message) }
        let saved = gguf == nil ? try loadHead(from: directory) : .languageModel
        let config: LlamaConfig
        if let gguf {
            do { config = try gguf.llamaConfig() } catch { throw IOFailure(error.message) }
        } else {
            config = try loadConfig(from: directory)
        }
        let wanted = head ?? saved
        if saved != .languageModel && wanted == .languageModel {
            throw IOFailure("\(directory)/\(configFile): a reward model (\(saved.architecture)); a policy needs LlamaForCausalLM. "
                + "Give a causal-LM checkpoint (e.g. the SFT model) here")
        }
        if saved != .languageModel && saved != wanted {
            throw IOFailure("\(directory)/\(configFile): a score head of \(saved) where \(wanted) is needed")
        }
        let params = LlamaParameters(zerosFor: config, head: wanted)
        func fill(except skipped: Set<String>) throws {
            guard let gguf else { return try load(params, from: directory + "/" + weightsFile, except: skipped) }
            do { try gguf.load(into: params, except: skipped) } catch { throw IOFailure(error.message) }
        }
        if saved == wanted {
            try fill(except: [])
        } else {
            try fill(except: ["score.weight"])
            var rng = SplitMix64(seed: seed)
            let score = params["score.weight"], std = 1 / Double(config.hiddenSize).squareRoot()
            for j in score.indices { score[j] = Float(rng.nextGaussian() * std) }
        }
        return params
    }

    /// Fills `params` from a safetensors file holding `prefix + HF name` for each tensor.
    /// Tensors the model does not use are an error (a config that does not match the weights),
    /// except rotary tables older checkpoints carry and lm_head (tied embeddings, or a score head
    /// replacing it). Views named in `skipped` are left as they are.
    public static func load(_ params: LlamaParameters, from path: String, prefix: String = "",
                            except skipped: Set<String> = []) throws {
        let file = try SafetensorsFile(contentsOf: path)
        for view in params.views where !skipped.contains(view.name) {
            let name = prefix + view.name
            guard let entry = file.entries[name] else {
                throw IOFailure("\(path): tensor \(name) is missing (config.json asks for \(params.config.numHiddenLayers) layers"
                    + (params.config.tieWordEmbeddings ? ", tied embeddings)" : ", untied embeddings: lm_head.weight needed)"))
            }
            guard entry.shape == view.shape else {
                throw IOFailure("\(path): tensor \(name) has shape \(entry.shape); config.json implies \(view.shape)")
            }
            try file.read(name, into: params.arena[view.name])
        }
        let known = Set(params.views.map { prefix + $0.name })
        let unused = file.entries.keys.filter {
            $0.hasPrefix(prefix) && !known.contains($0) && !$0.hasSuffix("rotary_emb.inv_freq") && $0 != prefix + "lm_head.weight"
        }
        if let first = unused.sorted().first {
            throw IOFailure("\(path): tensor \(first) (and \(unused.count - 1) more) has no place in the model config.json describes")
        }
    }
}
