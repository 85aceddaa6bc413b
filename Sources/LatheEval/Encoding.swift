import LatheData
import LatheIO
import LatheTokenizer
import LatheTrain

/// How eval records become tokens; stated in every result, since each changes the scores.
public struct EvalSettings: Sendable, Equatable {
    /// The chat template conversations, preferences, prompts and (when on) questions are
    /// rendered with; nil renders prompts and questions as plain text and conversations
    /// with the `plain` template.
    public var template: ChatTemplate? = .chatml
    /// Solved examples before each multiple-choice question: from `fewShotFrom` when given,
    /// else the items after the question in its own set.
    public var fewShot = 0
    /// A set of solved multiple-choice items the examples are drawn from (a few-shot split).
    public var fewShotFrom: FewShotPool?
    /// The longest sequence scored; conversations and pairs are cut to it, documents are
    /// read in rolling windows of it.
    public var seqLen = 256

    public init(template: ChatTemplate? = .chatml, fewShot: Int = 0, fewShotFrom: FewShotPool? = nil, seqLen: Int = 256) {
        self.template = template
        self.fewShot = fewShot
        self.fewShotFrom = fewShotFrom
        self.seqLen = seqLen
    }

    var templateName: String { template?.rawValue ?? "off" }

    /// How the few-shot examples were chosen, as results state it.
    var fewShotDescription: String {
        "few_shot=\(fewShot)" + (fewShotFrom.map { " fewshot_from=\($0.name) fewshot_seed=\($0.seed)" } ?? "")
    }
}

/// Solved multiple-choice items that few-shot examples are drawn from, as lm-evaluation-harness
/// draws them from a task's few-shot split: for each question, K distinct items at random from
/// a stream seeded by (seed, question index), so a question's examples do not depend on the
/// others; an item with the question's own text is never drawn.
public struct FewShotPool: Sendable, Equatable {
    public var path: String
    public var items: [EvalItem]
    public var seed: UInt64

    public init(path: String, items: [EvalItem], seed: UInt64) {
        (self.path, self.items, self.seed) = (path, items, seed)
    }

    /// The file name as results name it.
    public var name: String { EvalSet.setName(path) }

    /// `count` solved examples (question, right answer) for question number `index`, or an
    /// error when the pool has too few items other than the question itself.
    public func examples(for index: Int, question: String, id: String, count: Int) throws -> [(String, String)] {
        var candidates: [(String, String)] = items.compactMap { item in
            guard case .choice(let q, let choices, let answer) = item.content, q != question else { return nil }
            return (q, choices[answer])
        }
        guard candidates.count >= count else {
            throw IOFailure("\(path): \(candidates.count) few-shot items differ from question \(id), but --num-fewshot asks for "
                + "\(count); give a larger --fewshot-from file or a smaller --num-fewshot")
        }
        // The first `count` steps of a Fisher–Yates shuffle.
        var rng = SplitMix64(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        for k in 0..<count {
            let j = k + Int(rng.next() % UInt64(candidates.count - k))
            candidates.swapAt(k, j)
        }
        return Array(candidates.prefix(count))
    }
}

/// A row to score: input tokens and, per position, the token it must predict (-1: not
/// counted). Its score is Σ log p(target) over the counted positions.
public struct ScoredSequence: Sendable, Equatable {
    public var inputs: [Int32]
    public var targets: [Int32]

    public init(inputs: [Int32], targets: [Int32]) {
        self.inputs = inputs
        self.targets = targets
    }

    /// Tokens x with their labels: position j predicts x[j+1], counted when it is labelled.
    init(tokens x: [Int32], labelled: [Bool]) {
        inputs = Array(x.dropLast())
        targets = (1..<max(1, x.count)).map { labelled[$0] ? x[$0] : -1 }
    }

    public var counted: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

/// A multiple-choice question as tokens: the shared context and each choice after it.
public struct EncodedChoice: Sendable {
    public var context: [Int32]
    public var continuations: [[Int32]]
    /// Characters of each choice as the item gives it, without the space that joins it to the
    /// context (acc_norm divides by it): lm-evaluation-harness's len(choice) over doc_to_choice,
    /// which counts Unicode scalars, not Swift's grapheme clusters.
    public var characters: [Int]
    public var answer: Int
}

/// An eval set tokenised once for one tokenizer; every checkpoint sharing that tokenizer reuses it.
public struct EncodedSet: Sendable {
    public let set: EvalSet
    /// loss: one per conversation; prefs: chosen then rejected for each pair.
    public var sequences: [ScoredSequence] = []
    /// prefs: each of `sequences` through its response's end of turn, as a reward model reads it.
    public var pairTokens: [[Int32]] = []
    /// ppl: the windows of every document, and for each window its document.
    public var windowDocument: [Int] = []
    /// ppl: UTF-8 bytes of each document (bits per byte divide by them).
    public var documentBytes: [Int] = []
    public var choices: [EncodedChoice] = []
    public var prompts: [[Int32]] = []
    /// Conversations or pairs cut to seqLen + 1 tokens.
    public var truncated = 0

    /// `bos`, when given, starts every sequence (context only), as llama.cpp does for a GGUF
    /// file whose metadata asks for it.
    public init(_ set: EvalSet, tokenizer: Tokenizer, settings: EvalSettings, bos: Int32? = nil) throws {
        self.set = set
        let template = settings.template ?? .plain
        if set.kind != .document && (settings.template != nil || set.kind == .conversation) {
            for marker in template.specialTokens where tokenizer.encode(marker, addSpecialTokens: false).count != 1 {
                throw IOFailure("\(set.path): the tokenizer does not keep \(marker) whole, which the \(template.rawValue) template needs; "
                    + "choose the template the checkpoint was trained with (--chat-template) or --chat-template off")
            }
        }
        let endOfText = ConversationTokens.endOfTextId(tokenizer)
        let start = bos.map { [$0] } ?? []
        // BOS first (context only), then at most seqLen + 1 tokens.
        func cut(_ c: ConversationTokens) -> ConversationTokens {
            var c = c
            c.tokens = start + c.tokens
            c.labelled = start.map { _ in false } + c.labelled
            guard c.tokens.count > settings.seqLen + 1 else { return c }
            truncated += 1
            c.tokens.removeLast(c.tokens.count - settings.seqLen - 1)
            c.labelled.removeLast(c.labelled.count - settings.seqLen - 1)
            return c
        }
        func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecialTokens: false) }

        for (index, item) in set.items.enumerated() {
            switch item.content {
            case .conversation(let messages):
                let c = cut(ConversationTokens.encode(messages, template: template, tokenizer: tokenizer))
                sequences.append(ScoredSequence(tokens: c.tokens, labelled: c.labelled))
            case .preference(let prompt, let chosen, let rejected):
                for response in [chosen, rejected] {
                    let c = cut(Self.pair(prompt, response, template: settings.template, tokenizer: tokenizer, endOfText: endOfText))
                    sequences.append(ScoredSequence(tokens: c.tokens, labelled: c.labelled))
                    pairTokens.append(PreferencePair.scored(c))
                }
            case .document(let text):
                // Every token is predicted: BOS or end of text stands before the first, as between
                // pretraining documents; without either the first token is context only.
                let x = (bos.map { [$0] } ?? endOfText.map { [$0] } ?? []) + encode(text)
                documentBytes.append(text.utf8.count)
                for window in Self.rollingWindows(x, length: settings.seqLen) {
                    sequences.append(window)
                    windowDocument.append(documentBytes.count - 1)
                }
            case .prompt(let turns):
                prompts.append(Responses.promptTokens(turns, template: settings.template, tokenizer: tokenizer, bos: bos))
            case .choice:
                var item = try Self.choice(index, in: set, settings: settings, tokenizer: tokenizer)
                item.context = start + item.context
                choices.append(item)
            }
        }
    }

    /// A prompt and one response, the response's tokens labelled.
    static func pair(_ prompt: Turns, _ response: Turns, template: ChatTemplate?, tokenizer: Tokenizer,
                     endOfText: Int32?) -> ConversationTokens {
        if template == nil, case .text(let p) = prompt, case .text(let r) = response {
            var c = ConversationTokens()
            c.tokens = tokenizer.encode(p, addSpecialTokens: false)
            if c.tokens.isEmpty, let endOfText { c.tokens = [endOfText] }
            c.labelled = Array(repeating: false, count: c.tokens.count)
            let answer = tokenizer.encode(r, addSpecialTokens: false)
            c.tokens += answer
            c.labelled += Array(repeating: true, count: answer.count)
            return c
        }
        let context = prompt.messages(role: "user")
        let earlier = context.filter { $0.role == "assistant" }.count
        return ConversationTokens.encode(context + response.messages(role: "assistant"), template: template ?? .plain,
                                         tokenizer: tokenizer, labelFrom: earlier)
    }

    /// Windows that predict every position 1..<x.count exactly once, each with as much
    /// earlier context as fits in `length` inputs (lm-evaluation-harness's rolling loglikelihood).
    public static func rollingWindows(_ x: [Int32], length w: Int) -> [ScoredSequence] {
        var windows: [ScoredSequence] = []
        var a = 1
        while a < x.count {
            let b = min(a + w, x.count)          // predicts x[a..<b]
            let lo = max(0, b - 1 - w)           // inputs x[lo..<b-1]
            let inputs = Array(x[lo..<(b - 1)])
            let targets = (lo + 1..<b).map { $0 >= a ? x[$0] : -1 }
            windows.append(ScoredSequence(inputs: inputs, targets: targets))
            a = b
        }
        return windows
    }

    /// lm-evaluation-harness's layout: "Question: q\nAnswer:" then " choice"; with a chat
    /// template the question is a user turn and the choice the start of the assistant's.
    /// Few-shot examples are drawn from `settings.fewShotFrom`, or else are the K items after
    /// this one in its own file, wrapping round.
    static func choice(_ index: Int, in set: EvalSet, settings: EvalSettings, tokenizer: Tokenizer) throws -> EncodedChoice {
        guard case .choice(let question, let options, let answer) = set.items[index].content else { preconditionFailure() }
        let shots: [(String, String)]
        if let pool = settings.fewShotFrom {
            shots = try pool.examples(for: index, question: question, id: set.items[index].id, count: settings.fewShot)
        } else {
            shots = (0..<min(settings.fewShot, set.items.count - 1)).map { k in
                guard case .choice(let q, let c, let a) = set.items[(index + 1 + k) % set.items.count].content else { preconditionFailure() }
                return (q, c[a])
            }
        }
        let context: String, continuations: [String]
        if let t = settings.template {
            var messages: [ChatMessage] = []
            for (q, a) in shots {
                messages += [ChatMessage(role: "user", content: "Question: \(q)"), ChatMessage(role: "assistant", content: a)]
            }
            messages.append(ChatMessage(role: "user", content: "Question: \(question)"))
            context = t.render(messages, addGenerationPrompt: true).text
            continuations = options
        } else {
            context = shots.map { "Question: \($0.0)\nAnswer: \($0.1)\n\n" }.joined() + "Question: \(question)\nAnswer:"
            continuations = options.map { " " + $0 }
        }
        return EncodedChoice(context: tokenizer.encode(context, addSpecialTokens: false),
                             continuations: continuations.map { tokenizer.encode($0, addSpecialTokens: false) },
                             characters: options.map(\.unicodeScalars.count), answer: answer)
    }
}
