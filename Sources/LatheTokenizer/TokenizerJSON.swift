import LatheIO

/// Reading and writing Hugging Face `tokenizer.json`.
///
/// Supported: model `BPE` (no dropout, no subword prefix or suffix, no byte fallback, with
/// or without `ignore_merges`); normalizer `null`; pre-tokenizers `ByteLevel`, `Split` (the
/// GPT-2, Llama 3 and Qwen2 regexes, or a literal string), `Digits` and `Sequence`, ending in
/// `ByteLevel`; post-processors `ByteLevel`, `TemplateProcessing` and `Sequence`; decoder
/// `ByteLevel`. Anything else is refused by name rather than tokenised differently.
extension Tokenizer {
    public convenience init(json: JSONValue) throws(TokenizerError) {
        guard let root = json.object else { throw TokenizerError("tokenizer.json: expected an object at the top level") }

        guard let model = root["model"]?.object else { throw TokenizerError("tokenizer.json: no \"model\" object") }
        let modelType = model["type"]?.string ?? "BPE"
        guard modelType == "BPE" else {
            throw TokenizerError("model type '\(modelType)' is not supported: only byte-level BPE is")
        }
        if let dropout = model["dropout"], !dropout.isNull, dropout.double != 0 {
            throw TokenizerError("BPE dropout \(dropout) is not supported: encoding would be random")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key], !value.isNull, value.string != "" {
                throw TokenizerError("BPE \(key) \(value) is not supported: byte-level BPE has none")
            }
        }
        if model["byte_fallback"]?.bool == true {
            throw TokenizerError("BPE byte_fallback is not supported: that is the SentencePiece family, not byte-level BPE")
        }
        guard let vocabObject = model["vocab"]?.object else { throw TokenizerError("model.vocab: expected an object of token to id") }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(vocabObject.count)
        for (token, value) in zip(vocabObject.keys, vocabObject.values) {
            guard let id = value.int, id >= 0, id <= Int(Int32.max) else {
                throw TokenizerError("model.vocab['\(token)']: expected a non-negative integer id, got \(value)")
            }
            vocab[token] = Int32(id)
        }
        var merges: [(String, String)] = []
        for (k, merge) in (model["merges"]?.array ?? []).enumerated() {
            switch merge {
            case .string(let line):
                if line.hasPrefix("#version") { continue }
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError("model.merges[\(k)] '\(line)': expected two tokens separated by one space") }
                merges.append((String(parts[0]), String(parts[1])))
            case .array(let pair):
                guard pair.count == 2, let a = pair[0].string, let b = pair[1].string else {
                    throw TokenizerError("model.merges[\(k)]: expected a pair of strings")
                }
                merges.append((a, b))
            default:
                throw TokenizerError("model.merges[\(k)]: expected \"a b\" or [\"a\", \"b\"]")
            }
        }
        let unk = model["unk_token"]?.string
        let bpe = try BPEModel(vocab: vocab, merges: merges, unkToken: unk, fuseUnk: model["fuse_unk"]?.bool ?? false,
                               ignoreMerges: model["ignore_merges"]?.bool ?? false)

        var added: [AddedToken] = []
        for (k, entry) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let o = entry.object, let id = o["id"]?.int, let content = o["content"]?.string else {
                throw TokenizerError("added_tokens[\(k)]: expected an object with an integer id and a string content")
            }
            added.append(AddedToken(id: Int32(id), content: content, singleWord: o["single_word"]?.bool ?? false,
                                    lstrip: o["lstrip"]?.bool ?? false, rstrip: o["rstrip"]?.bool ?? false,
                                    normalized: o["normalized"]?.bool ?? false, special: o["special"]?.bool ?? false))
        }

        let normalizer = root["normalizer"] ?? nil
        if !normalizer.isNull && !(normalizer["type"]?.string == "Sequence" && normalizer["normalizers"]?.array?.isEmpty == true) {
            throw TokenizerError("normalizer '\(normalizer["type"]?.string ?? "\(normalizer)")' is not supported: byte-level BPE files have none")
        }

        let preTokenizer = root["pre_tokenizer"] ?? nil
        let steps = try Self.parsePreTokenizer(preTokenizer)
        guard case .byteLevel = steps.last else {
            throw TokenizerError("pre_tokenizer must end with ByteLevel: only byte-level BPE is supported")
        }
        if steps.dropLast().contains(where: { if case .byteLevel = $0 { true } else { false } }) {
            throw TokenizerError("pre_tokenizer: ByteLevel must be the last step, after every split")
        }

        let postProcessor = root["post_processor"] ?? nil
        var prefix: [Int32] = [], suffix: [Int32] = []
        try Self.parsePostProcessor(postProcessor, &prefix, &suffix)

        let decoder = root["decoder"] ?? nil
        try Self.checkDecoder(decoder)

        var options = JSONObject()
        for (key, value) in model where key != "vocab" && key != "merges" { options[key] = value }
        let sections = Sections(version: root["version"] ?? "1.0", truncation: root["truncation"] ?? nil,
                                padding: root["padding"] ?? nil, normalizer: normalizer, preTokenizer: preTokenizer,
                                postProcessor: postProcessor, decoder: decoder, modelOptions: options)
        try self.init(model: bpe, addedTokens: added, steps: steps, templatePrefix: prefix, templateSuffix: suffix,
                      sections: sections)
    }

    /// Reads a `tokenizer.json` file.
    public convenience init(contentsOf path: String) throws(TokenizerError) {
        let bytes: [UInt8]
        do { bytes = try readFile(path) } catch { throw TokenizerError("\(path): \(error)") }
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch { throw TokenizerError("\(path): \(error)") }
        do { try self.init(json: json) } catch { throw TokenizerError("\(path): \(error.message)") }
    }

    static func parsePreTokenizer(_ value: JSONValue) throws(TokenizerError) -> [PreTokenizerStep] {
        guard !value.isNull else { throw TokenizerError("pre_tokenizer is null: byte-level BPE needs a ByteLevel pre-tokenizer") }
        let type = value["type"]?.string ?? "?"
        switch type {
        case "Sequence":
            var steps: [PreTokenizerStep] = []
            for inner in value["pretokenizers"]?.array ?? [] { steps += try parsePreTokenizer(inner) }
            return steps
        case "ByteLevel":
            return [.byteLevel(addPrefixSpace: value["add_prefix_space"]?.bool ?? true, useRegex: value["use_regex"]?.bool ?? true)]
        case "Digits":
            return [.digits(individual: value["individual_digits"]?.bool ?? false)]
        case "Split":
            let pattern: SplitPattern
            if let regex = value["pattern"]?["Regex"]?.string {
                guard let known = SplitPattern(regex: regex) else {
                    throw TokenizerError("Split regex \(JSONValue.string(regex)) is not supported: known regexes are GPT-2's, Llama 3's and Qwen2's")
                }
                pattern = known
            } else if let literal = value["pattern"]?["String"]?.string {
                pattern = .literal(Array(literal.utf8))
            } else {
                throw TokenizerError("Split: expected pattern {\"Regex\": ...} or {\"String\": ...}")
            }
            let name = value["behavior"]?.string ?? "Isolated"
            guard let behavior = SplitBehavior(rawValue: name) else { throw TokenizerError("Split behavior '\(name)' is not known") }
            return [.split(pattern, behavior, invert: value["invert"]?.bool ?? false)]
        default:
            throw TokenizerError("pre_tokenizer '\(type)' is not supported: known are ByteLevel, Split, Digits and Sequence")
        }
    }

    static func parsePostProcessor(_ value: JSONValue, _ prefix: inout [Int32], _ suffix: inout [Int32]) throws(TokenizerError) {
        guard !value.isNull else { return }
        let type = value["type"]?.string ?? "?"
        switch type {
        case "ByteLevel":
            return  // It only trims offsets.
        case "Sequence":
            for inner in value["processors"]?.array ?? [] { try parsePostProcessor(inner, &prefix, &suffix) }
        case "TemplateProcessing":
            var seenSequence = false
            for item in value["single"]?.array ?? [] {
                if let special = item["SpecialToken"] {
                    guard let name = special["id"]?.string, let ids = value["special_tokens"]?[name]?["ids"]?.array else {
                        throw TokenizerError("TemplateProcessing: special token \(special) has no entry in special_tokens")
                    }
                    for id in ids {
                        guard let id = id.int else { throw TokenizerError("TemplateProcessing: special_tokens['\(name)'].ids must be integers") }
                        if seenSequence { suffix.append(Int32(id)) } else { prefix.append(Int32(id)) }
                    }
                } else if item["Sequence"] != nil {
                    seenSequence = true
                } else {
                    throw TokenizerError("TemplateProcessing: unknown template piece \(item)")
                }
            }
        default:
            throw TokenizerError("post_processor '\(type)' is not supported: known are ByteLevel, TemplateProcessing and Sequence")
        }
    }

    static func checkDecoder(_ value: JSONValue) throws(TokenizerError) {
        let type = value.isNull ? "null" : value["type"]?.string ?? "?"
        switch type {
        case "ByteLevel":
            return
        case "Sequence":
            for inner in value["decoders"]?.array ?? [] { try checkDecoder(inner) }
        default:
            throw TokenizerError("decoder '\(type)' is not supported: byte-level BPE decodes with ByteLevel")
        }
    }

    /// The `tokenizer.json` text: the file's own sections as read, the vocabulary in id order
    /// and merges as pairs (the form `tokenizers` 0.20 and later writes). The vocabulary and
    /// merges are streamed out entry by entry: a `JSONObject` looks keys up by linear scan, so
    /// assembling one of 50k entries would take quadratic time.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(model.vocab.count * 24 + model.merges.count * 16)
        func key(_ name: String) {
            if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        out.append(UInt8(ascii: "{"))
        key("version"); JSONWriter.write(sections.version, into: &out)
        key("truncation"); JSONWriter.write(sections.truncation, into: &out)
        key("padding"); JSONWriter.write(sections.padding, into: &out)
        key("added_tokens")
        JSONWriter.write(.array(addedTokens.map { t in
            .object(JSONObject([
                ("id", .number(JSONNumber(Int(t.id)))), ("content", .string(t.content)), ("single_word", .bool(t.singleWord)),
                ("lstrip", .bool(t.lstrip)), ("rstrip", .bool(t.rstrip)), ("normalized", .bool(t.normalized)),
                ("special", .bool(t.special)),
            ]))
        }), into: &out)
        key("normalizer"); JSONWriter.write(sections.normalizer, into: &out)
        key("pre_tokenizer"); JSONWriter.write(sections.preTokenizer, into: &out)
        key("post_processor"); JSONWriter.write(sections.postProcessor, into: &out)
        key("decoder"); JSONWriter.write(sections.decoder, into: &out)
        key("model")
        out.append(UInt8(ascii: "{"))
        key("type"); JSONWriter.write("BPE", into: &out)
        for (name, value) in sections.modelOptions where name != "type" && name != "vocab" && name != "merges" {
            key(name); JSONWriter.write(value, into: &out)
        }
        key("vocab")
        out.append(UInt8(ascii: "{"))
        var entries = Array(model.vocab)
        entries.sort { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }
        for (token, id) in entries {
            key(token)
            out.append(contentsOf: String(id).utf8)
        }
        out.append(UInt8(ascii: "}"))
        key("merges")
        out.append(UInt8(ascii: "["))
        for (k, (a, b)) in model.merges.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONWriter.writeString(a, into: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.writeString(b, into: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "]}}\n".utf8)
        return out
    }

    /// Writes `tokenizer.json` through a temporary file renamed into place.
    public func write(to path: String) throws(TokenizerError) {
        do { try writeFileAtomically(path, jsonBytes()) } catch { throw TokenizerError("\(path): \(error)") }
    }
}
