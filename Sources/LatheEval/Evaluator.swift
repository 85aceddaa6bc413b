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
        case "response_tokens", "failed", "asks_question", "tie_rate": nil
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
    /// The reward model's score of the response, when reward or winrate ran.
    public var reward: Double?

    public var json: JSONValue {
        var o = JSONObject([("checkpoint", .string(checkpoint))])
        if let step { o["step"] = .number(JSONNumber(step)) }
        o["set"] = .string(set)
        o["id"] = .string(id)
        o["response"] = .string(response)
        o["tokens"] = .number(JSONNumber(tokens))
        o["finish"] = .string(finish)
        if let reward, let r = JSONNumber(reward) { o["reward"] = .number(r) }
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
    /// How every task holds a checkpoint's weights: fp32, or bf16 with fp32 sums (on AMX tiles
    /// where the CPU has them). Scoring, choice and generate share one copy per checkpoint.
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
    /// What runs on prompt sets: generate (responses and their lengths), reward, winrate.
    public var promptTasks: Set<EvalTask> = [.generate]
    /// The reward model that reward and winrate score responses with.
    public var judge: RewardJudge?
    /// Rewards at most this far apart make a tie in winrate (reward units).
    public var tieTolerance = 1e-3
    /// The baseline winrate compares with: its name, and its response to each prompt, per set path.
    public private(set) var baseline: (name: String, responses: [String: [String]])?
    private var baselineRewards: [String: [Double]] = [:]
    /// Guards `encoded`, `notes` and `scoredTokens` when checkpoints are evaluated concurrently (--jobs).
    private let lock = NSLock()
    /// Guards the reward model's buffers and the baseline's rewards, shared by concurrent checkpoints.
    private let judgeLock = NSLock()

    public init(sets: [EvalSet], settings: EvalSettings) {
        self.sets = sets
        self.settings = settings
    }

    /// The eval sets tokenised with `checkpoint`'s tokenizer, from the cache when another
    /// checkpoint had the same tokenizer.
    public func encodedSets(for checkpoint: LoadedCheckpoint) throws -> [EncodedSet] {
        lock.lock()
        defer { lock.unlock() }
        let key = checkpoint.tokenizerKey + (checkpoint.bos.map { Array("\u{0}bos=\($0)".utf8) } ?? [])
        if let done = encoded[key] { return done }
        let made = try sets.map { try EncodedSet($0, tokenizer: checkpoint.tokenizer, settings: settings, bos: checkpoint.bos) }
        for e in made where e.truncated > 0 {
            notes.append("\(e.set.path): \(e.truncated) sequences cut to --seq-len + 1 = \(settings.seqLen + 1) tokens (\(checkpoint.ref.path)'s tokenizer)")
        }
        encoded[key] = made
        return made
    }

    /// The baseline's responses: generated by `checkpoint` with the same sampling options.
    public func setBaseline(_ checkpoint: LoadedCheckpoint) throws {
        var responses: [String: [String]] = [:]
        for e in try encodedSets(for: checkpoint) where e.set.kind == .prompt {
            responses[e.set.path] = try Responses.generate(checkpoint, prompts: e.prompts, options: sampling, slots: batchSize,
                                                           source: e.set.path).map(\.text)
        }
        baseline = (checkpoint.ref.path, responses)
        baselineRewards = [:]
    }

    /// The baseline's responses read from generation records {"id", "response", "set"?,
    /// "checkpoint"?} of one checkpoint (what --generations writes), matched to each prompt by
    /// set name and id (or by id alone for records without a set).
    public func setBaseline(generationsFile path: String) throws {
        var byKey: [String: String] = [:], checkpoints = Set<String>(), stats = RunStats()
        try RecordReader.read(paths: [path], onError: .fail, rejects: nil, stats: &stats) { record, location in
            guard let id = record["id"]?.string ?? record["id"]?.int.map(String.init), let response = record["response"]?.string else {
                throw RecordError(location, "expected a generation record {\"id\", \"response\"} as lathe-eval --generations writes, "
                    + "found \(record.object.map { "fields " + $0.map(\.0).joined(separator: ", ") } ?? record.typeName)",
                    reason: "invalid_generation")
            }
            if let checkpoint = record["checkpoint"]?.string { checkpoints.insert(checkpoint) }
            if let set = record["set"]?.string { byKey[set + "\u{1}" + id] = response }
            byKey["\u{1}" + id] = byKey["\u{1}" + id] ?? response
        }
        guard checkpoints.count <= 1 else {
            throw IOFailure("\(path): holds the generations of \(checkpoints.count) checkpoints (\(checkpoints.sorted().joined(separator: ", "))); "
                + "a baseline is one: keep one checkpoint's records, or give the checkpoint itself as --baseline")
        }
        var responses: [String: [String]] = [:]
        for set in sets where set.kind == .prompt {
            responses[set.path] = try set.items.map { item in
                guard let response = byKey[set.name + "\u{1}" + item.id] ?? byKey["\u{1}" + item.id] else {
                    throw IOFailure("\(path): no baseline response for prompt \(item.id) of \(set.path); a baseline file needs one "
                        + "generation record {\"id\", \"response\"} per prompt, as lathe-eval --generations writes for a checkpoint")
                }
                return response
            }
        }
        baseline = (checkpoints.first ?? path, responses)
        baselineRewards = [:]
    }

    /// Scores the preference sets with the reference model, for DPO's implicit-reward metrics.
    public func setReference(_ ref: LoadedCheckpoint) throws {
        guard ref.params.head == .languageModel else {
            throw IOFailure("\(ref.ref.path): a reward model (\(ref.params.head.architecture)); --ref needs the causal LM DPO started from")
        }
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
        var held: InferenceWeights?
        func weights() -> InferenceWeights {
            if let held { return held }
            let made = InferenceWeights(checkpoint.params, precision: precision)
            held = made
            return made
        }
        var scorer: SequenceScorer?
        func sequenceScorer() -> SequenceScorer {
            if let scorer { return scorer }
            let made = SequenceScorer(weights: weights(), batchSize: batchSize, maxSeq: settings.seqLen)
            scorer = made
            return made
        }
        var results: [EvalResult] = [], generations: [GenerationRecord] = []
        let isRewardModel = checkpoint.params.head != .languageModel
        if isRewardModel && sets.contains(where: { $0.set.kind != .preference }) {
            lock.withLock { notes.append("\(checkpoint.ref.path) is a reward model (\(checkpoint.params.head.architecture)): only prefs is evaluated on it") }
        }
        for e in sets where !isRewardModel || e.set.kind == .preference {
            if !isRewardModel { lock.withLock { scoredTokens += e.sequences.reduce(0) { $0 + $1.inputs.count } } }
            func result(_ metric: String, _ value: Double, _ stderr: Double?, n: Int, settings: String,
                        task: EvalTask? = nil) -> EvalResult {
                EvalResult(checkpoint: checkpoint.ref.path, step: checkpoint.ref.step,
                           task: "\((task ?? e.set.kind.task).rawValue):\(e.set.name)", metric: metric,
                           value: value, stderr: stderr, n: n, settings: settings + " dtype=\(precision.rawValue)")
            }
            let addBOS = checkpoint.bos == nil ? "" : " add_bos=true"
            let template = "chat_template=\(self.settings.templateName)" + addBOS
            if isRewardModel {
                // A reward model's own preference accuracy and mean margin r(chosen) − r(rejected).
                guard let judge = try? RewardJudge(checkpoint, template: self.settings.template, batchSize: batchSize) else {
                    throw IOFailure("\(checkpoint.ref.path): a score head of \(checkpoint.params.head); Lathe scores reward models of one label")
                }
                let r = judge.rewards(e.pairTokens)
                let n = r.count / 2
                let margins = (0..<n).map { r[2 * $0] - r[2 * $0 + 1] }
                let accuracy = Double(margins.filter { $0 > 0 }.count) / Double(n)
                let (margin, marginStderr) = Statistics.mean(margins)
                results.append(result("accuracy", accuracy, Statistics.binomialStderr(accuracy, n: n), n: n, settings: template + " reward_model"))
                results.append(result("margin", margin, marginStderr, n: n, settings: template + " reward_model"))
                continue
            }
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
                let window = "window=\(self.settings.seqLen)" + addBOS
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
                let picks = try ChoiceScoring.score(e.choices, weights: weights())
                let n = picks.count
                let acc = Double(picks.filter { $0.acc }.count) / Double(n)
                let accNorm = Double(picks.filter { $0.accNorm }.count) / Double(n)
                let shots = template + " " + self.settings.fewShotDescription
                results.append(result("acc", acc, Statistics.binomialStderr(acc, n: n), n: n, settings: shots))
                results.append(result("acc_norm", accNorm, Statistics.binomialStderr(accNorm, n: n), n: n, settings: shots))
            case .prompt:
                let made = try Responses.generate(checkpoint, prompts: e.prompts, options: sampling, slots: batchSize,
                                                  source: e.set.path, weights: weights())
                var records = zip(e.set.items, made).map { item, g in
                    GenerationRecord(checkpoint: checkpoint.ref.path, step: checkpoint.ref.step, set: e.set.name, id: item.id,
                                     response: g.text, tokens: g.tokens, finish: g.finish)
                }
                let n = made.count
                let s = sampling
                let how = template + " temperature=\(s.temperature) top_k=\(s.topK) top_p=\(s.topP) "
                    + (s.minP > 0 ? "min_p=\(s.minP) " : "") + "max_new_tokens=\(s.maxNewTokens) seed=\(s.seed)"
                if promptTasks.contains(.generate) {
                    let (length, lengthStderr) = Statistics.mean(made.map { Double($0.tokens) })
                    let stopped = Double(made.filter { $0.finish != "length" }.count) / Double(n)
                    results.append(result("response_tokens", length, lengthStderr, n: n, settings: how))
                    results.append(result("stopped", stopped, Statistics.binomialStderr(stopped, n: n), n: n, settings: how))
                    let asks = Double(made.filter { opensWithQuestion($0.text) }.count) / Double(n)
                    results.append(result("asks_question", asks, Statistics.binomialStderr(asks, n: n), n: n, settings: how))
                }
                if promptTasks.contains(.reward) || promptTasks.contains(.winrate) {
                    guard let judge else { throw IOFailure("the reward and winrate tasks need --reward-model DIR") }
                    let prompts = e.set.items.map(\.promptTurns)
                    // One reward model serves every checkpoint: --jobs takes turns on it.
                    let rewards = judgeLock.withLock { judge.rewards(prompts: prompts, responses: made.map(\.text)) }
                    for k in records.indices { records[k].reward = rewards[k] }
                    let judged = how + " reward_model=\(judge.path)"
                    if promptTasks.contains(.reward) {
                        results += RewardMetrics.distribution(rewards, seed: seed).map {
                            result($0.metric, $0.value, $0.stderr, n: n, settings: judged, task: .reward)
                        }
                    }
                    if promptTasks.contains(.winrate) {
                        guard let baseline, let theirs = baseline.responses[e.set.path] else {
                            throw IOFailure("the winrate task needs --baseline (a checkpoint, or a generations file with a response to every prompt of \(e.set.path))")
                        }
                        let theirRewards = judgeLock.withLock {
                            let known = baselineRewards[e.set.path] ?? judge.rewards(prompts: prompts, responses: theirs)
                            baselineRewards[e.set.path] = known
                            return known
                        }
                        let lengths = zip(made, theirs).map { Double($0.text.count - $1.count) }
                        let (metrics, converged) = RewardMetrics.winRates(rewards, against: theirRewards, lengthDifferences: lengths,
                                                                          tolerance: tieTolerance)
                        if !converged {
                            lock.withLock {
                                notes.append("\(checkpoint.ref.path), \(e.set.path): the length-controlled win rate did not converge "
                                    + "(wins and losses separated by length); its value is the last Newton step's, without an error")
                            }
                        }
                        let against = judged + " baseline=\(baseline.name) tie_tolerance=\(tieTolerance) length=characters"
                        results += metrics.map { result($0.metric, $0.value, $0.stderr, n: n, settings: against, task: .winrate) }
                    }
                }
                // Whatever task made them, the responses are what --generations keeps.
                generations += records
            }
        }
        return (results, generations)
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
    public static func score(_ items: [EncodedChoice], weights: InferenceWeights) throws -> [(acc: Bool, accNorm: Bool)] {
        let capacity = items.map { $0.context.count + ($0.continuations.map(\.count).max() ?? 0) }.max() ?? 1
        let slots = (items.map(\.continuations.count).max() ?? 1) + 1
        let generator = Generator(weights: weights, slots: slots, capacity: capacity)
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
