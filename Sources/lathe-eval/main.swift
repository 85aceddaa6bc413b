import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheEval
import LatheIO
import LatheModel
import LatheTensor

struct LatheEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe-eval",
        abstract: "Evaluate many checkpoints on eval sets: loss, perplexity, preference accuracy, multiple choice, generation.",
        discussion: """
            Each --data file holds one record kind, which picks its task: conversations -> loss, documents -> ppl, \
            preference pairs -> prefs, multiple-choice items {"id","question","choices":[...],"answer":index} -> choice, \
            prompts {"id","prompt"} -> generate (and reward, winrate with --reward-model, --baseline). Results are eval-result records (one per checkpoint x task x metric, \
            with n and a standard error) on stdout or -o, a table on stderr, and with --report an HTML page of plots.
            --jobs N evaluates up to N checkpoints at once, fewer when their estimated memory (weights and buffers, \
            from each config) does not fit in what the machine has available; the plan is printed on stderr, and the \
            results are the same, in the same order, as with --jobs 1.
            """,
        version: latheVersion)

    @Argument(help: "Checkpoints: directories in the Hugging Face layout, GGUF files, run directories (every checkpoint-STEP or step-STEP inside, in step order), glob patterns, or text files listing any of these one per line.")
    var checkpoints: [String] = []

    @Option(name: .customLong("data"), help: "An eval set, JSON Lines (plain or gzip), one record kind per file; repeat for more.")
    var data: [String] = []

    @Option(help: "Comma-separated tasks to run among loss, ppl, prefs, choice, generate, reward, winrate (default: every task some --data file feeds; for prompts generate, plus reward with --reward-model and winrate with --baseline).")
    var tasks: String?

    @Option(name: [.short, .customLong("output")], help: "Write the eval-result records to this file ('-' for stdout, the default; .gz for gzip).")
    var output: String?

    @Option(help: "Write an HTML report (one file, inline SVG plots of each metric against training step) to this file.")
    var report: String?

    @Option(help: "Eval-result records of an earlier run (JSON Lines, as -o writes them) to show beside this run's in the table and --report; repeat for several. They are not written to -o again.")
    var include: [String] = []

    @Option(help: "Write the responses to prompt sets here (generate, reward and winrate make them), one record per checkpoint x prompt, with its reward when a reward model scores it (needed when generate runs).")
    var generations: String?

    @Option(name: .customLong("ref"), help: "A reference checkpoint for prefs: adds DPO's implicit-reward accuracy and margin (default: none).")
    var reference: String?

    @Option(help: "DPO's beta scaling the implicit reward in reward_margin (default 0.1).")
    var beta = 0.1

    @Option(name: [.customLong("num-fewshot"), .customLong("few-shot")],
            help: "Solved examples placed before each multiple-choice question: drawn from --fewshot-from, else the items after the question in its own set (default 0).")
    var fewShot = 0

    @Option(help: "A file of solved multiple-choice items (a few-shot split) to draw the --num-fewshot examples from, at random under --seed, never the question itself (default: the eval set's own items).")
    var fewshotFrom: String?

    @Option(help: "Chat template for conversations, pairs, prompts and questions: chatml, llama3, zephyr, alpaca, plain, on (= chatml) or off (plain text; conversations use plain). Default chatml.")
    var chatTemplate = "chatml"

    @Option(help: "Longest sequence scored, in tokens: conversations and pairs are cut to it, documents read in rolling windows of it (default 256).")
    var seqLen = 256

    @Option(help: "Sequences per forward pass, batched longest first (default 8); scores do not depend on it beyond float rounding.")
    var batchSize = 8

    @Option(help: "A reward model (LlamaForSequenceClassification checkpoint, as lathe-train --objective reward writes) that the reward and winrate tasks score responses with (default: none).")
    var rewardModel: String?

    @Option(help: "Weights of the model as the forward multiplies by them: fp32, or bf16 (held in 16 bits and multiplied on AMX tiles with activations rounded to bf16, or widened a layer at a time to fp32 where the CPU has no AMX; sums stay fp32; scores move by about 1e-2 at most). Recorded in each result's settings (default fp32).")
    var dtype = "fp32"

    @Flag(help: "Print the BLAS library and the bf16 kernel in use.")
    var verbose = false

    @Option(help: "What winrate compares with: a checkpoint, whose responses to the same prompts are generated with the same options, or a --generations file of an earlier run holding one checkpoint's response to every prompt (default: none).")
    var baseline: String?

    @Option(help: "Rewards at most this far apart count as a tie (half a win) in winrate, in reward units (default 0.001).")
    var tieTolerance = 1e-3

    @OptionGroup(title: "Sampling (generate, reward, winrate)") var sampling: SamplingArguments

    @OptionGroup var runOptions: RunOptions

    var template: ChatTemplate? {
        switch chatTemplate {
        case "off": nil
        case "on": .chatml
        default: ChatTemplate(rawValue: chatTemplate)
        }
    }

    var taskList: [EvalTask]? {
        tasks.map { $0.split(separator: ",").compactMap { EvalTask(rawValue: $0.trimmingCharacters(in: .whitespaces)) } }
    }

    /// What runs on prompt sets: --tasks' choice, else generate plus what the options enable.
    var promptTasks: Set<EvalTask> {
        if let taskList { return Set(taskList.filter { $0.kind == .prompt }) }
        return Set([.generate] + (rewardModel == nil ? [] : [.reward]) + (baseline == nil ? [] : [.winrate]))
    }

    func validate() throws {
        if checkpoints.isEmpty { throw ValidationError("give at least one checkpoint (a directory, GGUF file, run directory, glob or list).") }
        if data.isEmpty { throw ValidationError("give at least one eval set with --data FILE.") }
        if chatTemplate != "off" && chatTemplate != "on" && ChatTemplate(rawValue: chatTemplate) == nil {
            throw ValidationError("--chat-template \(chatTemplate) is not known; choose on, off, "
                + ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
        if let tasks {
            for name in tasks.split(separator: ",") where EvalTask(rawValue: name.trimmingCharacters(in: .whitespaces)) == nil {
                throw ValidationError("--tasks: \(name) is not a task; choose among "
                    + EvalTask.allCases.map(\.rawValue).joined(separator: ", ") + ".")
            }
        }
        if (promptTasks.contains(.reward) || promptTasks.contains(.winrate)) && rewardModel == nil {
            throw ValidationError("the reward and winrate tasks score responses with a reward model: give --reward-model DIR.")
        }
        if promptTasks.contains(.winrate) && baseline == nil {
            throw ValidationError("winrate compares with a baseline: give --baseline CHECKPOINT (or a generations file).")
        }
        if !(tieTolerance >= 0) { throw ValidationError("--tie-tolerance must be 0 or more.") }
        for (name, value) in [("--seq-len", seqLen), ("--batch-size", batchSize)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, not \(value).")
        }
        if fewShot < 0 { throw ValidationError("--num-fewshot must not be negative.") }
        if fewshotFrom != nil && fewShot == 0 { throw ValidationError("--fewshot-from needs --num-fewshot K (K ≥ 1) to draw examples.") }
        if MatmulPrecision(rawValue: dtype) == nil { throw ValidationError("--dtype must be fp32 or bf16, not \(dtype).") }
    }

    func run() throws {
        try runReportingErrors(tool: "lathe-eval") {
            let started = Date()
            let rejects = try runOptions.rejects.map { try OutputSink(path: $0, gzipLevel: OutputSink.wantsGzip($0) ? 6 : nil) }
            var sets: [EvalSet] = []
            var stats = RunStats()
            for path in data {
                let set = try EvalSet.load(path: path, onError: runOptions.onError, rejects: rejects)
                stats.merge(set.stats)
                sets.append(set)
            }
            let fewShotPool = try fewshotFrom.map { path in
                let pool = try EvalSet.load(path: path, kind: .choice, onError: runOptions.onError, rejects: rejects)
                stats.merge(pool.stats)
                return FewShotPool(path: path, items: pool.items, seed: runOptions.seed)
            }
            try rejects?.close()
            let earlier = try include.flatMap { try EvalResult.load(path: $0) }
            if let wanted = taskList {
                for set in sets where !wanted.contains(where: { $0.kind == set.kind }) {
                    throw IOFailure("\(set.path): holds \(set.kind.rawValue) records, which only the "
                        + set.kind.tasks.map(\.rawValue).joined(separator: ", ") + " task\(set.kind.tasks.count > 1 ? "s read" : " reads"), "
                        + "and --tasks \(tasks!) leaves it out; add it to --tasks or drop this --data file")
                }
                for task in wanted where !sets.contains(where: { $0.kind == task.kind }) {
                    throw IOFailure("--tasks asks for \(task.rawValue) but no --data file holds \(task.kind.rawValue) records")
                }
            }
            if sets.contains(where: { $0.kind == .prompt }) && promptTasks.contains(.generate) && generations == nil {
                throw IOFailure("a prompt set is given (generate) but no --generations FILE to write the responses to")
            }

            let evaluator = Evaluator(sets: sets, settings: EvalSettings(template: template, fewShot: fewShot, fewShotFrom: fewShotPool, seqLen: seqLen))
            evaluator.batchSize = batchSize
            evaluator.precision = MatmulPrecision(rawValue: dtype)!
            evaluator.seed = runOptions.seed
            evaluator.beta = beta
            evaluator.sampling = SamplingOptions(temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP,
                                                 minP: sampling.minP, maxNewTokens: sampling.maxNewTokens, seed: runOptions.seed)
            evaluator.promptTasks = promptTasks
            evaluator.tieTolerance = tieTolerance
            if let reference {
                try evaluator.setReference(Checkpoints.load(CheckpointRef(path: reference)))
            }
            if let rewardModel {
                evaluator.judge = try RewardJudge(Checkpoints.load(CheckpointRef(path: rewardModel)), template: template,
                                                  batchSize: batchSize)
            }
            if let baseline, promptTasks.contains(.winrate) {
                // A checkpoint (directory or GGUF) generates; any other file is read as generation records.
                var isDirectory: ObjCBool = false
                if Checkpoint.isGGUF(baseline) || (FileManager.default.fileExists(atPath: baseline, isDirectory: &isDirectory) && isDirectory.boolValue) {
                    try evaluator.setBaseline(Checkpoints.load(CheckpointRef(path: baseline)))
                } else {
                    try evaluator.setBaseline(generationsFile: baseline)
                }
            }

            let refs = Checkpoints.resolve(checkpoints)
            if verbose {
                printError("lathe-eval: BLAS: \(BLAS.describe())")
                if evaluator.precision == .bf16 { printError("lathe-eval: bf16 products: \(BF16Matmul.kernel)") }
            }
            let evaluationStarted = Date()
            if !runOptions.quiet {
                printError("lathe-eval: \(refs.count) checkpoints x \(sets.count) eval sets ("
                    + sets.map { "\($0.name): \($0.items.count) \($0.kind.rawValue)s" }.joined(separator: ", ") + ")")
            }
            let out = try OutputSink(path: output ?? "-", gzipLevel: OutputSink.wantsGzip(output ?? "-") ? 6 : nil)
            let generationsOut = try generations.map { try OutputSink(path: $0) }
            let plan = JobPlan(requested: runOptions.jobs, refs: refs, evaluator: evaluator,
                               caches: sets.contains { $0.kind == .prompt || $0.kind == .choice }, maxNewTokens: sampling.maxNewTokens)
            if !runOptions.quiet && refs.count > 1 { printError("lathe-eval: --jobs \(runOptions.jobs): \(plan.description)") }
            var results: [EvalResult] = []
            var next = 0
            // Checkpoints load and run on plan.jobs threads; results are written here in the order given.
            try orderedParallelMap(jobs: plan.jobs, inFlight: plan.jobs, produce: { () -> CheckpointRef? in
                defer { next += 1 }
                return next < refs.count ? refs[next] : nil
            }, transform: { ref in
                (ref, Result { try evaluator.evaluate(Checkpoints.load(ref)) })
            }, consume: { ref, outcome in
                let made: [EvalResult]
                do {
                    let (scores, responses) = try outcome.get()
                    for g in responses { try generationsOut?.write(g.json) }
                    made = scores
                    if !runOptions.quiet { printError("lathe-eval: evaluated \(ref.path)") }
                } catch let error as IOFailure where runOptions.onError == .skip {
                    printError("lathe-eval: \(error.message); skipped (--on-error skip)")
                    made = [EvalResult(checkpoint: ref.path, step: ref.step, task: "load", metric: "failed", value: 1,
                                       stderr: nil, n: 0, error: error.message)]
                }
                for r in made { try out.write(r.json) }
                results += made
            })
            try out.close()
            try generationsOut?.close()
            let shown = earlier + results
            if let report {
                try writeFileAtomically(report, bytes: Array(EvalReport.html(shown).utf8))
            }
            stats.recordsOut = results.count
            stats.seconds = Date().timeIntervalSince(started)
            if let path = runOptions.stats {
                let sink = try OutputSink(path: path)
                try sink.write(stats.json(tool: "lathe-eval"))
                try sink.close()
            }
            if !runOptions.quiet {
                for note in evaluator.notes { printError("lathe-eval: \(note)") }
                let seconds = Date().timeIntervalSince(evaluationStarted)
                printError("lathe-eval: \(evaluator.scoredTokens) tokens scored (loss, ppl, prefs) in \(String(format: "%.2f", seconds)) s of evaluation"
                    + (seconds > 0 ? String(format: ", %.0f tokens/s", Double(evaluator.scoredTokens) / seconds) : ""))
                printError(EvalReport.table(shown))
                printError(stats.summaryLine(tool: "lathe-eval"))
            }
            if results.contains(where: { $0.error != nil }) && runOptions.onError != .skip { throw ExitCode.failure }
        }
    }
}

LatheEvalCommand.main()
