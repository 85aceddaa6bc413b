import ArgumentParser
import Foundation
import LatheCLI
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

/// The options only the preference objectives (dpo, simpo, orpo) read; --beta and --ref are shared
/// with other objectives.
struct DPOOptions: ParsableArguments {
    @Option(name: .customLong("loss"), help: "For dpo: sigmoid (the DPO paper's), ipo, hinge or robust (default sigmoid).")
    var loss: DPOLossKind?

    @Option(help: "For dpo (sigmoid or robust) and simpo: the assumed share of flipped preference labels, 0 to below 0.5 (default 0).")
    var labelSmoothing = 0.0

    @Option(help: "For simpo: the target margin γ by which the chosen reward β·(mean token log-probability) should beat the rejected one (default 0.5, TRL's simpo_gamma).")
    var gamma: Double?

    /// --beta when it is not given: DPO's and ORPO's λ as TRL defaults them, SimPO's as its paper trains.
    static func defaultBeta(_ objective: TrainObjective) -> Double { objective == .simpo ? 2.0 : 0.1 }

    func validate(objective: TrainObjective, beta: Double?, ref: String?) throws {
        if loss != nil && objective != .dpo {
            throw ValidationError("--loss applies to --objective dpo; simpo and orpo are objectives of their own.")
        }
        if gamma != nil && objective != .simpo { throw ValidationError("--gamma applies to --objective simpo.") }
        if labelSmoothing != 0 && ![.dpo, .simpo].contains(objective) {
            throw ValidationError("--label-smoothing applies to --objective dpo and simpo.")
        }
        if ref != nil && ![.dpo, .grpo, .ppo].contains(objective) {
            throw ValidationError("--ref applies to --objective dpo, grpo and ppo" + (objective.isPreference ? "; \(objective.rawValue) uses no reference model." : "."))
        }
        guard objective.isPreference else { return }
        guard (beta ?? Self.defaultBeta(objective)) > 0, labelSmoothing >= 0, labelSmoothing < 0.5, (gamma ?? 0) >= 0 else {
            throw ValidationError("--beta must be positive, --gamma not negative and --label-smoothing in [0, 0.5).")
        }
    }

    func preferenceLoss(_ objective: TrainObjective, beta: Double?) -> any PreferenceLoss {
        let beta = beta ?? Self.defaultBeta(objective)
        switch objective {
        case .simpo: return SimPOLoss(beta: beta, gamma: gamma ?? 0.5, labelSmoothing: labelSmoothing)
        case .orpo: return ORPOLoss(lambda: beta)
        default: return DPOLoss(kind: loss ?? .sigmoid, beta: beta, labelSmoothing: labelSmoothing)
        }
    }
}

extension TrainObjective {
    /// Trained on preference pairs by DPOTrainer.
    var isPreference: Bool { [.dpo, .simpo, .orpo].contains(self) }
}

extension Train {
    /// The training pairs of the preference objectives and reward: drops to --rejects, the summary
    /// and --stats written.
    func readPreferences(tokenizer: Tokenizer) throws -> PreferenceData {
        let rejects = try runOptions.rejects.map { try OutputSink(path: $0, gzipLevel: OutputSink.wantsGzip($0) ? 6 : nil) }
        let started = Date()
        let data = try PreferenceData(paths: inputs, tokenizer: tokenizer, template: chatTemplate, seqLen: seqLen,
                                      onError: runOptions.onError, rejects: rejects)
        try rejects?.close()
        try report(data.stats, since: started)
        return data
    }

    /// DPO, SimPO or ORPO: preference pairs, for DPO the reference pass (or its cache in --out), then
    /// the shared loop. A resumed DPO run reads the reference log-probabilities its trainer state
    /// names from the cache, since the starting weights are no longer at hand.
    func makeDPO(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> DPOTrainer {
        let loss = dpo.preferenceLoss(objective, beta: beta)
        if let ref { try requireCausalLM(ref, option: "--ref") }
        let data = try readPreferences(tokenizer: tokenizer)
        let heldOut = evalData.isEmpty ? nil : try PreferenceData(paths: evalData, tokenizer: tokenizer, template: chatTemplate,
                                                                  seqLen: seqLen, onError: runOptions.onError)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let params = try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize)
        let settings = trainSettings(examples: data.count)
        let model = Llama(params: params, maxBatch: 2 * batchSize, maxSeq: seqLen)
        model.precision = dtype
        var reference: ReferenceLogProbs?, evalReference: ReferenceLogProbs?
        if loss.needsReference {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let source = ReferenceSource(train: self, policy: model, state: state, resumeFrom: resumeFrom)
            let cache = out + "/ref_logps.bin"
            let (logps, computed) = try source.logProbs(of: data, cache: cache, stateKey: DPOTrainer.referenceKey)
            reference = logps
            if let heldOut {
                evalReference = try source.logProbs(of: heldOut, cache: out + "/ref_logps_eval.bin", stateKey: DPOTrainer.evalReferenceKey).logps
            }
            if !runOptions.quiet {
                printError("lathe-train: \(data.count) preference pairs; reference log-probabilities \(computed ? "computed into" : "read from") \(cache)")
            }
        } else if !runOptions.quiet {
            printError("lathe-train: \(data.count) preference pairs; \(loss.objective) needs no reference model")
        }
        let trainer = DPOTrainer(model: model, tokenizer: tokenizer, template: chatTemplate, data: data, reference: reference, loss: loss,
                                 evalData: heldOut, evalReference: evalReference, settings: settings, seqLen: seqLen, resumeFrom: state)
        if let resumeFrom { try trainer.optimizer.load(from: resumeFrom) }
        return trainer
    }
}

/// Where a DPO run's reference log-probabilities come from: the cache a resumed run's state names,
/// else the cache in --out when it matches, else a pass of --ref (loaded once, when first needed)
/// or of the starting weights.
private final class ReferenceSource {
    let train: Train
    let policy: Llama
    let state: TrainerState?
    let resumeFrom: String?
    private var loaded: Llama?
    private lazy var name: String = ReferenceLogProbs.weightsKey(policy.params)

    init(train: Train, policy: Llama, state: TrainerState?, resumeFrom: String?) {
        self.train = train
        self.policy = policy
        self.state = state
        self.resumeFrom = resumeFrom
    }

    func logProbs(of data: PreferenceData, cache: String, stateKey: String) throws -> (logps: ReferenceLogProbs, computed: Bool) {
        if let state, let resumeFrom {
            guard let key = state.extras[stateKey], let saved = ReferenceLogProbs.read(from: cache, key: key, pairs: data.count) else {
                throw IOFailure("\(cache): the reference log-probabilities \(resumeFrom) was trained against are missing or were made for other "
                    + "data; resume needs them, with the --eval-data the run started with (or start afresh from --init with --ref)")
            }
            return (saved, false)
        }
        let key = ReferenceLogProbs.key(data: data, reference: try train.ref.map { try train.checkpointStamp($0) } ?? name)
        return try ReferenceLogProbs.cached(at: cache, key: key, data: data, batchPairs: train.batchSize) { try model() }
    }

    private func model() throws -> Llama {
        guard let ref = train.ref else { return policy }
        if let loaded { return loaded }
        let refParams = try Checkpoint.loadParameters(from: ref)
        guard refParams.config.vocabSize == policy.params.config.vocabSize else {
            throw IOFailure("\(ref): the reference's vocabulary is \(refParams.config.vocabSize), the policy's \(policy.params.config.vocabSize); they must share a tokenizer")
        }
        let made = Llama(params: refParams, maxBatch: 2 * train.batchSize, maxSeq: train.seqLen)
        loaded = made
        return made
    }
}
