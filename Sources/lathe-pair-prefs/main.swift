import ArgumentParser
import LatheCLI
import LatheData
import LatheIO

extension PreferenceInput: ExpressibleByArgument {}
extension PairStrategy: ExpressibleByArgument {}
extension PreferenceStyle: ExpressibleByArgument {}

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

    @OptionGroup var splitOptions: SplitOptions
    @OptionGroup var io: IOOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if minMargin < 0 { throw ValidationError("--min-margin must not be negative.") }
        if let maxPairsPerPrompt, maxPairsPerPrompt < 1 { throw ValidationError("--max-pairs-per-prompt must be at least 1.") }
        if let maxLengthRatio, !(maxLengthRatio >= 1) { throw ValidationError("--max-length-ratio must be at least 1.") }
        if let split = splitOptions.split {
            do { _ = try SplitSpec(parsing: split) } catch { throw ValidationError(error.description) }
            if io.output != nil { throw ValidationError("--split writes into --out-dir; -o has no use with it.") }
        }
    }

    func builder() -> PreferenceBuilder {
        var builder = PreferenceBuilder()
        builder.input = from
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

    func run() throws {
        try runReportingErrors(tool: "lathe-pair-prefs") {
            var config = io.pipelineConfig(tool: "lathe-pair-prefs", run: runOptions)
            let builder = builder()
            let spec = try splitOptions.split.map { try SplitSpec(parsing: $0) }
            let splits = try splitOptions.open(names: spec?.names ?? [], config: &config)
            let seed = runOptions.seed
            let judgments = JudgmentAggregator(builder: builder)

            /// Kept pairs go to their split, or out through the pipeline.
            func deliver(_ pairs: [PreferenceRecord]) throws -> [Outcome] {
                guard let spec, let splits else { return pairs.map { .keep($0.record) } }
                for pair in pairs { try splits.write(pair.record, to: spec.assign(pair.splitKey, seed: seed)) }
                return []
            }

            do {
                try JSONLinesPipeline.runStateful(config, prepare: { record, location in
                    do {
                        return Result<PreferenceItem, Dropped>.success(try builder.build(record, at: location))
                    } catch let dropped as Dropped {
                        return .failure(dropped)
                    }
                }, decide: { result, record, _ in
                    switch result {
                    case .failure(let dropped): return [.drop(record, reason: dropped.reason, detail: dropped.detail.map(JSONValue.string))]
                    case .success(.pairs(let pairs)): return try deliver(pairs)
                    case .success(.judgment(let judgment)):
                        judgments.add(judgment, record: record)
                        return []
                    }
                }, finish: { sink in
                    for (verdict, records) in judgments.verdicts() {
                        switch verdict {
                        case .pair(let pair):
                            for outcome in try deliver([pair]) { if case .keep(let kept) = outcome { try sink.emit(kept) } }
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
