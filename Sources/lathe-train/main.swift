import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheIO
import LatheModel
import LatheTensor
import LatheTokenizer
import LatheTrain
import Synchronization

extension MatmulPrecision: ExpressibleByArgument {}
extension DPOLossKind: ExpressibleByArgument {}

/// What `--objective` takes: TrainingData's objectives, and dpo, simpo and orpo on preference pairs.
enum TrainObjective: String, CaseIterable, ExpressibleByArgument {
    case pretrain, sft, dpo, simpo, orpo, reward, grpo, ppo
    var data: Objective { Objective(rawValue: rawValue) ?? .sft }
}
extension LearningRateSchedule: ExpressibleByArgument {}
extension ChatTemplate: ExpressibleByArgument {}

struct LatheTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lathe-train",
        abstract: "Train byte-level BPE tokenizers and Llama-family models (pretraining and SFT) into Hugging Face-layout checkpoints.",
        discussion: """
            `lathe-train run --help` lists the training options (run is the default subcommand); \
            `lathe-train tokenizer --help` the tokenizer's.
            """,
        version: latheVersion,
        subcommands: [Train.self, TrainTokenizer.self, ScoreRecords.self],
        defaultSubcommand: Train.self)
}

/// Prints and exits 1 for the errors a run can end with; usage errors stay with ArgumentParser.
func runTool(_ body: () throws -> Void) throws {
    do {
        try runReportingErrors(tool: "lathe-train", body)
    } catch let error as TrainingError {
        printError("lathe-train: \(error.description)")
        throw ExitCode.failure
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Pretrain on documents or fine-tune on conversations (the default subcommand).",
        discussion: """
            Checkpoints go to --out/checkpoint-STEP in the Hugging Face layout (config.json, model.safetensors, \
            tokenizer.json, tokenizer_config.json with the chat template, generation_config.json) with \
            trainer_state.json and optimizer.safetensors for --resume, which continues bit for bit. \
            Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes a checkpoint and exits.
            """)

    @Argument(help: "Training data, JSON Lines (plain or gzip): documents for pretrain, conversations for sft, preference pairs for dpo, simpo and orpo. Reads stdin when none is given or one is '-'.")
    var inputs: [String] = []

    @Option(help: "pretrain (next-token loss on documents joined with end-of-text, cut into --seq-len windows), sft (loss on the assistant's tokens only), dpo (preference pairs against a frozen reference), simpo (length-normalised, with --gamma) or orpo (SFT loss on chosen plus an odds-ratio penalty) on pairs without a reference, reward (a reward model on preference pairs, saved as LlamaForSequenceClassification), grpo or ppo (RL on prompt records against --reward-model). Default: pretrain.")
    var objective: TrainObjective = .pretrain

    @Option(help: "How strongly the policy is held: dpo's β to the reference (default 0.1), simpo's β on mean token log-probabilities (default 2.0), orpo's λ weighting the odds-ratio term (default 0.1), grpo's KL weight (default 0, which loads no reference).")
    var beta: Double?

    @OptionGroup(title: "DPO, SimPO and ORPO") var dpo: DPOOptions

    @OptionGroup(title: "Reward model") var rewardOptions: RewardOptions

    @OptionGroup(title: "GRPO and PPO") var rl: RLOptions

    @Option(help: "For dpo, grpo and ppo: the reference model's checkpoint directory or GGUF file (default: the starting model). For dpo its log-probabilities are computed once into --out/ref_logps.bin.")
    var ref: String?

    @Option(help: "Size preset: tiny (4 layers x 256), small (8 x 512) or smollm2-135m; the vocabulary is the tokenizer's. Default: tiny, unless --config or --init is given.")
    var model: String?

    @Option(help: "A Hugging Face config.json (LlamaForCausalLM) giving the model's shape, initialised from --seed.")
    var config: String?

    @Option(name: .customLong("init"), help: "Start from this checkpoint directory (Lathe's or one saved by transformers: f32, f16 or bf16 safetensors) or a GGUF file of the Llama family (weights dequantised to fp32); its tokenizer is used unless --tokenizer is given.")
    var initFrom: String?

    @Option(help: "The tokenizer.json to tokenise with (train one with `lathe-train tokenizer`). Default: the one in --init or the resumed checkpoint.")
    var tokenizer: String?

    @Option(help: "Chat template for sft: chatml, llama3, zephyr, alpaca or plain (default chatml). Its Jinja form goes into tokenizer_config.json.")
    var chatTemplate: ChatTemplate = .chatml

    @Flag(help: "For sft: pack several conversations into each --seq-len row, attention kept inside each (default: one conversation per row).")
    var packing = false

    @Option(help: "Tokens per training row (default 256).")
    var seqLen = 256

    @Option(help: "Rows per micro-batch (default 8).")
    var batchSize = 8

    @Option(help: "Micro-batches whose gradients add up to one optimizer step (default 1).")
    var gradAccum = 1

    @Option(help: "Matrix-product inputs: fp32, or bf16 (inputs rounded to bfloat16, fp32 accumulation and master weights). Default: fp32.")
    var dtype: MatmulPrecision = .fp32

    @Option(help: "Peak learning rate (default 3e-4).")
    var lr = 3e-4

    @Option(help: "Steps of linear warmup from 0 to --lr (default 0).")
    var warmup = 0

    @Option(help: "Learning rate after warmup: cosine (down to 10% of --lr at the last step, the default), linear (down to 0) or constant.")
    var schedule: LearningRateSchedule = .cosine

    @Option(help: "AdamW decoupled weight decay on matrices; none on norm weights (default 0.1).")
    var weightDecay = 0.1

    @Option(help: "Clip the global gradient norm to this (default 1.0; 0 turns clipping off).")
    var clip = 1.0

    @Option(help: "Optimizer steps to train in all (default 100 unless --epochs is given).")
    var steps: Int?

    @Option(help: "Passes over the training data, instead of --steps (rounded up to whole steps).")
    var epochs: Double?

    @Option(help: "Held-out data of the same kind; its mean loss per token is logged as eval_loss (preference pairs: the objective's loss and eval_rewards/accuracies, eval_rewards/margins, …; reward: eval_loss, eval_accuracy and eval_margin).")
    var evalData: [String] = []

    @Option(help: "Evaluate every this many steps (default 0: only after the last step, when --eval-data is given).")
    var evalEvery = 0

    @Option(help: "Write a checkpoint every this many steps (default 0: only at the end).")
    var saveEvery = 0

    @Option(help: "Keep only the newest this many checkpoints in --out (default 0: keep all).")
    var keepLast = 0

    @Option(help: "Directory for checkpoints (default out).")
    var out = "out"

    @Flag(help: "Continue from the newest checkpoint-STEP in --out: weights, optimizer moments, data order and step, bit for bit.")
    var resume = false

    @Option(help: "Write one JSON line per step (step, tokens, loss, lr, grad_norm, tokens_per_s, eval_loss) to this file.")
    var log: String?

    @Flag(help: "Print the BLAS library and kernel in use, and the data and model details.")
    var verbose = false

    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        for (name, value) in [("--seq-len", seqLen), ("--batch-size", batchSize), ("--grad-accum", gradAccum)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, not \(value).")
        }
        for (name, value) in [("--warmup", warmup), ("--eval-every", evalEvery), ("--save-every", saveEvery), ("--keep-last", keepLast)]
            where value < 0 {
            throw ValidationError("\(name) must not be negative.")
        }
        if [model != nil, config != nil, initFrom != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --model, --config and --init.")
        }
        if let model, LlamaConfig.preset(named: model) == nil {
            throw ValidationError("--model \(model) is not a preset; choose \(LlamaConfig.presets.map(\.name).joined(separator: ", ")).")
        }
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both.") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1.") }
        if let epochs, !(epochs > 0) { throw ValidationError("--epochs must be positive.") }
        guard lr > 0, weightDecay >= 0, clip >= 0 else { throw ValidationError("--lr must be positive, --weight-decay and --clip not negative.") }
        if packing && objective != .sft { throw ValidationError("--packing applies to --objective sft.") }
        if resume && initFrom != nil { throw ValidationError("--resume continues from --out; it cannot be combined with --init.") }
        try rewardOptions.validate(objective: objective)
        try dpo.validate(objective: objective, beta: beta, ref: ref)
        try rl.validate(objective: objective, beta: beta, batchSize: batchSize, seqLen: seqLen, gradAccum: gradAccum, evalData: evalData,
                        resume: resume, initFrom: initFrom)
    }

    func run() throws {
        try runTool {
            if verbose { printError("lathe-train: BLAS: \(BLAS.describe())") }
            if let initFrom, !isDirectory(initFrom) && !Checkpoint.isGGUF(initFrom) {
                throw IOFailure("\(initFrom): no such checkpoint directory; --init takes a directory with config.json and model.safetensors, or a GGUF file")
            }
            if let initFrom { try requireCausalLM(initFrom, option: "--init") }
            let resumeFrom = try resumeDirectory()
            let tokenizer = try loadTokenizer(resumeFrom: resumeFrom)
            let state = try resumeFrom.map { try TrainerState(contentsOf: $0) }
            let run: TrainingRun
            switch objective {
            case .pretrain, .sft: run = try makeTrainer(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state)
            case .dpo, .simpo, .orpo: run = try makeDPO(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state)
            case .reward: run = try makeReward(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state)
            case .grpo: run = try makeGRPO(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state)
            case .ppo: run = try makePPO(tokenizer: tokenizer, resumeFrom: resumeFrom, state: state)
            }
            if let resumeFrom, !runOptions.quiet {
                printError("lathe-train: resuming \(resumeFrom) at step \(run.step) of \(run.settings.steps)")
            }
            try train(run)
        }
    }

    /// Pretraining or SFT on TrainingData.
    func makeTrainer(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> Trainer {
        var dataSettings = DataSettings(objective: objective.data, seqLen: seqLen)
        dataSettings.packing = packing
        dataSettings.template = chatTemplate
        dataSettings.onError = runOptions.onError
        dataSettings.jobs = runOptions.jobs
        let rejects = try runOptions.rejects.map { try OutputSink(path: $0, gzipLevel: OutputSink.wantsGzip($0) ? 6 : nil) }
        let started = Date()
        let data = try TrainingData(paths: inputs, tokenizer: tokenizer, settings: dataSettings, rejects: rejects)
        try rejects?.close()
        try report(data.stats, since: started)
        if !runOptions.quiet {
            printError("lathe-train: \(data.count) examples of \(seqLen) tokens or fewer per epoch, \(data.labelledTokens) tokens with loss"
                + (data.truncated > 0 ? "; \(data.truncated) conversations cut to --seq-len + 1 tokens" : ""))
        }
        let evalData = evalData.isEmpty ? nil : try TrainingData(paths: evalData, tokenizer: tokenizer, settings: dataSettings)

        let params = try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize)
        let settings = trainSettings(examples: data.count)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let model = Llama(params: params, maxBatch: batchSize, maxSeq: seqLen)
        model.precision = dtype
        if verbose {
            printError("lathe-train: matmul precision \(dtype.rawValue)" + (dtype == .bf16 ? " on \(BF16Matmul.kernel)" : ""))
        }
        let trainer = Trainer(model: model, tokenizer: tokenizer, template: chatTemplate, data: data, evalData: evalData,
                              settings: settings, resumeFrom: state)
        if let resumeFrom { try trainer.optimizer.load(from: resumeFrom) }
        let memory = trainer.memoryEstimate
        if !runOptions.quiet {
            let scratch = model.precisionScratchBytes
            let total = memory.parameters + memory.gradients + memory.optimizer + memory.activations + scratch
            printError("lathe-train: \(params.count) parameters; memory estimate \(mib(total)): parameters \(mib(memory.parameters)), "
                + "gradients \(mib(memory.gradients)), optimizer \(mib(memory.optimizer)), activations \(mib(memory.activations))"
                + (scratch > 0 ? ", bf16 packing buffers \(mib(scratch))" : ""))
        }
        return trainer
    }

    /// Stops a resume whose settings would not continue the saved run bit for bit.
    func checkResumable(_ state: TrainerState?, from directory: String?, examples: Int) throws {
        guard let state, let directory else { return }
        if let why = state.mismatch(seed: runOptions.seed, objective: objective.rawValue, seqLen: seqLen, batchSize: batchSize,
                                    gradAccum: gradAccum, examplesPerEpoch: examples) {
            throw IOFailure("\(directory) cannot be resumed bit for bit with these settings: \(why)")
        }
    }

    /// Writes --stats and the summary line for the training data read.
    func report(_ stats: RunStats, since started: Date) throws {
        var stats = stats
        stats.seconds = Date().timeIntervalSince(started)
        if let path = runOptions.stats {
            let sink = try OutputSink(path: path)
            try sink.write(stats.json(tool: "lathe-train"))
            try sink.close()
        }
        if !runOptions.quiet { printError(stats.summaryLine(tool: "lathe-train")) }
    }

    func trainSettings(examples: Int) -> TrainSettings {
        var settings = TrainSettings()
        settings.batchSize = batchSize
        settings.gradAccum = gradAccum
        settings.lr = lr
        settings.warmup = warmup
        settings.schedule = schedule
        settings.weightDecay = weightDecay
        settings.clip = clip
        settings.steps = steps ?? epochs.map { max(1, Int((Double(examples) * $0 / Double(examplesPerStep)).rounded(.up))) } ?? 100
        settings.evalEvery = evalEvery
        settings.saveEvery = saveEvery
        settings.keepLast = keepLast
        settings.seed = runOptions.seed
        settings.outDirectory = out
        return settings
    }

    /// Names a reference checkpoint on disk without loading it: its path, and its weights file's size and time.
    func checkpointStamp(_ directory: String) throws -> String {
        let weights = Checkpoint.isGGUF(directory) ? directory : directory + "/model.safetensors"
        let attributes = try? FileManager.default.attributesOfItem(atPath: weights)
        guard let size = attributes?[.size], let date = attributes?[.modificationDate] as? Date else {
            throw IOFailure("\(directory): no model.safetensors; --ref takes a checkpoint directory or a GGUF file")
        }
        return "\(directory) size=\(size) mtime=\(date.timeIntervalSince1970)"
    }

    func resumeDirectory() throws -> String? {
        guard resume else { return nil }
        guard let last = RunCheckpoint.steps(in: out).last else {
            throw IOFailure("\(out): no checkpoint-STEP directory to resume from; drop --resume to start afresh")
        }
        return out + "/checkpoint-\(last)"
    }

    func loadTokenizer(resumeFrom: String?) throws -> Tokenizer {
        if tokenizer == nil && resumeFrom == nil, let initFrom, Checkpoint.isGGUF(initFrom) {
            let imported = try ImportedTokenizer(path: initFrom)
            if imported.bos != nil && !runOptions.quiet {
                printError("lathe-train: \(initFrom) asks for BOS before every sequence (tokenizer.ggml.add_bos_token); "
                    + "training examples are tokenised without it")
            }
            return imported.tokenizer
        }
        guard let path = tokenizer ?? (resumeFrom ?? initFrom).map({ $0 + "/tokenizer.json" }) else {
            throw IOFailure("no tokenizer: give --tokenizer FILE (train one with `lathe-train tokenizer --vocab-size N data.jsonl`) or --init DIR")
        }
        do { return try Tokenizer(contentsOf: path) } catch { throw IOFailure("\(error)") }
    }

    /// The starting weights with the `head` the objective trains (a reward model's score head).
    func loadParameters(resumeFrom: String?, vocabSize: Int, head: OutputHead = .languageModel) throws -> LlamaParameters {
        let params = try initialParameters(resumeFrom: resumeFrom, vocabSize: vocabSize, head: head)
        guard vocabSize <= params.config.vocabSize else {
            throw IOFailure("the tokenizer has \(vocabSize) ids but the model's vocabulary is \(params.config.vocabSize); use a matching tokenizer or config")
        }
        return params
    }

    func initialParameters(resumeFrom: String?, vocabSize: Int, head: OutputHead) throws -> LlamaParameters {
        if let directory = resumeFrom ?? initFrom { return try Checkpoint.loadParameters(from: directory, head: head, seed: runOptions.seed) }
        var shape: LlamaConfig
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else { throw IOFailure("\(config): cannot read") }
            do { shape = try JSONDecoder().decode(LlamaConfig.self, from: data) } catch { throw IOFailure("\(config): not a Llama config.json: \(error)") }
            guard shape.problems.isEmpty else { throw IOFailure("\(config): \(shape.problems.joined(separator: "; "))") }
        } else {
            shape = LlamaConfig.preset(named: model ?? "tiny")!
            shape.vocabSize = vocabSize
        }
        return LlamaParameters(config: shape, seed: runOptions.seed, head: head)
    }

    /// The loop every objective shares: log, progress, checkpoints, and the signal checkpoint.
    func train(_ run: TrainingRun) throws {
        let settings = run.settings
        _ = StopRequest.signal.load(ordering: .relaxed)  // initialised before a handler can touch it
        // A parent may hand down a mask that blocks them (test harnesses do): unblock, then catch.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signalNumber in [SIGINT, SIGTERM] {
            sigaddset(&stopSignals, signalNumber)
            signal(signalNumber) { StopRequest.signal.store($0, ordering: .relaxed) }
        }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        let log = try self.log.map { try TrainLog(path: $0, append: resume) }
        let terminal = isatty(2) != 0 && !runOptions.quiet
        var lastSaved = -1
        var windowTokens = 0, windowSeconds = 0.0
        while run.step < settings.steps {
            let result = try run.trainStep()
            windowTokens += result.tokens
            windowSeconds += result.seconds
            let tokensPerSecond = windowSeconds > 0 ? Double(windowTokens) / windowSeconds : 0
            var record = JSONObject([
                ("step", .number(JSONNumber(run.step))), ("tokens", .number(JSONNumber(run.tokensSeen))),
                ("loss", number(result.loss)), ("lr", number(result.lr)), ("grad_norm", number(result.gradNorm)),
                ("tokens_per_s", number(tokensPerSecond)),
            ])
            for (name, value) in result.metrics { record[name] = number(value) }
            let last = run.step == settings.steps
            if (evalEvery > 0 && run.step % evalEvery == 0) || last {
                for (name, value) in try run.evaluate() { record[name] = number(value) }
            }
            try log?.write(record)
            var line = "step \(run.step)/\(settings.steps)  loss \(fixed(result.loss, 4))"
            for name in run.headline {
                if let value = record[name]?.double { line += "  \(name) \(fixed(value, 3))" }
            }
            line += "  lr \(String(format: "%.3g", result.lr))  grad norm \(fixed(result.gradNorm, 3))  \(Int(tokensPerSecond)) tokens/s"
            if let value = record["eval_loss"]?.double { line += "  eval loss \(fixed(value, 4))" }
            if terminal {
                printError("\r\u{1B}[K" + line, newline: false)
            } else if !runOptions.quiet && (verbose || last || run.step % max(1, settings.steps / 10) == 0) {
                printError("lathe-train: " + line)
            }
            if windowSeconds > 10 { (windowTokens, windowSeconds) = (0, 0) }
            let stop = StopRequest.signal.load(ordering: .relaxed)
            if (saveEvery > 0 && run.step % saveEvery == 0) || last || stop != 0 {
                let path = try run.saveCheckpoint()
                lastSaved = run.step
                if terminal { printError("") }
                if !runOptions.quiet || stop != 0 { printError("lathe-train: wrote \(path)") }
            }
            if stop != 0 {
                printError("lathe-train: stopped by signal \(stop) after step \(run.step); continue with --resume")
                throw ExitCode(128 + stop)
            }
        }
        if lastSaved != run.step {
            let path = try run.saveCheckpoint()
            if !runOptions.quiet { printError("lathe-train: wrote \(path)") }
        }
    }
}

struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Learn a byte-level BPE tokenizer from JSON Lines text and write tokenizer.json.")

    @Argument(help: "JSON Lines (plain or gzip): documents, or conversations whose turns are all read. Reads stdin when none is given or one is '-'.")
    var inputs: [String] = []

    @Option(help: "Vocabulary size, special tokens and the 256 bytes included (default 4096).")
    var vocabSize = 4096

    @Option(help: "The field holding the text (default text); records with messages, prompt or completion are read turn by turn.")
    var field = "text"

    @Option(help: "Also keep this chat template's markers whole as special tokens: chatml (default), llama3, zephyr, alpaca or plain.")
    var chatTemplate: ChatTemplate = .chatml

    @Option(help: "Merge only pairs seen at least this many times (default 2).")
    var minFrequency = 2

    @Option(name: [.short, .customLong("output")], help: "Where to write the tokenizer (default tokenizer.json).")
    var output = "tokenizer.json"

    @Flag(help: "Print no summary line on stderr.")
    var quiet = false

    func run() throws {
        try runTool {
            var special = BPETrainer.defaultSpecialTokens
            for marker in chatTemplate.specialTokens where !special.contains(marker) { special.append(marker) }
            var trainer: BPETrainer
            do { trainer = try BPETrainer(vocabSize: vocabSize, specialTokens: special, minFrequency: minFrequency) } catch {
                throw IOFailure("\(error)")
            }
            var stats = RunStats()
            let started = Date()
            for path in inputs.isEmpty ? ["-"] : inputs {
                let batcher = LineBatcher(source: try ByteSource(path: path))
                while let batch = try batcher.next() {
                    for i in 0..<batch.count {
                        stats.recordsIn += 1
                        stats.bytesIn += batch.ends[i] - batch.starts[i] + 1
                        let record = try batch.parseLine(i)
                        var texts: [String] = []
                        if let text = record.value(at: field)?.string { texts.append(text) }
                        for key in ["messages", "prompt", "completion"] {
                            if let value = record[key] {
                                texts += value.string.map { [$0] } ?? (value.array ?? []).compactMap { $0["content"]?.string }
                            }
                        }
                        guard !texts.isEmpty else {
                            throw RecordError(batch.location(i), "no string \"\(field)\" (nor messages, prompt or completion) to learn from; choose the field with --field",
                                              reason: "missing_text")
                        }
                        trainer.add(contentsOf: texts)
                        stats.recordsOut += 1
                    }
                }
            }
            let tokenizer: Tokenizer
            do { tokenizer = try trainer.train() } catch { throw IOFailure("\(error)") }
            do { try tokenizer.write(to: output) } catch { throw IOFailure("\(error)") }
            stats.seconds = Date().timeIntervalSince(started)
            if !quiet {
                printError(stats.summaryLine(tool: "lathe-train tokenizer"))
                printError("lathe-train tokenizer: wrote \(output) with \(tokenizer.vocabSize) tokens")
            }
        }
    }
}

/// The JSONL log, one line written (not buffered) per step so it can be followed while training;
/// a resumed run appends to it.
final class TrainLog {
    let handle: FileHandle
    init(path: String, append: Bool) throws {
        if !append || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw IOFailure("\(path): cannot create the log") }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw IOFailure("\(path): cannot open the log") }
        handle.seekToEndOfFile()
        self.handle = handle
    }
    deinit { try? handle.close() }
    func write(_ record: JSONObject) throws {
        var line: [UInt8] = []
        JSONWriter.write(.object(record), into: &line)
        line.append(UInt8(ascii: "\n"))
        try handle.write(contentsOf: line)
    }
}

func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
}

func number(_ value: Double) -> JSONValue { JSONNumber(value).map(JSONValue.number) ?? .null }
func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1048576) }
func printError(_ message: String, newline: Bool) {
    FileHandle.standardError.write(Data((message + (newline ? "\n" : "")).utf8))
}

LatheTrainCommand.main()
