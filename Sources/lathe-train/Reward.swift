import ArgumentParser
import Foundation
import LatheCLI
import LatheData
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

/// The options only --objective reward reads.
struct RewardOptions: ParsableArguments {
    @Option(help: "For reward: add this times the mean of (r_chosen + r_rejected)² to the loss, keeping rewards centred on 0 as TRL's center_rewards_coefficient does (default 0: off).")
    var centerRewards = 0.0

    func validate(objective: TrainObjective) throws {
        guard centerRewards >= 0 else { throw ValidationError("--center-rewards must not be negative.") }
        if centerRewards > 0 && objective != .reward { throw ValidationError("--center-rewards applies to --objective reward.") }
    }
}

extension Train {
    /// A reward model on preference pairs: from --init (a causal LM gets a fresh score head, a
    /// reward model keeps its own), a preset or --config; --eval-data gives eval_accuracy.
    func makeReward(tokenizer: Tokenizer, resumeFrom: String?, state: TrainerState?) throws -> RewardTrainer {
        let data = try readPreferences(tokenizer: tokenizer)
        let evalData = evalData.isEmpty ? nil : try PreferenceData(paths: evalData, tokenizer: tokenizer, template: chatTemplate, seqLen: seqLen)
        try checkResumable(state, from: resumeFrom, examples: data.count)
        let params = try loadParameters(resumeFrom: resumeFrom, vocabSize: tokenizer.vocabSize, head: .scalar)
        // A pair's scored sequence runs through its end of turn: up to seqLen + 1 tokens.
        let model = RewardModel(params: params, maxBatch: 2 * batchSize, maxSeq: seqLen + 1)
        model.model.precision = dtype
        if !runOptions.quiet {
            printError("lathe-train: \(data.count) preference pairs" + (evalData.map { ", \($0.count) held out" } ?? "")
                + "; \(params.count) parameters, score head on \(params.config.numHiddenLayers) layers")
        }
        let trainer = RewardTrainer(model: model, tokenizer: tokenizer, template: chatTemplate, data: data, evalData: evalData,
                                    loss: RewardLoss(centerRewards: rewardOptions.centerRewards),
                                    settings: trainSettings(examples: data.count), seqLen: seqLen, resumeFrom: state)
        if let resumeFrom { try trainer.optimizer.load(from: resumeFrom) }
        return trainer
    }
}

/// `lathe-train score`: a reward model's score of each record, for checking a checkpoint by hand
/// (scripts/check_reward_model.py compares it with transformers) and for quick looks at data.
struct ScoreRecords: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score records with a reward model: each record is written back with a \"reward\" field.",
        discussion: """
            A record with "messages" is rendered with --chat-template and scored at its last assistant turn's \
            end-of-turn token, as reward training reads it; a record with "text" is tokenised as is (no special \
            tokens) and scored at its last token.
            """)

    @Argument(help: "JSON Lines (plain or gzip) of conversations or documents. Reads stdin when none is given or one is '-'.")
    var inputs: [String] = []

    @Option(name: .customLong("reward-model"), help: "The reward model's checkpoint directory (LlamaForSequenceClassification, with tokenizer.json).")
    var rewardModel: String

    @Option(help: "Chat template for conversations: chatml, llama3, zephyr, alpaca or plain (default chatml).")
    var chatTemplate: ChatTemplate = .chatml

    @Option(help: "Sequences per forward pass (default 8).")
    var batchSize = 8

    @Option(name: [.short, .customLong("output")], help: "Where to write the scored records (default stdout).")
    var output = "-"

    func run() throws {
        try runTool {
            let params = try Checkpoint.loadParameters(from: rewardModel, head: nil)
            guard params.head == .scalar else {
                throw IOFailure("\(rewardModel)/config.json: a causal LM (LlamaForCausalLM); score needs a reward model (LlamaForSequenceClassification with one label)")
            }
            let tokenizer: Tokenizer
            do { tokenizer = try Tokenizer(contentsOf: rewardModel + "/tokenizer.json") } catch { throw IOFailure("\(error)") }
            var records: [JSONValue] = [], sequences: [[Int32]] = [], stats = RunStats()
            try RecordReader.read(paths: inputs, onError: .fail, rejects: nil, stats: &stats) { record, location in
                if let text = record["text"]?.string {
                    sequences.append(tokenizer.encode(text, addSpecialTokens: false))
                } else {
                    let turns = try ConversationTokens.messages(of: record, at: location)
                    sequences.append(PreferencePair.scored(ConversationTokens.encode(turns, template: chatTemplate, tokenizer: tokenizer)))
                }
                guard !sequences[sequences.count - 1].isEmpty else {
                    throw RecordError(location, "nothing to score: the record has no tokens", reason: "empty")
                }
                records.append(record)
            }
            let longest = sequences.map(\.count).max() ?? 1
            let model = RewardModel(params: params, maxBatch: max(1, batchSize), maxSeq: longest)
            let rewards = model.rewards(sequences)
            let sink = try OutputSink(path: output, gzipLevel: OutputSink.wantsGzip(output) ? 6 : nil)
            for (record, reward) in zip(records, rewards) {
                var object = record.object ?? JSONObject()
                object["reward"] = number(Double(reward))
                try sink.write(.object(object))
            }
            try sink.close()
        }
    }
}
