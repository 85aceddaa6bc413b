import LatheIO

/// What `--block-domains`, `--lang`, `--filters` and `--redact` do to every record
/// `lathe-ingest` writes, documents and StackExchange threads alike, in datatrove's order:
/// URL, language, quality, then PII redaction of what is kept. Each drop is a reason name
/// the caller counts (`blocked_domain`, `language`, the quality filters' own names).
///
/// Threads are judged this way:
/// - language: identified on the title, question and answers as one text (the identifier
///   reads its first `maxLetters` letters, so mostly the question);
/// - quality: the filters judge the question body alone, and a question that fails drops
///   the whole thread under the filter's reason (a rewrite, C4's removed lines, replaces the
///   body). Answers are not judged: the rules' thresholds (50 words at least, ≥ 5
///   sentences, no curly braces) are set for whole web pages, and a good answer is often
///   two lines or a code block; the answers' votes and accepted flag are their quality
///   signal, which the later stages use;
/// - PII: every text is redacted (title, question, each answer), counts summed per kind;
/// - blocked domains: not applied, a thread has no URL of its own.
public struct RecordChecks: Sendable {
    public var blocklist: DomainBlocklist?
    /// Languages kept (ISO 639-1 codes); nil keeps every language. The identified language
    /// and its score are recorded either way.
    public var languages: Set<String>?
    public var minLanguageScore = 0.65
    /// The quality filters, run in order (`FilterPreset.filters`); empty runs none.
    public var quality = FilterChain([])
    public var redactor: PIIRedactor?

    public init() {}

    // MARK: Documents

    public func check(_ doc: inout Document) -> FilterDecision {
        if let blocklist, let url = doc.url, blocklist.isBlocked(url: url) {
            return .drop(reason: "blocked_domain")
        }
        let (code, score) = LanguageIdentifier.shared.identify(doc.text)
        if let html = doc.lang { doc.meta["html_lang"] = .string(html) }
        doc.lang = code
        doc.meta["lang_score"] = Self.scoreValue(score)
        if let drop = languageDrop(code, score) { return drop }
        if !quality.filters.isEmpty {
            switch quality.apply(doc.text) {
            case .keep(let text): doc.text = text
            case .drop(let reason, let filter): return .drop(reason: reason, detail: .string(filter))
            }
        }
        if let redactor {
            let (text, counts) = redactor.redact(doc.text)
            doc.text = text
            if let found = Self.countsValue(counts) { doc.meta["redacted"] = found }
        }
        return .keep
    }

    // MARK: Threads

    /// A thread's texts as the checks see and change them.
    public struct ThreadTexts: Sendable, Equatable {
        public var title: String
        public var question: String
        public var answers: [String]
        /// Filled in by `check`: the identified language and its score, and the PII replaced per kind.
        public var lang: String?
        public var langScore: Double?
        public var redacted: [String: Int] = [:]

        public init(title: String, question: String, answers: [String]) {
            self.title = title
            self.question = question
            self.answers = answers
        }
    }

    public func check(_ thread: inout ThreadTexts) -> FilterDecision {
        let all = ([thread.title, thread.question] + thread.answers).joined(separator: "\n")
        let (code, score) = LanguageIdentifier.shared.identify(all)
        thread.lang = code
        thread.langScore = score
        if let drop = languageDrop(code, score) { return drop }
        if !quality.filters.isEmpty {
            switch quality.apply(thread.question) {
            case .keep(let text): thread.question = text
            case .drop(let reason, let filter): return .drop(reason: reason, detail: .string("\(filter) (question)"))
            }
        }
        if let redactor {
            func redact(_ text: inout String) {
                let (redacted, counts) = redactor.redact(text)
                text = redacted
                for (kind, n) in counts where n > 0 { thread.redacted[kind, default: 0] += n }
            }
            redact(&thread.title)
            redact(&thread.question)
            for i in thread.answers.indices { redact(&thread.answers[i]) }
        }
        return .keep
    }

    // MARK: Shared

    private func languageDrop(_ code: String, _ score: Double) -> FilterDecision? {
        guard let languages, !(languages.contains(code) && score >= minLanguageScore) else { return nil }
        return .drop(reason: "language", detail: .string("\(code) \(score)"))
    }

    /// A language score as records carry it: three decimals.
    static func scoreValue(_ score: Double) -> JSONValue {
        JSONNumber((score * 1000).rounded() / 1000).map(JSONValue.number) ?? .null
    }

    /// `{"email": 1, "ip": 2}` for the kinds found, nil when none was.
    static func countsValue(_ counts: [String: Int]) -> JSONValue? {
        let found = counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        return found.isEmpty ? nil : .object(JSONObject(found.map { ($0.key, .number(JSONNumber($0.value))) }))
    }
}
