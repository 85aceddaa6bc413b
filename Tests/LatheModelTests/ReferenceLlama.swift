import LatheModel
import LatheTensor

/// The model spelled out in Double from the kernels' reference paths, parameters by HF name.
/// It shares no code with `Llama` beyond the config, so agreeing with it means something.
struct ReferenceLlama {
    let config: LlamaConfig
    var weights: [String: [Double]]

    /// The same numbers as `params`, widened to Double.
    init(_ params: LlamaParameters) {
        config = params.config
        weights = Dictionary(uniqueKeysWithValues: params.views.map { view in
            (view.name, params[view.name].map { Double($0) })
        })
    }

    /// (B,T,V) logits, or (B,T,labels) scores when the weights have a score head.
    func logits(tokens: [Int32], segments: [Int32], positions: [Int32], batch b: Int, seq t: Int) -> [Double] {
        let c = config.hiddenSize, i = config.intermediateSize, nh = config.numAttentionHeads
        let nkv = config.numKeyValueHeads, hs = config.headDim, n = b * t, eps = config.rmsNormEps
        func w(_ name: String) -> [Double] { weights[name]! }
        func linear(_ x: [Double], _ name: String, _ inDim: Int, _ outDim: Int) -> [Double] {
            Linear.Reference.forward(inp: x, weight: w(name), rows: n, inDim: inDim, outDim: outDim)
        }
        func norm(_ x: [Double], _ name: String) -> [Double] {
            RMSNorm.Reference.forward(inp: x, weight: w(name), rows: n, channels: c, eps: eps)
        }
        var x = Embedding.Reference.forward(tokens: tokens, table: w("model.embed_tokens.weight"), channels: c)
        for l in 0..<config.numHiddenLayers {
            let p = "model.layers.\(l)."
            let h1 = norm(x, p + "input_layernorm.weight")
            let q = RoPE.Reference.forward(linear(h1, p + "self_attn.q_proj.weight", c, nh * hs), positions: positions,
                                           heads: nh, headDim: hs, theta: config.ropeTheta)
            let k = RoPE.Reference.forward(linear(h1, p + "self_attn.k_proj.weight", c, nkv * hs), positions: positions,
                                           heads: nkv, headDim: hs, theta: config.ropeTheta)
            let v = linear(h1, p + "self_attn.v_proj.weight", c, nkv * hs)
            let att = Attention.Reference.forward(q: q, k: k, v: v, segments: segments, batch: b, seq: t, heads: nh,
                                                  kvHeads: nkv, headDim: hs)
            x = zip(x, linear(att, p + "self_attn.o_proj.weight", nh * hs, c)).map(+)
            let h2 = norm(x, p + "post_attention_layernorm.weight")
            let gated = SwiGLU.Reference.forward(gate: linear(h2, p + "mlp.gate_proj.weight", c, i),
                                                 up: linear(h2, p + "mlp.up_proj.weight", c, i))
            x = zip(x, linear(gated, p + "mlp.down_proj.weight", i, c)).map(+)
        }
        if let score = weights["score.weight"] {
            return linear(norm(x, "model.norm.weight"), "score.weight", c, score.count / c)
        }
        let head = config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"
        return linear(norm(x, "model.norm.weight"), head, c, config.vocabSize)
    }

    func loss(tokens: [Int32], segments: [Int32], positions: [Int32], targets: [Int32], mask: [Double],
              batch b: Int, seq t: Int) -> Double {
        CrossEntropy.Reference.forward(logits: logits(tokens: tokens, segments: segments, positions: positions, batch: b, seq: t),
                                       targets: targets, mask: mask, vocab: config.vocabSize)
    }
}
