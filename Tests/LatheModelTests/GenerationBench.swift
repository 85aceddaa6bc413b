import Foundation
import Testing
import LatheModel
import LatheTensor

@Suite("GenerationBench") struct GenerationBench {
    // Opt-in (LATHE_BENCH=1, release): greedy decoding of 256 new tokens for 8 prompts of 16 tokens
    // with the KV cache, beside the same tokens from full recomputation (the training forward over
    // the whole sequence at every step). Prints tokens/s of both and their ratio.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LATHE_BENCH"] != nil), .serialized,
          arguments: ["tiny", "small"])
    func kvCacheVersusFullRecomputation(preset: String) throws {
        let config = LlamaConfig.preset(named: preset)!
        let b = 8, prompt = 16, new = 256
        let params = LlamaParameters(config: config, seed: 1)
        var rng = SplitMix64(seed: 2)
        let prompts = (0..<b).map { _ in (0..<prompt).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) } }

        let generator = Generator(params: params, slots: b, capacity: prompt + new)
        let t0 = monotonicSeconds()
        let cached = try generator.generate(prompts: prompts, options: .init(temperature: 0, maxNewTokens: new))
        let cachedSeconds = monotonicSeconds() - t0

        let model = Llama(params: params, maxBatch: b, maxSeq: prompt + new)
        var sequences = prompts
        let t1 = monotonicSeconds()
        for _ in 0..<new {
            let t = sequences[0].count
            model.forward(tokens: sequences.flatMap { $0 }, batch: b, seq: t)
            for row in 0..<b {
                let logits = UnsafeBufferPointer(start: model.acts.logits + (row * t + t - 1) * config.vocabSize,
                                                 count: config.vocabSize)
                sequences[row].append(Sampler.argmax(logits))
            }
        }
        let fullSeconds = monotonicSeconds() - t1
        let agree = zip(cached, sequences).filter { $0.tokens == Array($1.dropFirst(prompt)) }.count
        print(String(format: "generate %@ B=%d prompt=%d new=%d: KV cache %.0f tokens/s, full recomputation %.0f tokens/s, "
                     + "ratio %.1fx; %d/%d sequences identical; %@", preset, b, prompt, new,
                     Double(b * new) / cachedSeconds, Double(b * new) / fullSeconds, fullSeconds / cachedSeconds, agree, b,
                     BLAS.describe()))
        #expect(cachedSeconds > 0)
    }
}
