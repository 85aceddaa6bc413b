/// One turn of a conversation record: `role` is "system", "user" or "assistant".
public struct ChatMessage: Sendable, Equatable, Hashable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A conversation turned into the one string a model sees, with the byte ranges the trainer
/// puts the loss on.
public struct RenderedChat: Sendable, Equatable {
    public var text: String
    /// UTF-8 byte offsets into `text`: each assistant turn's content followed by its
    /// end-of-turn marker, so a model learns to stop as well as to answer.
    public var assistantSpans: [Range<Int>]

    public init(text: String, assistantSpans: [Range<Int>]) {
        self.text = text
        self.assistantSpans = assistantSpans
    }
}

/// The chat templates Lathe renders conversations with. `lathe-format-sft --render`,
/// `lathe-train --objective sft` and `lathe-eval` all call `render`, and checkpoints carry
/// the same template as a Jinja string for `transformers`, so training and inference cannot
/// disagree about the layout or the end-of-turn token.
public enum ChatTemplate: String, CaseIterable, Sendable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (Qwen, SmolLM2, OpenAI's ChatML).
    case chatml
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` after `<|begin_of_text|>`.
    case llama3
    /// `<|role|>\ncontent</s>\n` (Zephyr, TRL's examples).
    case zephyr
    /// `### Instruction:` / `### Response:` blocks, the system text as preamble.
    case alpaca
    /// Turns separated by blank lines, no markers; each answer ends with end of text.
    case plain

    /// The marker that closes an assistant turn; generation stops on it.
    public var endOfTurn: String {
        switch self {
        case .chatml: "<|im_end|>"
        case .llama3: "<|eot_id|>"
        case .zephyr: "</s>"
        case .alpaca, .plain: "<|endoftext|>"
        }
    }

    /// Strings a tokenizer must keep whole (added as special tokens when Lathe trains one).
    public var specialTokens: [String] {
        switch self {
        case .chatml: ["<|im_start|>", "<|im_end|>"]
        case .llama3: ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        case .zephyr: ["<|system|>", "<|user|>", "<|assistant|>", "</s>"]
        case .alpaca, .plain: ["<|endoftext|>"]
        }
    }

    /// What comes before the first turn.
    private var preamble: String { self == .llama3 ? "<|begin_of_text|>" : "" }

    /// The text before a turn's content and the text after it; for assistant turns the
    /// closing text starts with `endOfTurn`.
    private func frame(_ role: String) -> (open: String, close: String) {
        switch self {
        case .chatml:
            return ("<|im_start|>\(role)\n", "<|im_end|>\n")
        case .llama3:
            return ("<|start_header_id|>\(role)<|end_header_id|>\n\n", "<|eot_id|>")
        case .zephyr:
            return ("<|\(role)|>\n", "</s>\n")
        case .alpaca:
            switch role {
            case "user": return ("### Instruction:\n", "\n\n")
            case "assistant": return ("### Response:\n", "<|endoftext|>\n\n")
            default: return ("", "\n\n")
            }
        case .plain:
            return ("", role == "assistant" ? "<|endoftext|>\n\n" : "\n\n")
        }
    }

    /// Renders `messages`; with `addGenerationPrompt` the text ends with the opening of an
    /// assistant turn, ready for the model to continue.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) -> RenderedChat {
        var text = preamble
        var spans: [Range<Int>] = []
        for message in messages {
            let (open, close) = frame(message.role)
            text += open
            let start = text.utf8.count
            text += message.content
            if message.role == "assistant" {
                spans.append(start..<(text.utf8.count + endOfTurn.utf8.count))
            }
            text += close
        }
        if addGenerationPrompt { text += frame("assistant").open }
        return RenderedChat(text: text, assistantSpans: spans)
    }

    /// The same template as a Jinja string for `tokenizer_config.json`'s `chat_template`, so
    /// `tokenizer.apply_chat_template` in `transformers` renders exactly what `render` does.
    public var jinja: String {
        let loop: String
        let generation: String
        switch self {
        case .chatml:
            loop = "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
            generation = "<|im_start|>assistant\\n"
        case .llama3:
            loop = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] + '<|eot_id|>' }}"
            generation = "<|start_header_id|>assistant<|end_header_id|>\\n\\n"
        case .zephyr:
            loop = "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '</s>\\n' }}"
            generation = "<|assistant|>\\n"
        case .alpaca:
            loop = "{% if message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}"
                + "{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' + message['content'] + '<|endoftext|>\\n\\n' }}"
                + "{% else %}{{ message['content'] + '\\n\\n' }}{% endif %}"
            generation = "### Response:\\n"
        case .plain:
            loop = "{% if message['role'] == 'assistant' %}{{ message['content'] + '<|endoftext|>\\n\\n' }}"
                + "{% else %}{{ message['content'] + '\\n\\n' }}{% endif %}"
            generation = ""
        }
        let start = self == .llama3 ? "{{ '<|begin_of_text|>' }}" : ""
        let tail = generation.isEmpty ? "" : "{% if add_generation_prompt %}{{ '\(generation)' }}{% endif %}"
        return start + "{% for message in messages %}" + loop + "{% endfor %}" + tail
    }
}
