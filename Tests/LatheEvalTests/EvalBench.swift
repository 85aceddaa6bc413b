import Foundation
import Testing
import LatheEval
import LatheIO
import LatheModel
import LatheTensor

@Suite("EvalBench") struct EvalBench {
    // Opt-in (bench/eval.sh sets LATHE_BENCH_OUT, release): the scoring forward on the SmolLM2-135M
    // shape with random weights, SEQUENCES (default 16) rows of 256 inputs in batches of 8. Writes
    // the checkpoint and the tokens for bench/eval_torch.py, and key=value lines (tokens/s of fp32
    // and bf16 weights, and of bf16 widened where bf16 runs on tiles; Σ log p of each sequence; an
    // sgemm measured in the same process).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LATHE_BENCH_OUT"] != nil))
    func scoringForwardOnTheSmolLM2Shape() throws {
        let environment = ProcessInfo.processInfo.environment
        let out = environment["LATHE_BENCH_OUT"]!
        let count = Int(environment["SEQUENCES"] ?? "") ?? 16
        let config = LlamaConfig.smolLM2_135M
        let (batch, seq) = (8, 256)
        let params = LlamaParameters(config: config, seed: 1)
        try Checkpoint.writeDirectory(out + "/model", files: [
            Checkpoint.File(name: Checkpoint.configFile, bytes: try Checkpoint.configJSON(config, bosTokenId: nil, eosTokenId: nil)),
            Checkpoint.weightsFile(params),
        ])
        var rng = SplitMix64(seed: 2)
        let rows = (0..<count).map { _ in (0...seq).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) } }
        try writeFileAtomically(out + "/tokens.json", bytes: Array(("[" + rows.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }
            .joined(separator: ",\n") + "]\n").utf8))
        let sequences = rows.map { ScoredSequence(inputs: Array($0.dropLast()), targets: Array($0.dropFirst())) }

        let c = config.hiddenSize, qd = config.numAttentionHeads * config.headDim
        let matrices = config.numHiddenLayers * (2 * c * qd + 2 * c * config.kvDim + 3 * c * config.intermediateSize)
            + config.vocabSize * c
        // 2 per weight of every product (lm_head included) + attention's q·kᵀ and p·v over the full T×T
        let flopsPerToken = 2 * matrices + 4 * config.numHiddenLayers * seq * qd
        var lines = ["sequences=\(count)", "batch=\(batch)", "seq=\(seq)", "flops_per_token=\(flopsPerToken)",
                     "blas=\(BLAS.describe())"]
        // bf16 as --dtype bf16 runs it here, and (where that is tiles) the widening path beside it.
        let forms: [(String, InferenceWeights.Form)] = [("fp32", .fp32), ("bf16", .of(.bf16))]
            + (InferenceWeights.Form.of(.bf16) == .bf16Widened ? [] : [("bf16_widened", .bf16Widened)])
        lines.append("bf16_kernel=\(BF16Matmul.kernel)")
        for (name, form) in forms {
            let scorer = SequenceScorer(weights: InferenceWeights(params, form: form), batchSize: batch, maxSeq: seq)
            _ = scorer.score(Array(sequences.prefix(batch)))
            let start = monotonicSeconds()
            let scores = scorer.score(sequences)
            let seconds = monotonicSeconds() - start
            lines.append("\(name)_tokens_per_second=\(Double(count * seq) / seconds)")
            lines.append("\(name)_logp=" + scores.map { String($0) }.joined(separator: ","))
        }
        lines.append("sgemm_gflops=\(BLAS.measureSgemm(n: 1024))")
        try writeFileAtomically(out + "/lathe.txt", bytes: Array((lines.joined(separator: "\n") + "\n").utf8))
        print(lines.filter { !$0.contains("_logp=") }.joined(separator: "\n"))
    }
}
