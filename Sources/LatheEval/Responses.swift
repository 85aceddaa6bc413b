import LatheData
import LatheIO
import LatheModel
import LatheTokenizer
import LatheTrain

/// One response a checkpoint generated, as text.
public struct SampledResponse: Sendable, Equatable {
    public var text: String
    /// Tokens generated, the stop token included.
    public var tokens: Int
    /// "stop" (an end-of-turn or end-of-text token) or "length" (max new tokens reached).
    public var finish: String
}

/// Prompts to tokens and tokens to responses, the way lathe-eval's generate and
/// lathe-pair-prefs --policy both sample.
public enum Responses {
    /// A prompt rendered with the template as user turns and a generation prompt, or (template
    /// nil) plain text as it is; `bos` first when the checkpoint asks for it.
    public static func promptTokens(_ prompt: Turns, template: ChatTemplate?, tokenizer: Tokenizer, bos: Int32?) -> [Int32] {
        let tokens: [Int32]
        if let template {
            tokens = tokenizer.encode(template.render(prompt.messages(role: "user"), addGenerationPrompt: true).text, addSpecialTokens: false)
        } else if case .text(let s) = prompt {
            tokens = tokenizer.encode(s, addSpecialTokens: false)
        } else {
            tokens = tokenizer.encode(ChatTemplate.plain.render(prompt.messages(role: "user"), addGenerationPrompt: true).text,
                                      addSpecialTokens: false)
        }
        let start = bos.map { [$0] } ?? []
        if start.isEmpty && tokens.isEmpty { return ConversationTokens.endOfTextId(tokenizer).map { [$0] } ?? [] }
        return start + tokens
    }

    /// Responses to `prompts`, `slots` sequences decoded together. Any template's end-of-turn
    /// marker ends a response, as does end of text: a model tuned with one template still closes
    /// its turns with that marker when prompted without it. `source` names the prompts in errors;
    /// `weights` are the checkpoint's as the caller holds them (nil: its fp32 parameters).
    public static func generate(_ checkpoint: LoadedCheckpoint, prompts: [[Int32]], options: SamplingOptions, slots: Int,
                                source: String, weights: InferenceWeights? = nil) throws -> [SampledResponse] {
        guard checkpoint.params.head == .languageModel else {
            throw IOFailure("\(checkpoint.ref.path): a reward model (\(checkpoint.params.head.architecture)) cannot generate; "
                + "give a causal-LM checkpoint (LlamaForCausalLM) here")
        }
        let tokenizer = checkpoint.tokenizer
        var options = options
        for name in ChatTemplate.allCases.map(\.endOfTurn) + ["<|endoftext|>", "<|end_of_text|>", "</s>"] {
            if let id = tokenizer.tokenToId(name) { options.stopTokens.insert(id) }
        }
        let longest = prompts.map(\.count).max() ?? 1
        let generator = Generator(weights: weights ?? InferenceWeights(checkpoint.params, form: .fp32),
                                  slots: max(1, min(slots, prompts.count)), capacity: longest + options.maxNewTokens)
        let made: [Generation]
        do { made = try generator.generate(prompts: prompts, options: options) } catch {
            throw IOFailure("\(source): \(error.message)")
        }
        return made.map { g in
            var tokens = g.tokens
            let finish: String
            switch g.finish {
            case .stopToken:
                tokens.removeLast()
                finish = "stop"
            case .stopString: finish = "stop"
            case .length: finish = "length"
            }
            return SampledResponse(text: tokenizer.decode(tokens), tokens: g.tokens.count, finish: finish)
        }
    }
}
