import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheEval
import LatheIO
import LatheModel

extension PreferenceInput: ExpressibleByArgument {}
extension PairStrategy: ExpressibleByArgument {}
extension PreferenceStyle: ExpressibleByArgument {}
extension ChatTemplate: ExpressibleByArgument {}

struct PairPrefs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe-pair-prefs",
        abstract: "Turn ranked answers, scored samples and A/B judgments into preference pairs.",
        discussion: """
            Reads Lathe threads (answers scored log2(1 + max(0, votes)) plus --accepted-bonus when accepted), \
            candidates {prompt, responses: [{content, score}]} and judgments {prompt, response_a, response_b, \
            winner}, each recognised by its fields (or forced with --from). Writes preference records \
            (schemas/preference.schema.json) with score_chosen, score_rejected, source, and the id \
            RECORD:CHOSEN>REJECTED (the responses' positions in the record).

            Pairs from threads and candidates come in input order. Judgments of the same prompt and pair of \
            responses (in either order) are settled by majority after all input is read and written last, \
            with the first judgment's id and the votes for each side as scores.

            With --policy and --reward-model, prompt records {id, prompt} come in: each prompt's --samples \
            responses are sampled from the policy (seeded per prompt by --seed), scored by the reward model, \
            and paired as candidates are (best-vs-worst by default), the rewards as score_chosen and score_rejected.

            Drop reasons: no_answers, too_few_responses, unscored_response, identical_responses, \
            equal_scores, below_min_margin, length_ratio, tie (only tie votes), contradictory_judgments \
            (as many votes for each side).
            """,
        version: latheVersion)

    @Option(help: "Input kind: auto (recognise each record by its fields; the default), thread, candidates, judgment.")
    var from: PreferenceInput = .auto

    @Option(help: "Which pairs to make from a prompt's responses: best-vs-worst (the default), best-vs-rest, all-pairs, random-pair.")
    var strategy: PairStrategy = .bestVsWorst

    @Option(help: "Pair only when the chosen score exceeds the rejected one by at least this much (default 0; equal scores are never paired).")
    var minMargin = 0.0

    @Option(help: "Keep at most this many pairs per prompt, the largest score margins first (default: no limit).")
    var maxPairsPerPrompt: Int?

    @Option(help: "Skip pairs whose longer response has more than this many times the characters of the shorter (default: no limit).")
    var maxLengthRatio: Double?

    @Option(help: "Output form: 'conversational' (prompt, chosen, rejected as message lists; the default) or 'standard' (as text).")
    var style: PreferenceStyle = .conversational

    @Option(help: "Threads: added to an accepted answer's score (default 1).")
    var acceptedBonus = 1.0

    @Option(help: "Candidates: dotted paths of ratings inside each response to average into its score, comma-separated (e.g. annotations.helpfulness.Rating,annotations.honesty.Rating; numbers as text are read, 'N/A' skipped). Default: each response's 'score'.")
    var aspects: String?

    @Option(help: "A policy checkpoint to sample responses from; the input is then prompt records {id, prompt} (default: none).")
    var policy: String?

    @Option(help: "A reward model (LlamaForSequenceClassification checkpoint) that scores the --policy samples (default: none; needed with --policy).")
    var rewardModel: String?

    @Option(help: "Responses sampled per prompt with --policy (default 4).")
    var samples = 4

    @Option(help: "Chat template the prompts are rendered with for the policy and the reward model: chatml (the default), llama3, zephyr, alpaca, plain.")
    var chatTemplate: ChatTemplate = .chatml

    @OptionGroup(title: "Sampling (--policy)") var sampling: SamplingArguments

    @OptionGroup var splitOptions: SplitOptions
    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if minMargin < 0 { throw ValidationError("--min-margin must not be negative.") }
        if let maxPairsPerPrompt, maxPairsPerPrompt < 1 { throw ValidationError("--max-pairs-per-prompt must be at least 1.") }
        if let maxLengthRatio, !(maxLengthRatio >= 1) { throw ValidationError("--max-length-ratio must be at least 1.") }
        if (policy == nil) != (rewardModel == nil) {
            throw ValidationError("--policy and --reward-model go together: samples from the one are scored by the other.")
        }
        if policy != nil && samples < 2 { throw ValidationError("--samples must be at least 2 to make a pair, not \(samples).") }
        if policy != nil && from != .auto { throw ValidationError("--from has no use with --policy: the input is prompt records.") }
        if let split = splitOptions.split {
            do { _ = try SplitSpec(parsing: split) } catch { throw ValidationError(error.description) }
            if io.output != nil { throw ValidationError("--split writes into --out-dir; -o has no use with it.") }
        }
    }

    func builder() -> PreferenceBuilder {
        var builder = PreferenceBuilder()
        builder.input = policy == nil ? from : .candidates
        builder.pairing.strategy = strategy
        builder.pairing.minMargin = minMargin
        builder.pairing.maxPairsPerPrompt = maxPairsPerPrompt
        builder.pairing.maxLengthRatio = maxLengthRatio
        builder.pairing.seed = runOptions.seed
        builder.style = style
        builder.acceptedBonus = acceptedBonus
        builder.aspects = (aspects ?? "").split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
        return builder
    }

    /// The sampler of --policy and --reward-model, or nil without them.
    func onPolicySampler() throws -> OnPolicySampler? {
        guard let policy, let rewardModel else { return nil }
        let judge = try RewardJudge(Checkpoints.load(CheckpointRef(path: rewardModel)), template: chatTemplate, batchSize: samples)
        let options = SamplingOptions(temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP, minP: sampling.minP,
                                      maxNewTokens: sampling.maxNewTokens, seed: runOptions.seed)
        return try OnPolicySampler(policy: Checkpoints.load(CheckpointRef(path: policy)), judge: judge, template: chatTemplate,
                                   samples: samples, sampling: options)
    }

    /// A prompt record's id (else file:line) and its prompt text.
    static func prompt(_ record: JSONValue, at location: SourceLocation) throws -> (String, String) {
        guard let prompt = record["prompt"]?.string else {
            throw RecordError(location, "expected a prompt record {\"id\", \"prompt\": text} for --policy, found "
                + (record["prompt"].map { "\"prompt\" as \($0.typeName) (message lists are not read here)" } ?? record.object.map { "fields " + $0.map(\.0).joined(separator: ", ") }
                    ?? record.typeName), reason: "invalid_prompt")
        }
        return (record["id"]?.string ?? record["id"]?.int.map(String.init) ?? location.description, prompt)
    }

    /// Thread lines read from their bytes, the rest left to the parser; nil (every line parsed)
    /// with --policy, whose prompts are read in `decide`, or when LATHE_NO_FAST_PATH is set, for
    /// the tests that compare the two paths' output.
    func lineReader(_ builder: PreferenceBuilder) -> (@Sendable (UnsafeRawBufferPointer, SourceLocation) -> Result<PreferenceItem, Dropped>??)? {
        guard policy == nil, ProcessInfo.processInfo.environment["LATHE_NO_FAST_PATH"] == nil else { return nil }
        return { line, location in
            guard let item = builder.build(line: line, at: location) else { return nil }
            return item
        }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-pair-prefs") {
            var config = io.pipelineConfig(tool: "lathe-pair-prefs", run: runOptions)
            let builder = builder()
            let spec = try splitOptions.split.map { try SplitSpec(parsing: $0) }
            let splits = try splitOptions.open(names: spec?.names ?? [], config: &config)
            let seed = runOptions.seed
            let judgments = JudgmentAggregator(builder: builder)
            let sampler = try onPolicySampler(), onPolicy = sampler != nil
            var promptIndex = 0

            /// Kept pairs go to their split, or out through the pipeline.
            func deliver(_ pairs: [PreferenceRecord]) throws -> [JSONLinesPipeline.LineOutcome] {
                guard let spec, let splits else { return pairs.map { .keep($0.line) } }
                for pair in pairs { try splits.write(line: pair.line, to: spec.assign(pair.splitKey, seed: seed)) }
                return []
            }

            do {
                try JSONLinesPipeline.runOrdered(config, prepareLine: lineReader(builder), prepare: { record, location in
                    // --policy samples in `decide`, one prompt after another (the model is not shared across threads).
                    if onPolicy { return Result<PreferenceItem, Dropped>?.none }
                    do {
                        return Result<PreferenceItem, Dropped>.success(try builder.build(record, at: location))
                    } catch let dropped as Dropped {
                        return .failure(dropped)
                    }
                }, decide: { result, input in
                    if let sampler {
                        defer { promptIndex += 1 }
                        let (id, prompt) = try Self.prompt(input.record(), at: input.location)
                        let candidates = try sampler.candidates(id: id, prompt: prompt, index: promptIndex)
                        do {
                            guard case .pairs(let pairs) = try builder.build(candidates, at: input.location) else { return [] }
                            return try deliver(pairs)
                        } catch let dropped as Dropped {
                            return [.drop(reason: dropped.reason, detail: dropped.detail.map(JSONValue.string))]
                        }
                    }
                    switch result! {
                    case .failure(let dropped): return [.drop(reason: dropped.reason, detail: dropped.detail.map(JSONValue.string))]
                    case .success(.pairs(let pairs)): return try deliver(pairs)
                    case .success(.judgment(let judgment)):
                        judgments.add(judgment, record: input.record())
                        return []
                    }
                }, finish: { sink in
                    for (verdict, records) in judgments.verdicts() {
                        switch verdict {
                        case .pair(let pair):
                            for outcome in try deliver([pair]) { if case .keep(let line) = outcome { try sink.emitLine(line[...]) } }
                        case .drop(let reason, let detail):
                            for record in records { try sink.drop(record, reason: reason, detail: .string(detail)) }
                        }
                    }
                    try splits?.finish(sink)
                })
            } catch {
                splits?.abandon()
                throw error
            }
        }
    }
}

PairPrefs.main()
