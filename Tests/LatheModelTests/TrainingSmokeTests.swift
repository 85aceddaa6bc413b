import Foundation
import Testing
import LatheModel
import LatheTensor

@Suite("Training smoke") struct TrainingSmokeTests {
    // Plain SGD on one packed batch must drive the loss down: forward, loss, backward and the
    // gradient layout have to agree for that to happen.
    @Test func sgdOnOneBatchLowersTheLoss() {
        let config = LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 64)
        let (b, t) = (2, 16)
        let model = Llama(config: config, maxBatch: b, maxSeq: t, seed: 1)
        var rng = SplitMix64(seed: 2)
        let tokens = (0..<(b * t)).map { _ in Int32(rng.next() % 64) }
        let segments = (0..<(b * t)).map { Int32(($0 % t) / 10) }
        let targets = (0..<(b * t)).map { j in j % t == t - 1 || segments[j] != segments[j + 1] ? -100 : tokens[j + 1] }
        var losses: [Float] = []
        for _ in 0..<30 {
            model.forward(tokens: tokens, segments: segments, batch: b, seq: t)
            losses.append(model.crossEntropy(targets: targets).loss)
            model.zeroGradients()
            model.backward()
            let p = model.params.flat, g = model.grads.flat
            for j in p.indices { p[j] -= 0.5 * g[j] }
        }
        #expect(abs(losses[0] - logf(64)) < 0.2, "an untrained model should be near uniform, got \(losses[0])")
        #expect(losses.last! < 0.5 * losses[0], "losses \(losses)")
    }

    // bf16 products with fp32 master weights follow the fp32 run: over 20 SGD steps every loss
    // is within 2% of fp32's, and the first step's gradient within bf16's error of fp32's.
    @Test func bf16LossCurveFollowsFP32() {
        let config = LlamaConfig(vocabSize: 64, hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 64)
        let (b, t) = (2, 32)
        var rng = SplitMix64(seed: 5)
        let tokens = (0..<(b * t)).map { _ in Int32(rng.next() % 64) }
        let targets = (0..<(b * t)).map { j in j % t == t - 1 ? -100 : tokens[j + 1] }
        var curves: [[Float]] = [], firstGradients: [[Float]] = []
        for precision in [MatmulPrecision.fp32, .bf16] {
            let model = Llama(config: config, maxBatch: b, maxSeq: t, seed: 1)
            model.precision = precision
            var losses: [Float] = []
            for step in 0..<20 {
                model.forward(tokens: tokens, batch: b, seq: t)
                losses.append(model.crossEntropy(targets: targets).loss)
                model.zeroGradients()
                model.backward()
                let p = model.params.flat, g = model.grads.flat
                if step == 0 { firstGradients.append(Array(g)) }
                // a step small enough to keep training smooth: at 0.5 (and still at 0.05) this
                // one-batch descent has bumps, where any rounding difference shifts the trajectory
                for j in p.indices { p[j] -= 0.02 * g[j] }
            }
            curves.append(losses)
        }
        #expect(curves[0].last! < 0.95 * curves[0][0], "fp32 losses \(curves[0])")
        for (fp32, bf16) in zip(curves[0], curves[1]) {
            #expect(abs(bf16 - fp32) <= 0.02 * fp32, "fp32 \(curves[0]) bf16 \(curves[1])")
        }
        #expect(curves[0] != curves[1], "the bf16 run rounded nothing")
        let error = GradientCheck.relativeError(firstGradients[1].map(Double.init), firstGradients[0].map(Double.init))
        #expect(error > 1e-5 && error < 3e-2, "gradient relative error \(error)")
    }

    // Training's bf16 products on AMX tiles and on rounded copies through sgemm differ only in the
    // order of their fp32 sums. Through the layers that moves some later roundings to the
    // neighbouring bf16 value, as nudging every weight by one fp32 ulp does (measured: AMX vs
    // sgemm 2.3e-3, the nudge 2.7e-3, bf16 vs fp32 5.3e-3); a wrong product would be off by O(1).
    // The products here are big enough to be split across the workers.
    @Test(.enabled(if: BF16Matmul.usesAMX, "this CPU has no AMX")) func bf16GradientsAgreeOnBothKernels() {
        let config = LlamaConfig(vocabSize: 512, hiddenSize: 128, intermediateSize: 352, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 128)
        let (b, t) = (4, 128)
        var rng = SplitMix64(seed: 9)
        let tokens = (0..<(b * t)).map { _ in Int32(rng.next() % 512) }
        let targets = (0..<(b * t)).map { j in j % t == t - 1 ? -100 : tokens[j + 1] }
        func gradients(_ precision: MatmulPrecision, amx: Bool, nudge: Bool = false) -> [Double] {
            BF16Matmul.disableAMX(!amx)
            defer { BF16Matmul.disableAMX(false) }
            let model = Llama(config: config, maxBatch: b, maxSeq: t, seed: 2)
            if nudge { let p = model.params.flat; for j in p.indices { p[j] = p[j].nextUp } }
            model.precision = precision
            model.forward(tokens: tokens, batch: b, seq: t)
            model.crossEntropy(targets: targets)
            model.zeroGradients()
            model.backward()
            return model.grads.flat.map(Double.init)
        }
        let fp32 = gradients(.fp32, amx: true), tiles = gradients(.bf16, amx: true), copies = gradients(.bf16, amx: false)
        let fromFP32 = GradientCheck.relativeError(copies, fp32), between = GradientCheck.relativeError(tiles, copies)
        let nudged = GradientCheck.relativeError(gradients(.bf16, amx: false, nudge: true), copies)
        #expect(fromFP32 > 1e-3 && between < 2 * nudged && between < fromFP32,
                "AMX vs sgemm \(between), one ulp's nudge \(nudged), bf16 vs fp32 \(fromFP32)")
    }

    // Opt-in timing of full training steps at preset sizes: LATHE_BENCH=1, release build.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LATHE_BENCH"] != nil), .serialized,
          arguments: [("tiny", 8, 256), ("small", 4, 512), ("smollm2-135m", 2, 512)], [MatmulPrecision.fp32, .bf16])
    func stepThroughput(preset: (String, Int, Int), precision: MatmulPrecision) {
        let (preset, b, t) = preset
        let config = LlamaConfig.preset(named: preset)!
        let model = Llama(config: config, maxBatch: b, maxSeq: t, seed: 1)
        model.precision = precision
        var rng = SplitMix64(seed: 3)
        let tokens = (0..<(b * t)).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        let targets = Array(tokens.dropFirst()) + [-100]
        var times: [Double] = []
        var phases = [0.0, 0.0, 0.0]
        for _ in 0..<4 {
            let t0 = monotonicSeconds()
            model.forward(tokens: tokens, batch: b, seq: t)
            let t1 = monotonicSeconds()
            model.crossEntropy(targets: targets)
            let t2 = monotonicSeconds()
            model.zeroGradients()
            model.backward()
            let t3 = monotonicSeconds()
            times.append(t3 - t0)
            phases = [t1 - t0, t2 - t1, t3 - t2]
        }
        let best = times.dropFirst().min()!
        let flops = model.trainingFlops(tokens: b * t, seq: t)
        print(String(format: "%@ %@ B=%d T=%d: %.3f s/step, %.0f tokens/s, %.1f GFLOP/s (fwd %.3f, loss %.3f, bwd %.3f s), activations %.2f GB; %@",
                     preset, precision.rawValue, b, t, best, Double(b * t) / best, flops / best / 1e9, phases[0], phases[1], phases[2],
                     Double(model.acts.bytes) / 1e9, BLAS.describe()))
        #expect(best > 0)
    }
}
