import ArgumentParser

/// How responses are sampled (lathe-eval's generate, lathe-pair-prefs --policy), with the
/// meanings of Hugging Face `generate`. Plain numbers here; each tool makes LatheModel's
/// `SamplingOptions` from them, so LatheCLI stays below the model layers.
public struct SamplingArguments: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy (default 1).")
    public var temperature = 1.0

    @Option(help: "Sample only from the k most likely tokens; 0 keeps all (default 0).")
    public var topK = 0

    @Option(help: "Sample from the smallest set of tokens whose probability reaches p (default 1: all).")
    public var topP = 1.0

    @Option(help: "Sample only tokens at least this fraction as likely as the most likely one (default 0: all).")
    public var minP = 0.0

    @Option(help: "Longest response, in tokens (default 128); a response also ends at an end-of-turn or end-of-text token.")
    public var maxNewTokens = 128

    public init() {}

    public func validate() throws {
        if maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be at least 1, not \(maxNewTokens).") }
        if topK < 0 { throw ValidationError("--top-k must not be negative.") }
        if temperature < 0 || !(topP > 0 && topP <= 1) || !(minP >= 0 && minP <= 1) {
            throw ValidationError("--temperature must be ≥ 0, --top-p in (0, 1] and --min-p in [0, 1].")
        }
    }
}
