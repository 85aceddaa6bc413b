/// The shape of a Llama-family decoder. Each field is the Hugging Face `config.json` key of
/// `LlamaForCausalLM` in camel case (`hiddenSize` is `hidden_size`), and Codable reads and
/// writes those keys, so a config.json from the Hub decodes directly; keys Lathe has no use
/// for are ignored, and a missing key takes the transformers default.
public struct LlamaConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var ropeTheta: Double = 10_000
    public var rmsNormEps: Double = 1e-5
    public var maxPositionEmbeddings: Int = 2048
    public var tieWordEmbeddings: Bool = false
    /// Standard deviation of the normal initialisation of every matrix (norm weights start at 1).
    public var initializerRange: Double = 0.02

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
                numAttentionHeads: Int, numKeyValueHeads: Int? = nil, ropeTheta: Double = 10_000,
                rmsNormEps: Double = 1e-5, maxPositionEmbeddings: Int = 2048, tieWordEmbeddings: Bool = false,
                initializerRange: Double = 0.02) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        self.ropeTheta = ropeTheta
        self.rmsNormEps = rmsNormEps
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.initializerRange = initializerRange
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Width of k and v: numKeyValueHeads · headDim.
    public var kvDim: Int { numKeyValueHeads * headDim }

    /// Reasons this shape cannot be built, empty when it can.
    public var problems: [String] {
        var problems: [String] = []
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                              ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                              ("num_key_value_heads", numKeyValueHeads), ("max_position_embeddings", maxPositionEmbeddings)]
            where value <= 0 {
            problems.append("\(name) is \(value); it must be positive")
        }
        if numAttentionHeads > 0 && hiddenSize % numAttentionHeads != 0 {
            problems.append("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        } else if numAttentionHeads > 0 && headDim % 2 != 0 {
            problems.append("head dimension \(headDim) is odd; rotary embeddings pair dimensions")
        }
        if numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads != 0 {
            problems.append("num_key_value_heads \(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        return problems
    }

    // MARK: presets

    public static let tiny = LlamaConfig(vocabSize: 4096, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4,
                                         numAttentionHeads: 4, maxPositionEmbeddings: 1024)
    public static let small = LlamaConfig(vocabSize: 8192, hiddenSize: 512, intermediateSize: 1376, numHiddenLayers: 8,
                                          numAttentionHeads: 8, maxPositionEmbeddings: 2048)
    /// The shape of HuggingFaceTB/SmolLM2-135M.
    public static let smolLM2_135M = LlamaConfig(vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536,
                                                 numHiddenLayers: 30, numAttentionHeads: 9, numKeyValueHeads: 3,
                                                 ropeTheta: 100_000, maxPositionEmbeddings: 8192, tieWordEmbeddings: true)

    public static let presets: [(name: String, config: LlamaConfig)] = [
        ("tiny", tiny), ("small", small), ("smollm2-135m", smolLM2_135M),
    ]

    /// The preset called `name` ("tiny", "small", "smollm2-135m"), or nil.
    public static func preset(named name: String) -> LlamaConfig? {
        presets.first { $0.name == name.lowercased() }?.config
    }

    // MARK: config.json

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
        case maxPositionEmbeddings = "max_position_embeddings", tieWordEmbeddings = "tie_word_embeddings"
        case initializerRange = "initializer_range", modelType = "model_type", hiddenAct = "hidden_act"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let heads = try c.decode(Int.self, forKey: .numAttentionHeads)
        self.init(vocabSize: try c.decode(Int.self, forKey: .vocabSize),
                  hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
                  numHiddenLayers: try c.decode(Int.self, forKey: .numHiddenLayers),
                  numAttentionHeads: heads,
                  numKeyValueHeads: try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? heads,
                  ropeTheta: try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10_000,
                  rmsNormEps: try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6,
                  maxPositionEmbeddings: try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048,
                  tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false,
                  initializerRange: try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? 0.02)
        if let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct), act != "silu" {
            throw DecodingError.dataCorruptedError(forKey: .hiddenAct, in: c,
                debugDescription: "hidden_act is \"\(act)\"; Lathe's Llama implements only \"silu\" (SwiGLU)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("llama", forKey: .modelType)
        try c.encode("silu", forKey: .hiddenAct)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(initializerRange, forKey: .initializerRange)
    }
}
