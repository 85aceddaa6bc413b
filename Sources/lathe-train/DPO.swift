import ArgumentParser
import Foundation
import LatheCLI
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

/// The options only --objective dpo reads (--beta and --ref are shared with other objectives).
struct DPOOptions: ParsableArguments {
    @Option(name: .customLong("loss"), help: "For dpo: sigmoid (the DPO paper's), ipo, hinge or robust (default sigmoid).")
    var loss: DPOLossKind = .sigmoid

    @Option(help: "For dpo with sigmoid or robust: the assumed share of flipped preference labels, 0 to below 0.5 (default 0).")
    var labelSmoothing = 0.0

    static let defaultBeta = 0.1

    func validate(beta: Double?, evalData: [String]) throws {
        if !evalData.isEmpty { throw ValidationError("--objective dpo does not yet take --eval-data.") }
        guard (beta ?? Self.defaultBeta) > 0, labelSmoothing >= 0, labelSmoothing < 0.5 else {
            throw ValidationError("--beta must be positive and --label-smoothing in [0, 0.5).")
        }
    }
}

extension Train {
    /// The training pairs of dpo and reward: drops to --rejects, the summary and --stats written.
    func readPreferences(tokenizer: Tokenizer) throws -> PreferenceData {
        let rejects = try runOptions.rejects.map { try OutputSink(path: $0, gzipLevel: OutputSink.wantsGzip($0) ? 6 : nil) }
        let started = Date()
        let data = try PreferenceData(paths: inputs, tokenizer: tokenizer, template: chatTemplate, seqLen: seqLen,
                                      onError: runOptions.onError, rejects: rejects)
        try rejects?.close()
        try report(data.stats, since: started)
        return data
    }

    /// DPO: preference pairs, the reference pass (or its cache in --out), then the shared loop.
    /// A resumed run reads the reference log-probabilities its trainer state names from the cache,
    /// since the starting weights are no longer at hand.
    func makeDPO(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> DPOTrainer {
        let data = try readPreferences(tokenizer: tokenizer)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let params = try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize)
        let settings = trainSettings(examples: data.count)
        let model = Llama(params: params, maxBatch: 2 * batchSize, maxSeq: seqLen)
        model.precision = dtype
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let cache = out + "/ref_logps.bin"
        let reference: ReferenceLogProbs, computed: Bool
        if let state, let resumeFrom {
            guard let key = state.extras[DPOTrainer.referenceKey], let saved = ReferenceLogProbs.read(from: cache, key: key, pairs: data.count) else {
                throw IOFailure("\(cache): the reference log-probabilities \(resumeFrom) was trained against are missing or were made for other "
                    + "data; resume needs them (or start afresh from --init with --ref)")
            }
            (reference, computed) = (saved, false)
        } else {
            let key = ReferenceLogProbs.key(data: data, reference: try ref.map { try checkpointStamp($0) } ?? ReferenceLogProbs.weightsKey(params))
            (reference, computed) = try ReferenceLogProbs.cached(at: cache, key: key, data: data, batchPairs: batchSize) {
                guard let ref else { return model }
                let refParams = try Checkpoint.loadParameters(from: ref)
                guard refParams.config.vocabSize == params.config.vocabSize else {
                    throw IOFailure("\(ref): the reference's vocabulary is \(refParams.config.vocabSize), the policy's \(params.config.vocabSize); they must share a tokenizer")
                }
                return Llama(params: refParams, maxBatch: 2 * batchSize, maxSeq: seqLen)
            }
        }
        if !runOptions.quiet {
            printError("lathe-train: \(data.count) preference pairs; reference log-probabilities \(computed ? "computed into" : "read from") \(cache)")
        }
        let trainer = DPOTrainer(model: model, tokenizer: tokenizer, template: chatTemplate, data: data, reference: reference,
                                 loss: DPOLoss(kind: dpo.loss, beta: beta ?? DPOOptions.defaultBeta, labelSmoothing: dpo.labelSmoothing),
                                 settings: settings, seqLen: seqLen, resumeFrom: state)
        if let resumeFrom { try trainer.optimizer.load(from: resumeFrom) }
        return trainer
    }
}
