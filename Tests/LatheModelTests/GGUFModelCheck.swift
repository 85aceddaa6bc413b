import Foundation
import Testing
import LatheModel
import LatheIO
import LatheTokenizer

@Suite("GGUFModelCheck") struct GGUFModelCheck {
    // Opt-in, run by scripts/check_gguf_model.py: LATHE_GGUF_MODEL=file.gguf LATHE_GGUF_OUT=out.json.
    // Tokenises LATHE_GGUF_TEXT with the file's own tokenizer, writes the ids, the log-probability of
    // each token given those before it (full forward) and 16 greedy tokens (KV-cache decoding).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LATHE_GGUF_MODEL"] != nil))
    func logProbabilitiesAndGreedyContinuation() throws {
        let env = ProcessInfo.processInfo.environment
        let gguf = try GGUFFile(path: env["LATHE_GGUF_MODEL"]!)
        let params = try gguf.llamaParameters()
        let tokenizer = try Tokenizer(json: try JSONParser.parse(try gguf.tokenizer().json))
        let text = env["LATHE_GGUF_TEXT"] ?? "<|im_start|>user\nWhat is 12 + 345?<|im_end|>\n<|im_start|>assistant\n"
        let ids = tokenizer.encode(text)
        let model = Llama(params: params, maxBatch: 1, maxSeq: ids.count)
        model.forward(tokens: ids, batch: 1, seq: ids.count)
        let v = params.config.vocabSize
        var logProbabilities: [JSONValue] = []
        for t in 1..<ids.count {
            let row = UnsafeBufferPointer(start: model.acts.logits + (t - 1) * v, count: v)
            logProbabilities.append(.number(JSONNumber(Sampler.logProbability(row, of: ids[t]))!))
        }
        let generator = Generator(params: params, slots: 1, capacity: ids.count + 16)
        let greedy = try generator.generate(prompts: [ids], options: .init(temperature: 0, maxNewTokens: 16))[0]
        let out = JSONValue.object(JSONObject([
            ("ids", .array(ids.map { .number(JSONNumber(Int($0))) })),
            ("logprobs", .array(logProbabilities)),
            ("greedy", .array(greedy.tokens.map { .number(JSONNumber(Int($0))) })),
            ("greedy_text", .string(tokenizer.decode(greedy.tokens))),
        ]))
        try JSONWriter.string(out).write(toFile: env["LATHE_GGUF_OUT"] ?? "/dev/stdout", atomically: true, encoding: .utf8)
    }
}
