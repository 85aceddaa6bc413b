import Testing
@testable import LatheData

/// Expected texts are written out by hand from each template's published layout.
@Suite struct ChatTemplateTests {
    let conversation = [
        ChatMessage(role: "system", content: "Be brief."),
        ChatMessage(role: "user", content: "Hi"),
        ChatMessage(role: "assistant", content: "Hello!"),
        ChatMessage(role: "user", content: "2+2?"),
        ChatMessage(role: "assistant", content: "4 — sûr."),
    ]

    /// The substrings the spans cover, so each case states exactly what carries the loss.
    func spanned(_ rendered: RenderedChat) -> [String] {
        let bytes = Array(rendered.text.utf8)
        return rendered.assistantSpans.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test func chatml() {
        let r = ChatTemplate.chatml.render(conversation)
        #expect(r.text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
            + "<|im_start|>assistant\n4 — sûr.<|im_end|>\n")
        #expect(spanned(r) == ["Hello!<|im_end|>", "4 — sûr.<|im_end|>"])
        let prompt = ChatTemplate.chatml.render(Array(conversation.prefix(2)), addGenerationPrompt: true)
        #expect(prompt.text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(prompt.assistantSpans.isEmpty)
    }

    @Test func llama3() {
        let r = ChatTemplate.llama3.render(conversation)
        #expect(r.text == "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n4 — sûr.<|eot_id|>")
        #expect(spanned(r) == ["Hello!<|eot_id|>", "4 — sûr.<|eot_id|>"])
    }

    @Test func zephyr() {
        let r = ChatTemplate.zephyr.render(conversation)
        #expect(r.text == "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
            + "<|user|>\n2+2?</s>\n<|assistant|>\n4 — sûr.</s>\n")
        #expect(spanned(r) == ["Hello!</s>", "4 — sûr.</s>"])
    }

    @Test func alpaca() {
        let r = ChatTemplate.alpaca.render(conversation)
        #expect(r.text == "Be brief.\n\n### Instruction:\nHi\n\n### Response:\nHello!<|endoftext|>\n\n"
            + "### Instruction:\n2+2?\n\n### Response:\n4 — sûr.<|endoftext|>\n\n")
        #expect(spanned(r) == ["Hello!<|endoftext|>", "4 — sûr.<|endoftext|>"])
        #expect(ChatTemplate.alpaca.render([conversation[1]], addGenerationPrompt: true).text
            == "### Instruction:\nHi\n\n### Response:\n")
    }

    @Test func plain() {
        let r = ChatTemplate.plain.render(Array(conversation.dropFirst()))
        #expect(r.text == "Hi\n\nHello!<|endoftext|>\n\n2+2?\n\n4 — sûr.<|endoftext|>\n\n")
        #expect(spanned(r) == ["Hello!<|endoftext|>", "4 — sûr.<|endoftext|>"])
    }

    @Test func everyEndOfTurnIsASpecialToken() {
        for template in ChatTemplate.allCases {
            #expect(template.specialTokens.contains(template.endOfTurn), "\(template)")
            #expect(template.jinja.contains("for message in messages"))
        }
        #expect(ChatTemplate(rawValue: "chatml") == .chatml)
    }
}
