/// The pipeline's stages, in pipeline order: the one list that `lathe --help`, the dispatcher
/// and the not-yet-built stubs read.
public struct Stage: Sendable {
    /// The word after `lathe` (`ingest`); the executable is `lathe-` followed by it.
    public let command: String
    public let abstract: String
    /// The issue that builds it, while it is not built yet.
    public let pendingIssue: Int?

    public var executable: String { "lathe-" + command }

    public static let all: [Stage] = [
        Stage(command: "ingest", abstract: "WARC, HTML, StackExchange dumps, JSONL and text -> document and thread records", pendingIssue: nil),
        Stage(command: "dedupe", abstract: "records -> the same, minus exact and near duplicates and eval-set contamination", pendingIssue: nil),
        Stage(command: "format-sft", abstract: "threads and common dataset formats -> SFT conversations", pendingIssue: nil),
        Stage(command: "pair-prefs", abstract: "ranked answers, A/B judgments, scored samples -> preference pairs", pendingIssue: nil),
        Stage(command: "train", abstract: "tokenizers and Llama-family models: pretrain, SFT, reward, DPO, PPO -> checkpoints", pendingIssue: nil),
        Stage(command: "eval", abstract: "checkpoints x eval sets -> metrics with error bars and an HTML report", pendingIssue: nil),
    ]

    public static func named(_ executable: String) -> Stage? {
        all.first { $0.executable == executable }
    }
}
