import LatheIO

/// Reading a Llama-family model out of a GGUF file: its shape from the `llama.*` metadata,
/// its weights under Hugging Face names, and its tokenizer as a `tokenizer.json`.
extension GGUFFile {
    public var architecture: String? { self["general.architecture"]?.string }

    /// The model's shape. `output.weight` absent means the output is tied to the embedding.
    public func llamaConfig() throws(GGUFError) -> LlamaConfig {
        guard let arch = architecture else { throw GGUFError("\(path): no general.architecture; is this a model file?") }
        guard arch == "llama" else {
            throw GGUFError("\(path): architecture \"\(arch)\" is not supported; Lathe reads the Llama family (\"llama\")")
        }
        func integer(_ key: String, default value: Int? = nil) throws(GGUFError) -> Int {
            if let v = self["llama." + key] {
                guard let i = v.int else { throw GGUFError("\(path): llama.\(key) is \(v); expected one integer") }
                return i
            }
            guard let value else { throw GGUFError("\(path): llama.\(key) is missing") }
            return value
        }
        func real(_ key: String, default value: Double) throws(GGUFError) -> Double {
            guard let v = self["llama." + key] else { return value }
            guard let d = v.double else { throw GGUFError("\(path): llama.\(key) is \(v); expected a number") }
            return d
        }
        if let scaling = self["llama.rope.scaling.type"]?.string, scaling != "none" {
            throw GGUFError("\(path): RoPE scaling \"\(scaling)\" is not supported; Lathe implements plain RoPE")
        }
        if tensorInfo("rope_freqs.weight") != nil {
            throw GGUFError("\(path): rope_freqs.weight (Llama 3.1 frequency scaling) is not supported")
        }
        let heads = try integer("attention.head_count")
        let embedding = try integer("embedding_length")
        guard let vocab = self["llama.vocab_size"]?.int ?? self["tokenizer.ggml.tokens"]?.array?.count
            ?? tensorInfo("token_embd.weight")?.shape.first else {
            throw GGUFError("\(path): no llama.vocab_size, tokenizer.ggml.tokens or token_embd.weight to size the vocabulary")
        }
        let config = LlamaConfig(vocabSize: vocab, hiddenSize: embedding,
                                 intermediateSize: try integer("feed_forward_length"),
                                 numHiddenLayers: try integer("block_count"), numAttentionHeads: heads,
                                 numKeyValueHeads: try integer("attention.head_count_kv", default: heads),
                                 ropeTheta: try real("rope.freq_base", default: 10_000),
                                 rmsNormEps: try real("attention.layer_norm_rms_epsilon", default: 1e-5),
                                 maxPositionEmbeddings: try integer("context_length", default: 2048),
                                 tieWordEmbeddings: tensorInfo("output.weight") == nil)
        if let problem = config.problems.first { throw GGUFError("\(path): \(problem)") }
        if let ropeDims = self["llama.rope.dimension_count"]?.int, ropeDims != config.headDim {
            throw GGUFError("\(path): llama.rope.dimension_count \(ropeDims) differs from the head size \(config.headDim); partial RoPE is not supported")
        }
        return config
    }

    /// GGUF tensor name → Hugging Face name, for one model shape.
    public static func huggingFaceNames(_ config: LlamaConfig) -> [(gguf: String, hf: String)] {
        var names = [("token_embd.weight", "model.embed_tokens.weight")]
        for l in 0..<config.numHiddenLayers {
            let g = "blk.\(l).", h = "model.layers.\(l)."
            names += [(g + "attn_q.weight", h + "self_attn.q_proj.weight"), (g + "attn_k.weight", h + "self_attn.k_proj.weight"),
                      (g + "attn_v.weight", h + "self_attn.v_proj.weight"), (g + "attn_output.weight", h + "self_attn.o_proj.weight"),
                      (g + "ffn_gate.weight", h + "mlp.gate_proj.weight"), (g + "ffn_up.weight", h + "mlp.up_proj.weight"),
                      (g + "ffn_down.weight", h + "mlp.down_proj.weight"), (g + "attn_norm.weight", h + "input_layernorm.weight"),
                      (g + "ffn_norm.weight", h + "post_attention_layernorm.weight")]
        }
        names.append(("output_norm.weight", "model.norm.weight"))
        if !config.tieWordEmbeddings { names.append(("output.weight", "lm_head.weight")) }
        return names
    }

    /// Every weight dequantised to fp32 under its Hugging Face name, with llama.cpp's Q/K row
    /// permutation undone so Lathe's (Hugging Face) rotary convention computes the same model.
    public func llamaParameters(config given: LlamaConfig? = nil) throws(GGUFError) -> LlamaParameters {
        let config: LlamaConfig
        if let given { config = given } else { config = try llamaConfig() }
        let params = LlamaParameters(zerosFor: config)
        try load(into: params)
        return params
    }

    /// Fills every view of `params` (made for this file's shape) that the file holds, except
    /// those named in `skipped`: a score head has no counterpart in a causal LM's file, and the
    /// file's lm_head (output.weight) is left out when `params` has none.
    public func load(into params: LlamaParameters, except skipped: Set<String> = []) throws(GGUFError) {
        let config = params.config
        let views = Set(params.views.map(\.name))
        for (gguf, hf) in Self.huggingFaceNames(config) where views.contains(hf) && !skipped.contains(hf) {
            guard let info = tensorInfo(gguf) else { throw GGUFError("\(path): tensor \(gguf) is missing (needed for \(hf))") }
            let target = params[hf]
            let expected = params.views.first { $0.name == hf }!.shape
            guard info.shape == expected else {
                throw GGUFError("\(path): tensor \(gguf) has shape \(info.shape); the metadata implies \(expected) for \(hf)")
            }
            try read(gguf, into: target.baseAddress!)
            if gguf.hasSuffix("attn_q.weight") || gguf.hasSuffix("attn_k.weight") {
                let heads = gguf.hasSuffix("attn_q.weight") ? config.numAttentionHeads : config.numKeyValueHeads
                Self.unpermuteRotaryRows(target.baseAddress!, heads: heads, headDim: config.headDim, columns: config.hiddenSize)
            }
        }
    }

    /// llama.cpp's converter stores each head's rows interleaved, (hs/2, 2), so that its rotary
    /// kernel pairs rows 2i and 2i+1; Hugging Face pairs i and i + hs/2. Row 2i + j of a head
    /// (j = 0, 1) goes back to row j·hs/2 + i. w is (heads·hs, columns), rearranged in place.
    public static func unpermuteRotaryRows(_ w: UnsafeMutablePointer<Float>, heads: Int, headDim hs: Int, columns c: Int) {
        let copy = [Float](UnsafeBufferPointer(start: w, count: heads * hs * c))
        for h in 0..<heads {
            for i in 0..<hs / 2 {
                for j in 0..<2 {
                    let from = h * hs + 2 * i + j, to = h * hs + j * hs / 2 + i
                    copy.withUnsafeBufferPointer { (w + to * c).update(from: $0.baseAddress! + from * c, count: c) }
                }
            }
        }
    }
}

// MARK: tokenizer

/// The tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata.
public struct GGUFTokenizer: Sendable {
    /// A Hugging Face `tokenizer.json` (byte-level BPE) that LatheTokenizer reads.
    public let json: [UInt8]
    /// The pre-tokenizer llama.cpp names (`tokenizer.ggml.pre`), e.g. "smollm", "llama-bpe".
    public let preTokenizer: String
    /// tokenizer.ggml.bos_token_id, eos_token_id, eot_token_id, unknown_token_id, padding_token_id, when present.
    public let specialIds: [String: Int]
    public let addBOS: Bool
    public let chatTemplate: String?
}

extension GGUFFile {
    /// Splitting rules by llama.cpp's pre-tokenizer name, as Hugging Face pre-tokenizer steps.
    static func preTokenizerJSON(_ name: String) -> String? {
        let byteLevel = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#
        let byteLevelNoRegex = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}"#
        func split(_ regex: String) -> String {
            var pattern: [UInt8] = []
            JSONWriter.writeString(regex, into: &pattern)
            return #"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"# + String(decoding: pattern, as: UTF8.self)
                + #"},"behavior":"Isolated","invert":false},"# + byteLevelNoRegex + "]}"
        }
        switch name {
        case "gpt2", "gpt-2", "mpt", "olmo", "jais":
            return byteLevel
        // llama.cpp splits every digit, then applies GPT-2's regex.
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva":
            return #"{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},"# + byteLevel + "]}"
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral":
            return split(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#)
        case "qwen2", "stablelm2", "deepseek-r1-qwen":
            return split(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#)
        default:
            return nil
        }
    }

    /// The tokenizer of this file. Only llama.cpp's "gpt2" model (byte-level BPE) is supported.
    public func tokenizer() throws(GGUFError) -> GGUFTokenizer {
        let model = self["tokenizer.ggml.model"]?.string ?? "(none)"
        guard model == "gpt2" else {
            throw GGUFError("\(path): tokenizer.ggml.model is \"\(model)\"; Lathe reads byte-level BPE (\"gpt2\") only")
        }
        guard let tokenValues = self["tokenizer.ggml.tokens"]?.array else { throw GGUFError("\(path): tokenizer.ggml.tokens is missing") }
        let tokens = tokenValues.map { $0.string ?? "" }
        let types = self["tokenizer.ggml.token_type"]?.array?.map { $0.int ?? 1 } ?? []
        let merges = (self["tokenizer.ggml.merges"]?.array ?? []).compactMap(\.string)
        // Without a name (or named "default") llama.cpp splits with four rules of its own (runs of
        // punctuation first, numbers in threes), which match no model's own tokenizer; it warns that
        // quality will suffer. Lathe refuses rather than tokenise differently from llama.cpp.
        guard let pre = self["tokenizer.ggml.pre"]?.string, pre != "default" else {
            throw GGUFError("\(path): tokenizer.ggml.pre is \(self["tokenizer.ggml.pre"] == nil ? "missing" : "\"default\""), so llama.cpp "
                            + "would split text with its fallback rules, which Lathe does not reproduce; re-convert the model with a "
                            + "recent llama.cpp (convert_hf_to_gguf.py names the pre-tokenizer)")
        }
        guard let preJSON = Self.preTokenizerJSON(pre) else {
            throw GGUFError("\(path): tokenizer.ggml.pre \"\(pre)\" is not known to Lathe; known are gpt2, smollm, starcoder, "
                            + "llama-bpe, qwen2 and their aliases")
        }
        var special: [String: Int] = [:]
        for name in ["bos", "eos", "eot", "unknown", "padding"] {
            if let id = self["tokenizer.ggml.\(name)_token_id"]?.int { special[name] = id }
        }
        let addBOS = self["tokenizer.ggml.add_bos_token"].map { $0 == .bool(true) } ?? false

        var out: [UInt8] = []
        out.reserveCapacity(tokens.count * 24 + merges.count * 16)
        func raw(_ s: String) { out += Array(s.utf8) }
        func str(_ s: String) { JSONWriter.writeString(s, into: &out) }
        raw(#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":["#)
        var first = true
        // token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
        for (id, type) in types.enumerated() where type == 3 || type == 4 {
            raw(first ? "" : ",")
            first = false
            raw(#"{"id":\#(id),"content":"#)
            str(tokens[id])
            raw(#","single_word":false,"lstrip":false,"rstrip":false,"normalized":\#(type == 4),"special":\#(type == 3)}"#)
        }
        raw(#"],"normalizer":null,"pre_tokenizer":"#)
        raw(preJSON)
        raw(#","post_processor":"#)
        if addBOS, let bos = special["bos"], bos < tokens.count {
            var name: [UInt8] = []
            JSONWriter.writeString(tokens[bos], into: &name)
            let n = String(decoding: name, as: UTF8.self)
            raw(#"{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":\#(n),"type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"#
                + #""pair":[{"SpecialToken":{"id":\#(n),"type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":\#(n),"type_id":1}},{"Sequence":{"id":"B","type_id":1}}],"#
                + #""special_tokens":{\#(n):{"id":\#(n),"ids":[\#(bos)],"tokens":[\#(n)]}}}"#)
        } else {
            raw(#"{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}"#)
        }
        raw(#","decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},"#)
        // llama.cpp looks whole pieces up before merging for Llama 3's tokenizer, as HF's ignore_merges does.
        let ignoreMerges = ["llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"].contains(pre)
        raw(#""model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"#
            + #""end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":\#(ignoreMerges),"vocab":{"#)
        for (id, token) in tokens.enumerated() {
            if id > 0 { raw(",") }
            str(token)
            raw(":\(id)")
        }
        raw(#"},"merges":["#)
        for (k, merge) in merges.enumerated() {
            if k > 0 { raw(",") }
            str(merge)
        }
        raw("]}}")
        return GGUFTokenizer(json: out, preTokenizer: pre, specialIds: special, addBOS: addBOS,
                             chatTemplate: self["tokenizer.chat_template"]?.string)
    }
}
