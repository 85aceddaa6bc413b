// Bench-only: times Lathe training steps for bench/train.sh. Not part of the product.
//   swift run -c release bench-train CONFIG BATCH SEQ STEPS [fp32|bf16]
// Prints key=value lines: tokens/s over the steps after the first, achieved FLOP/s, the loss
// of every step, peak RSS and the memory estimate. The optimiser is AdamW (lr 1e-3, betas
// 0.9/0.999, eps 1e-8, weight decay 0.01 on matrices), as bench/train_torch.py uses.
import LatheModel
import LatheTensor
import LatheTrain
#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
guard args.count >= 5, let config = LlamaConfig.preset(named: args[1]),
      let b = Int(args[2]), let t = Int(args[3]), let steps = Int(args[4]), steps >= 2 else {
    print("usage: bench-train tiny|small|smollm2-135m BATCH SEQ STEPS [fp32|bf16] [sgemm]")
    exit(2)
}
let dtypeName = args.count > 5 ? args[5] : "fp32"
guard let dtype = MatmulPrecision(rawValue: dtypeName) else {
    print("bench-train: dtype must be fp32 or bf16, found \(dtypeName)")
    exit(2)
}

let model = Llama(config: config, maxBatch: b, maxSeq: t, seed: 1)
model.precision = dtype
// Weight decay applies to matrices only, as the usual Hugging Face grouping does (and AdamW's rule).
let optimizer = AdamW(config: config, weightDecay: 0.01)
optimizer.beta2 = 0.999
optimizer.eps = 1e-8

// Random tokens, a fresh batch each step, from one seed (the same stream bench/train_torch.py
// cannot share, so only the loss curve's shape and the speed are comparable across the two).
var rng = SplitMix64(seed: 7)
var tokens = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: 0, count: b * t)
var times: [Double] = [], losses: [Float] = []
let lr: Float = 1e-3
for step in 1...steps {
    // A learnable stream: each row repeats a random 16-token phrase, so the loss falls fast.
    for row in 0..<b {
        let phrase = (0..<16).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        for j in 0..<t { tokens[row * t + j] = phrase[j % 16] }
        for j in 0..<t { targets[row * t + j] = j + 1 < t ? tokens[row * t + j + 1] : -100 }
    }
    let start = monotonicSeconds()
    model.forward(tokens: tokens, batch: b, seq: t)
    losses.append(model.crossEntropy(targets: targets).loss)
    model.zeroGradients()
    model.backward()
    optimizer.update(model.params, model.grads, lr: lr, step: step, gradScale: 1)
    times.append(monotonicSeconds() - start)
}

func peakRSSBytes() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil, capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        if text.hasPrefix("VmHWM:") { return (Int(text.split(separator: " ")[1]) ?? 0) * 1024 }
    }
    return 0
}

let timed = times.dropFirst()
let seconds = timed.reduce(0, +)
let tokensPerSecond = Double(b * t * timed.count) / seconds
let flopsPerStep = model.trainingFlops(tokens: b * t, seq: t)
// params, grads, two AdamW moments, activations
let estimate = 4 * model.params.arena.count * 4 + model.acts.bytes + model.precisionScratchBytes
for (key, value) in [("config", args[1]), ("batch", "\(b)"), ("seq", "\(t)"), ("steps", "\(steps)"), ("dtype", dtypeName)] {
    print("\(key)=\(value)")
}
print("parameters=\(model.params.count)")
print("flops_per_token=\(Int(flopsPerStep / Double(b * t)))")
print("tokens_per_second=\(tokensPerSecond)")
print("gflops=\(flopsPerStep * Double(timed.count) / seconds / 1e9)")
print("losses=\(losses.map { String($0) }.joined(separator: ","))")
print("peak_rss=\(peakRSSBytes())")
print("estimate=\(estimate)")
print("blas=\(BLAS.describe())")
if args.count > 6 && args[6] == "sgemm" { print("sgemm_gflops=\(BLAS.measureSgemm(n: 2048, repeats: 5))") }
