import Foundation
import LatheIO
import LatheModel

/// DPO over a Llama: the pairs of a batch run as 2n rows (chosen rows 0..<n, rejected n..<2n);
/// each row's summed response log-probability s comes from the model's cross-entropy, and the
/// loss's gradient goes back through ds/dlogits = onehot − softmax at each response position.
public enum DPOObjective {
    /// Rows (2n, T) of inputs, targets (−1 off the response) and segments (−1 on padding).
    static func layout(_ pairs: [PreferencePair]) -> (tokens: [Int32], targets: [Int32], segments: [Int32], seq: Int) {
        let rows = pairs.map { PreferencePair.row($0.chosen) } + pairs.map { PreferencePair.row($0.rejected) }
        let t = rows.map(\.tokens.count).max() ?? 1
        var tokens = [Int32](repeating: 0, count: rows.count * t), targets = [Int32](repeating: -1, count: rows.count * t)
        var segments = [Int32](repeating: -1, count: rows.count * t)
        for (b, row) in rows.enumerated() {
            for j in row.tokens.indices {
                tokens[b * t + j] = row.tokens[j]
                targets[b * t + j] = row.targets[j]
                segments[b * t + j] = 0
            }
        }
        return (tokens, targets, segments, t)
    }

    /// Runs the model on the pairs and returns the policy side of `PairLogProbs`: each row's summed
    /// response log-probability (nats) and response token count, chosen then rejected. Leaves the
    /// batch's targets for `setGradient`.
    static func forward(_ model: Llama, _ pairs: [PreferencePair]) -> (logps: PairLogProbs, targets: [Int32], seq: Int) {
        let (tokens, targets, segments, t) = layout(pairs)
        let rows = 2 * pairs.count
        model.forward(tokens: tokens, segments: segments, batch: rows, seq: t)
        model.crossEntropy(targets: targets, gradientScale: 0)
        let sums = (0..<rows).map { b in -(0..<t).reduce(0.0) { $0 + Double(model.acts.losses[b * t + $1]) } }
        let counts = (0..<rows).map { b in Double((0..<t).filter { targets[b * t + $0] >= 0 }.count) }
        let n = pairs.count
        return (PairLogProbs(policyChosen: Array(sums[0..<n]), policyRejected: Array(sums[n...]),
                             chosenTokens: Array(counts[0..<n]), rejectedTokens: Array(counts[n...])), targets, t)
    }

    /// The policy side of `PairLogProbs` for every pair of `data`, `batchPairs` at a time (the
    /// reference pass, and held-out evaluation).
    public static func logProbs(_ model: Llama, _ data: PreferenceData, batchPairs: Int) -> PairLogProbs {
        var all = PairLogProbs(policyChosen: [], policyRejected: [])
        var i = 0
        while i < data.count {
            let slice = Array(data.pairs[i..<min(i + batchPairs, data.count)])
            let out = forward(model, slice).logps
            all.policyChosen += out.policyChosen
            all.policyRejected += out.policyRejected
            all.chosenTokens += out.chosenTokens
            all.rejectedTokens += out.rejectedTokens
            i += slice.count
        }
        return all
    }

    /// Forward on `pairs`, `loss` on their log-probabilities (against the reference's when it needs
    /// them), and `model.acts.logitsGrad` set to the gradient of `scale`·(batch mean loss); the caller
    /// runs `model.backward()`.
    public static func forwardAndGradient(_ model: Llama, _ pairs: [PreferencePair], refChosen: [Double] = [], refRejected: [Double] = [],
                                          loss: some PreferenceLoss, scale: Double = 1) -> DPOBatchResult {
        var (logps, targets, seq) = forward(model, pairs)
        (logps.refChosen, logps.refRejected) = (refChosen, refRejected)
        let result = loss.batch(logps)
        // Weight −dL/ds on a row's positions turns cross-entropy's (softmax − onehot) into dL/ds·ds/dlogits.
        let perRow = result.dChosen + result.dRejected
        let mask = (0..<(perRow.count * seq)).map { Float(-scale * perRow[$0 / seq]) }
        model.crossEntropy(targets: targets, mask: mask, gradientScale: 1)
        return result
    }
}

/// The reference model's summed response log-probabilities for every pair, computed once and
/// kept on disk beside the run, so training holds one model in memory.
public struct ReferenceLogProbs: Sendable, Equatable {
    public var chosen: [Double]
    public var rejected: [Double]
    /// What the numbers depend on: the data's size in bytes, the reference checkpoint, seq len and template.
    public var key: String

    public init(chosen: [Double], rejected: [Double], key: String) {
        self.chosen = chosen
        self.rejected = rejected
        self.key = key
    }

    static let magic = "lathe-ref-logps 1\n"

    /// The cache key of a run: the data's size and a hash of every pair's tokens and labels (so a changed
    /// file, tokenizer, template or --seq-len invalidates it), and `reference`, naming the reference weights.
    public static func key(data: PreferenceData, reference: String) -> String {
        var hash = Fingerprint()
        for pair in data.pairs {
            for sequence in [pair.chosen, pair.rejected] {
                for (token, label) in zip(sequence.tokens, sequence.labelled) { hash.add(UInt64(UInt32(bitPattern: token)) << 1 | (label ? 1 : 0)) }
                hash.add(UInt64.max)
            }
        }
        return "data_bytes=\(data.bytesRead) pairs=\(data.count) tokens=\(hash.hex) ref=\(reference)"
    }

    /// A hash of every weight, naming a reference held in memory (the starting model).
    public static func weightsKey(_ params: LlamaParameters) -> String {
        var hash = Fingerprint()
        for i in 0..<params.arena.count { hash.add(UInt64(params.arena.base[i].bitPattern)) }
        return "weights=\(hash.hex)"
    }

    /// The cache at `path` when it matches `key`; otherwise the reference pass on `model()` (built only
    /// then, so a resumed run never loads a second model), written to `path`.
    public static func cached(at path: String, key: String, data: PreferenceData, batchPairs: Int,
                              model: () throws -> Llama) throws -> (logps: ReferenceLogProbs, computed: Bool) {
        if let saved = read(from: path, key: key, pairs: data.count) { return (saved, false) }
        let pass = DPOObjective.logProbs(try model(), data, batchPairs: batchPairs)
        let logps = ReferenceLogProbs(chosen: pass.policyChosen, rejected: pass.policyRejected, key: key)
        try logps.write(to: path)
        return (logps, true)
    }

    /// The header line, then 2n little-endian Float64 (chosen then rejected); written to a temporary
    /// file and renamed into place.
    public func write(to path: String) throws {
        var bytes = Data((Self.magic + key.replacingOccurrences(of: "\n", with: " ") + "\n\(chosen.count)\n").utf8)
        for value in chosen + rejected {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The cache at `path` if it exists and was made for `key` and `pairs` pairs; nil means compute it again.
    public static func read(from path: String, key: String, pairs: Int) -> ReferenceLogProbs? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        var lines: [String] = [], start = 0
        for (i, byte) in bytes.enumerated() where byte == 10 && lines.count < 3 {
            lines.append(String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        guard lines.count == 3, lines[0] + "\n" == magic, lines[1] == key.replacingOccurrences(of: "\n", with: " "),
              Int(lines[2]) == pairs, bytes.count - start == 16 * pairs else { return nil }
        let values = (0..<(2 * pairs)).map { k in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[start + 8 * k + $1]) << (8 * UInt64($1)) })
        }
        return ReferenceLogProbs(chosen: Array(values[0..<pairs]), rejected: Array(values[pairs...]), key: key)
    }
}

/// FNV-1a over 64-bit words: a cache key, not a defence against tampering.
struct Fingerprint {
    private var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ word: UInt64) { value = (value ^ word) &* 0x0000_0100_0000_01B3 }
    var hex: String { String(value, radix: 16) }
}
