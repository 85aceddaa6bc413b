import Foundation
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer

/// One metric of one checkpoint on one task: an eval-result record (schemas/eval-result.schema.json).
public struct EvalResult: Sendable, Equatable {
    public var checkpoint: String
    public var step: Int?
    /// `task:set`, e.g. `choice:arc-mini`.
    public var task: String
    public var metric: String
    public var value: Double
    public var stderr: Double?
    public var n: Int
    /// The settings that change the scores (template, few-shot, window, sampling).
    public var settings: String?
    /// Why the checkpoint could not be evaluated (metric `failed`, value 1, n 0).
    public var error: String?

    public init(checkpoint: String, step: Int?, task: String, metric: String, value: Double, stderr: Double?, n: Int,
                settings: String? = nil, error: String? = nil) {
        (self.checkpoint, self.step, self.task, self.metric, self.value) = (checkpoint, step, task, metric, value)
        (self.stderr, self.n, self.settings, self.error) = (stderr, n, settings, error)
    }

    public var json: JSONValue {
        var o = JSONObject([("checkpoint", .string(checkpoint))])
        if let step { o["step"] = .number(JSONNumber(step)) }
        o["task"] = .string(task)
        o["metric"] = .string(metric)
        o["value"] = JSONNumber(value).map(JSONValue.number) ?? .null
        if let stderr, let s = JSONNumber(stderr) { o["stderr"] = .number(s) }
        o["n"] = .number(JSONNumber(n))
        if let settings { o["settings"] = .string(settings) }
        if let error { o["error"] = .string(error) }
        return .object(o)
    }

    /// An eval-result record as `json` writes it; nil when a required field is missing.
    public init?(json value: JSONValue) {
        guard let checkpoint = value["checkpoint"]?.string, let task = value["task"]?.string,
              let metric = value["metric"]?.string, let v = value["value"]?.double, let n = value["n"]?.int else { return nil }
        self.init(checkpoint: checkpoint, step: value["step"]?.int, task: task, metric: metric, value: v,
                  stderr: value["stderr"]?.double, n: n, settings: value["settings"]?.string, error: value["error"]?.string)
    }

    /// Every record of an eval-result file (JSON Lines, plain or gzip), naming `file:line` of
    /// one that is not an eval result.
    public static func load(path: String) throws -> [EvalResult] {
        var results: [EvalResult] = []
        let batcher = LineBatcher(source: try ByteSource(path: path))
        while let batch = try batcher.next() {
            for i in 0..<batch.count {
                guard let result = EvalResult(json: try batch.parseLine(i)) else {
                    throw IOFailure("\(batch.location(i)): expected an eval-result record (checkpoint, task, metric, value, n), as lathe-eval -o writes")
                }
                results.append(result)
            }
        }
        return results
    }

    /// Whether a lower value is better (losses, perplexity); nil when neither is (lengths).
    public var lowerIsBetter: Bool? {
        switch metric {
        case "loss", "perplexity", "bits_per_byte": true
        case "response_tokens", "failed", "asks_question": nil
        default: false
        }
    }
}

/// One generated response (a --generations record).
public struct GenerationRecord: Sendable {
    public var checkpoint: String
    public var step: Int?
    public var set: String
    public var id: String
    public var response: String
    public var tokens: Int
    public var finish: String

    public var json: JSONValue {
        var o = JSONObject([("checkpoint", .string(checkpoint))])
        if let step { o["step"] = .number(JSONNumber(step)) }
        o["set"] = .string(set)
        o["id"] = .string(id)
        o["response"] = .string(response)
        o["tokens"] = .number(JSONNumber(tokens))
        o["finish"] = .string(finish)
        return .object(o)
    }
}

/// Runs the tasks over checkpoints, tokenising each eval set once per distinct tokenizer.
/// Checkpoints may be evaluated on several threads at once (its settings set before): the
/// shared caches are behind a lock.
public final class Evaluator: @unchecked Sendable {
    public var settings: EvalSettings
    public var sampling = SamplingOptions(maxNewTokens: 128)
    public var batchSize = 8
    /// How the scored tasks (loss, ppl, prefs) hold the weights: fp32, or bf16 with fp32 sums.
    /// Choice and generate run the cached forward on the weights rounded the same way.
    public var precision: MatmulPrecision = .fp32
    /// Seeds the bootstrap errors (and, through `sampling.seed`, generation).
    public var seed: UInt64 = 0
    /// DPO's β: implicit reward = β · (log π(y|x) − log π_ref(y|x)).
    public var beta = 0.1
    public let sets: [EvalSet]
    private var encoded: [[UInt8]: [EncodedSet]] = [:]
    /// Things a user should know about how the sets were read, e.g. sequences cut to --seq-len.
    public private(set) var notes: [String] = []
    /// Positions run through the model by `loss`, `ppl` and `prefs` (padding excluded), for a tokens/s figure.
    public private(set) var scoredTokens = 0
    /// The reference model's Σ log p of every preference sequence, per set name.
    private var reference: [String: [Double]]?
    /// Guards `encoded`, `notes` and `scoredTokens` when checkpoints are evaluated concurrently (--jobs).
    private let lock = NSLock()

    public init(sets: [EvalSet], settings: EvalSettings) {
        self.sets = sets
        self.settings = settings
    }

    /// The eval sets tokenised with `checkpoint`'s tokenizer, from the cache when another
    /// checkpoint had the same tokenizer.
    public func encodedSets(for checkpoint: LoadedCheckpoint) throws -> [EncodedSet] {
        lock.lock()
        defer { lock.unlock() }
        if let done = encoded[checkpoint.tokenizerKey] { return done }
        let made = try sets.map { try EncodedSet($0, tokenizer: checkpoint.tokenizer, settings: settings) }
        for e in made where e.truncated > 0 {
            notes.append("\(e.set.path): \(e.truncated) sequences cut to --seq-len + 1 = \(settings.seqLen + 1) tokens (\(checkpoint.ref.path)'s tokenizer)")
        }
        encoded[checkpoint.tokenizerKey] = made
        return made
    }

    /// Scores the preference sets with the reference model, for DPO's implicit-reward metrics.
    public func setReference(_ ref: LoadedCheckpoint) throws {
        let scorer = SequenceScorer(params: ref.params, batchSize: batchSize, maxSeq: settings.seqLen, precision: precision)
        var scores: [String: [Double]] = [:]
        for e in try encodedSets(for: ref) where e.set.kind == .preference {
            scores[e.set.path] = scorer.score(e.sequences)
        }
        reference = scores
    }

    /// Every task over every set for one checkpoint: results, and generations for prompt sets.
    public func evaluate(_ checkpoint: LoadedCheckpoint) throws -> (results: [EvalResult], generations: [GenerationRecord]) {
        let sets = try encodedSets(for: checkpoint)
        var scorer: SequenceScorer?
        func sequenceScorer() -> SequenceScorer {
            if let scorer { return scorer }
            let made = SequenceScorer(params: checkpoint.params, batchSize: batchSize, maxSeq: settings.seqLen, precision: precision)
            scorer = made
            return made
        }
        // Choice and generate run Generator on fp32 storage: with bf16 they get the weights rounded to bf16 values.
        var rounded: LlamaParameters?
        func cachedParams() -> LlamaParameters {
            guard precision == .bf16 else { return checkpoint.params }
            if let rounded { return rounded }
            let made = LlamaParameters(zerosFor: checkpoint.params.config)
            made.copyRoundingMatricesToBF16(from: checkpoint.params)
            rounded = made
            return made
        }
        var results: [EvalResult] = [], generations: [GenerationRecord] = []
        for e in sets {
            lock.withLock { scoredTokens += e.sequences.reduce(0) { $0 + $1.inputs.count } }
            let task = "\(e.set.kind.task.rawValue):\(e.set.name)"
            func result(_ metric: String, _ value: Double, _ stderr: Double?, n: Int, settings: String) -> EvalResult {
                EvalResult(checkpoint: checkpoint.ref.path, step: checkpoint.ref.step, task: task, metric: metric,
                           value: value, stderr: stderr, n: n, settings: settings + " dtype=\(precision.rawValue)")
            }
            let template = "chat_template=\(self.settings.templateName)"
            switch e.set.kind {
            case .conversation:
                let logp = sequenceScorer().score(e.sequences)
                let nll = logp.map { -$0 }, counts = e.sequences.map { Double($0.counted) }
                let loss = nll.reduce(0, +) / counts.reduce(0, +)
                results.append(result("loss", loss, Statistics.bootstrapRatioStderr(nll, counts, seed: seed), n: nll.count,
                                      settings: template + " seq_len=\(self.settings.seqLen)"))
            case .document:
                let logp = sequenceScorer().score(e.sequences)
                var nll = [Double](repeating: 0, count: e.documentBytes.count), tokens = nll
                for (w, d) in e.windowDocument.enumerated() {
                    nll[d] -= logp[w]
                    tokens[d] += Double(e.sequences[w].counted)
                }
                let bytes = e.documentBytes.map(Double.init)
                let perToken = nll.reduce(0, +) / tokens.reduce(0, +)
                let window = "window=\(self.settings.seqLen)"
                results.append(result("perplexity", exp(perToken), Statistics.bootstrapRatioStderr(nll, tokens, seed: seed, exp),
                                      n: nll.count, settings: window))
                let bitsPerByte = nll.reduce(0, +) / (log(2) * bytes.reduce(0, +))
                results.append(result("bits_per_byte", bitsPerByte,
                                      Statistics.bootstrapRatioStderr(nll.map { $0 / log(2) }, bytes, seed: seed), n: nll.count,
                                      settings: window))
            case .preference:
                let logp = sequenceScorer().score(e.sequences)
                let n = logp.count / 2
                let wins = (0..<n).filter { logp[2 * $0] > logp[2 * $0 + 1] }.count
                let accuracy = Double(wins) / Double(n)
                results.append(result("accuracy", accuracy, Statistics.binomialStderr(accuracy, n: n), n: n, settings: template))
                if let ref = reference?[e.set.path] {
                    let margins = (0..<n).map { k in
                        beta * ((logp[2 * k] - ref[2 * k]) - (logp[2 * k + 1] - ref[2 * k + 1]))
                    }
                    let rewardAccuracy = Double(margins.filter { $0 > 0 }.count) / Double(n)
                    let dpo = template + " beta=\(beta)"
                    results.append(result("reward_accuracy", rewardAccuracy, Statistics.binomialStderr(rewardAccuracy, n: n),
                                          n: n, settings: dpo))
                    let (margin, marginStderr) = Statistics.mean(margins)
                    results.append(result("reward_margin", margin, marginStderr, n: n, settings: dpo))
                }
            case .choice:
                let picks = try ChoiceScoring.score(e.choices, params: cachedParams())
                let n = picks.count
                let acc = Double(picks.filter { $0.acc }.count) / Double(n)
                let accNorm = Double(picks.filter { $0.accNorm }.count) / Double(n)
                let shots = template + " few_shot=\(self.settings.fewShot)"
                results.append(result("acc", acc, Statistics.binomialStderr(acc, n: n), n: n, settings: shots))
                results.append(result("acc_norm", accNorm, Statistics.binomialStderr(accNorm, n: n), n: n, settings: shots))
            case .prompt:
                let made = try generate(e, checkpoint: checkpoint, params: cachedParams())
                generations += made
                let n = made.count
                let (length, lengthStderr) = Statistics.mean(made.map { Double($0.tokens) })
                let stopped = Double(made.filter { $0.finish != "length" }.count) / Double(n)
                let s = sampling
                let how = template + " temperature=\(s.temperature) top_k=\(s.topK) top_p=\(s.topP) "
                    + "max_new_tokens=\(s.maxNewTokens) seed=\(s.seed)"
                results.append(result("response_tokens", length, lengthStderr, n: n, settings: how))
                results.append(result("stopped", stopped, Statistics.binomialStderr(stopped, n: n), n: n, settings: how))
                let asks = Double(made.filter { opensWithQuestion($0.response) }.count) / Double(n)
                results.append(result("asks_question", asks, Statistics.binomialStderr(asks, n: n), n: n, settings: how))
            }
        }
        return (results, generations)
    }

    private func generate(_ e: EncodedSet, checkpoint: LoadedCheckpoint, params: LlamaParameters) throws -> [GenerationRecord] {
        let tokenizer = checkpoint.tokenizer
        var options = sampling
        // Any template's end-of-turn marker ends a response, as does end of text: a model tuned
        // with one template still closes its turns with that marker when prompted without it.
        for name in ChatTemplate.allCases.map(\.endOfTurn) + ["<|endoftext|>", "<|end_of_text|>", "</s>"] {
            if let id = tokenizer.tokenToId(name) { options.stopTokens.insert(id) }
        }
        let longest = e.prompts.map(\.count).max() ?? 1
        let generator = Generator(params: params, slots: max(1, min(batchSize, e.prompts.count)),
                                  capacity: longest + options.maxNewTokens)
        let made: [Generation]
        do { made = try generator.generate(prompts: e.prompts, options: options) } catch {
            throw IOFailure("\(e.set.path): \(error.message)")
        }
        return zip(e.set.items, made).map { item, g in
            var tokens = g.tokens
            let finish: String
            switch g.finish {
            case .stopToken:
                tokens.removeLast()
                finish = "stop"
            case .stopString: finish = "stop"
            case .length: finish = "length"
            }
            return GenerationRecord(checkpoint: checkpoint.ref.path, step: checkpoint.ref.step, set: e.set.name, id: item.id,
                                    response: tokenizer.decode(tokens), tokens: g.tokens.count, finish: finish)
        }
    }
}

/// Multiple choice as lm-evaluation-harness scores it: `acc` picks the choice with the
/// highest total log-likelihood, `acc_norm` the highest log-likelihood per character.
public enum ChoiceScoring {
    /// The index `acc` picks and the one `acc_norm` picks; ties go to the first.
    public static func pick(logLikelihoods ll: [Double], characters: [Int]) -> (acc: Int, accNorm: Int) {
        let norm = zip(ll, characters).map { $0 / Double(max(1, $1)) }
        return (ll.indices.max { ll[$0] < ll[$1] || (ll[$0] == ll[$1] && $0 > $1) }!,
                norm.indices.max { norm[$0] < norm[$1] || (norm[$0] == norm[$1] && $0 > $1) }!)
    }

    /// For each question, whether `acc` and `acc_norm` pick the answer; the context is run
    /// once per question and each choice continues from its cached keys and values.
    public static func score(_ items: [EncodedChoice], params: LlamaParameters) throws -> [(acc: Bool, accNorm: Bool)] {
        let capacity = items.map { $0.context.count + ($0.continuations.map(\.count).max() ?? 0) }.max() ?? 1
        let slots = (items.map(\.continuations.count).max() ?? 1) + 1
        let generator = Generator(params: params, slots: slots, capacity: capacity)
        return try items.map { item in
            let scores: [ContinuationScore]
            do { scores = try generator.score(context: item.context, continuations: item.continuations) } catch {
                throw IOFailure("\(error)")
            }
            let (acc, accNorm) = pick(logLikelihoods: scores.map(\.logLikelihood), characters: item.characters)
            return (acc == item.answer, accNorm == item.answer)
        }
    }
}

/// Whether a response's first sentence is a question: the text up to its first line break or
/// sentence end ends with "?". A base model asked something tends to go on asking (as FAQ
/// pages do); an instruction-tuned one answers. Empty responses do not ask.
public func opensWithQuestion(_ response: String) -> Bool {
    let text = response.drop { $0.isWhitespace }
    guard let end = text.firstIndex(where: { $0 == "?" || $0 == "." || $0 == "!" || $0 == "\n" }) else { return false }
    return text[end] == "?"
}
