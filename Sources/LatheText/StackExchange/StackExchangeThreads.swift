import Foundation
import LatheIO

/// A row or post of a dump that does not become (part of) a thread, with why.
public struct StackExchangeDrop: Sendable {
    /// `malformed_post`, `other_post_type`, `orphan_answer`, `duplicate_post` or `unanswered`.
    public var reason: String
    /// What was wrong, for `--rejects`' `reason_detail` and the error message.
    public var message: String
    public var location: SourceLocation
    /// The row's attributes (malformed and other rows) or the post as converted (the rest).
    public var record: JSONValue
}

/// What a read did, for the summary and for tests.
public struct StackExchangeSummary: Sendable, Equatable {
    public var rows = 0
    public var threads = 0
    public var answers = 0
    public var dropped: [String: Int] = [:]
    /// Sorted runs written to the temporary directory, and their total size.
    public var spilledRuns = 0
    public var spilledBytes = 0
    /// The most post text held in memory at once (the budget's measure), in bytes.
    public var peakHeldBytes = 0
}

/// StackExchange `Posts.xml` dumps to thread records: the one entry point `lathe-ingest
/// --format stackexchange` calls.
///
/// A record is `{"id", "source", "question": {"title", "body", "score", "tags"},
/// "answers": [{"body", "score", "accepted"}], "meta": {"question_id", "creation_date",
/// "view_count"?, "accepted_answer_id"?, "answer_ids"}}` (schemas/thread.schema.json), with
/// bodies converted from HTML by `PostBodyText` (code blocks as fenced Markdown).
///
/// Threads come out in ascending question id, answers in file order. Question id is the key
/// the spilled runs are sorted by, so the merge emits in that order with no further sort and
/// the bytes out do not depend on the memory budget or the number of jobs; real dumps list
/// posts by id, so it is also file order there. Nothing is written before the end of the
/// input, because an answer can come any number of rows after its question.
public enum StackExchangeThreads {
    /// Reads the dump at `path` (`-` for stdin; plain or gzip) and calls `onThread` with each
    /// thread record.
    ///
    /// - Parameters:
    ///   - memoryBudget: post text held before a sorted run is spilled, in bytes.
    ///   - tempDirectory: where a private directory for the runs is made; nil uses `$TMPDIR`
    ///     or `/tmp`. It is removed at the end, whatever happens.
    ///   - site: the site's host name (`math.stackexchange.com`) for `id` and `source`; nil
    ///     takes the name of the directory holding the file, as the dumps unpack.
    ///   - keepUnanswered: keep questions with no answers (`"answers": []`); when false they
    ///     are `unanswered` drops.
    ///   - onError: `.fail` stops at a malformed row with `RecordError` (`file:line`), after
    ///     emitting every thread read before it; `.skip` makes it a `malformed_post` drop.
    ///   - jobs: threads converting bodies (the XML parse and the grouping use the caller's).
    ///   - checks: language, quality and PII checks for each thread (see `RecordChecks`); a
    ///     thread they drop goes to `onDrop` whole, under the check's reason.
    ///   - onDrop: called for every row, post or thread not kept, with its reason.
    /// - Throws: `IOFailure` for a dump that is cut off or not well-formed XML (`file:line`),
    ///   after emitting every thread read before the fault; `RecordError` as above; whatever
    ///   `onThread` or `onDrop` throw.
    @discardableResult
    public static func read(
        path: String,
        memoryBudget: Int = 512 << 20,
        tempDirectory: String? = nil,
        site: String? = nil,
        keepUnanswered: Bool = true,
        onError: OnError = .fail,
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
        checks: RecordChecks? = nil,
        onThread: (JSONValue) throws -> Void,
        onDrop: (StackExchangeDrop) throws -> Void
    ) throws -> StackExchangeSummary {
        try read(path: path, memoryBudget: memoryBudget, tempDirectory: tempDirectory, site: site,
                 keepUnanswered: keepUnanswered, onError: onError, jobs: jobs, maxFanIn: 64, chunkSize: 1 << 18,
                 checks: checks, onThread: onThread, onDrop: onDrop)
    }

    /// `read` with the knobs tests turn: runs merged at once, and bytes per parser push.
    static func read(
        path: String, memoryBudget: Int, tempDirectory: String?, site: String?, keepUnanswered: Bool, onError: OnError,
        jobs: Int, maxFanIn: Int, chunkSize: Int, checks: RecordChecks? = nil,
        onThread: (JSONValue) throws -> Void, onDrop: (StackExchangeDrop) throws -> Void
    ) throws -> StackExchangeSummary {
        let source = try ByteSource(path: path)
        let reader = PostsReader(source: source, chunkSize: chunkSize)
        let grouper = ThreadGrouper(memoryBudget: memoryBudget, tempDirectory: tempDirectory, maxFanIn: maxFanIn)
        let naming = ThreadNaming(site: site ?? siteName(fromPath: path))
        var summary = StackExchangeSummary()
        func drop(_ drop: StackExchangeDrop) throws {
            summary.dropped[drop.reason, default: 0] += 1
            try onDrop(drop)
        }

        // Read to the end or the first fault; what was read before a fault is still emitted.
        var stop: Error?
        do {
            try orderedParallelMap(
                jobs: max(1, jobs),
                produce: { try reader.next() },
                transform: { rows in convert(rows) },
                consume: { results in
                    for result in results {
                        summary.rows += 1
                        switch result {
                        case .post(let post):
                            try grouper.add(post)
                        case .unusable(let reason, let message, let line, let record):
                            let location = SourceLocation(file: reader.name, line: line)
                            if reason == "malformed_post" && onError == .fail {
                                throw RecordError(location, message, reason: reason)
                            }
                            try drop(StackExchangeDrop(reason: reason, message: message, location: location, record: record))
                        }
                    }
                })
        } catch let error as IOFailure {
            stop = error
        } catch let error as RecordError {
            stop = error
        }

        try grouper.finish { posts in
            if let answers = try assemble(posts, naming: naming, file: reader.name, keepUnanswered: keepUnanswered,
                                          checks: checks, onThread: onThread, onDrop: drop) {
                summary.threads += 1
                summary.answers += answers
            }
        }
        summary.spilledRuns = grouper.spilledRuns
        summary.spilledBytes = grouper.spilledBytes
        summary.peakHeldBytes = grouper.peakHeldBytes
        if let stop { throw stop }
        return summary
    }

    /// The site from the directory the dump was unpacked into: `dumps/math.stackexchange.com/Posts.xml`.
    static func siteName(fromPath path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count >= 2 else { return nil }
        let directory = String(parts[parts.count - 2])
        return directory == "." || directory == ".." ? nil : directory
    }

    /// Bodies to text, on a worker thread; one HTML parser context per batch.
    static func convert(_ rows: [RowResult]) -> [ConvertedRow] {
        let converter = PostBodyText()
        return rows.map { row in
            switch row {
            case .post(let post):
                return .post(ThreadPost(
                    key: post.kind == .question ? post.id : post.parentId, position: post.position, line: post.line,
                    id: post.id, isAnswer: post.kind == .answer, score: post.score, acceptedAnswerId: post.acceptedAnswerId,
                    viewCount: post.viewCount, creationDate: post.creationDate, title: post.title,
                    body: converter.text(html: post.body), tags: post.tags))
            case .unusable(let reason, let message, let line, let record):
                return .unusable(reason: reason, message: message, line: line, record: record)
            }
        }
    }

    enum ConvertedRow: Sendable {
        case post(ThreadPost)
        case unusable(reason: String, message: String, line: Int, record: JSONValue)
    }

    /// One thread's posts, in file order, to a record (or to drops); the number of answers
    /// kept, or nil when no thread was made.
    static func assemble(_ posts: [ThreadPost], naming: ThreadNaming, file: String, keepUnanswered: Bool, checks: RecordChecks? = nil,
                         onThread: (JSONValue) throws -> Void, onDrop: (StackExchangeDrop) throws -> Void) throws -> Int? {
        func drop(_ post: ThreadPost, _ reason: String, _ message: String) throws {
            try onDrop(StackExchangeDrop(reason: reason, message: message, location: SourceLocation(file: file, line: post.line),
                                         record: postRecord(post)))
        }
        guard var question = posts.first(where: { !$0.isAnswer }) else {
            for answer in posts {
                try drop(answer, "orphan_answer", "answer \(answer.id) belongs to question \(answer.key), which is not in the dump")
            }
            return nil
        }
        var answers: [ThreadPost] = []
        var answerIds = Set<Int>()
        for post in posts {
            if !post.isAnswer {
                if post.position != question.position {
                    try drop(post, "duplicate_post", "question \(post.id) appears again (first at line \(question.line))")
                }
            } else if !answerIds.insert(post.id).inserted || post.id == question.id {
                try drop(post, "duplicate_post", "answer \(post.id) appears again in thread \(question.id)")
            } else {
                answers.append(post)
            }
        }
        if answers.isEmpty && !keepUnanswered {
            try drop(question, "unanswered", "question \(question.id) has no answers")
            return nil
        }
        guard let checks else {
            try onThread(threadRecord(question: question, answers: answers, naming: naming))
            return answers.count
        }
        var texts = RecordChecks.ThreadTexts(title: question.title, question: question.body, answers: answers.map(\.body))
        let decision = checks.check(&texts)
        question.title = texts.title
        question.body = texts.question
        for i in answers.indices { answers[i].body = texts.answers[i] }
        let record = threadRecord(question: question, answers: answers, naming: naming, checked: texts)
        if case .drop(let reason, let detail) = decision {
            try onDrop(StackExchangeDrop(reason: reason, message: "thread \(question.id): \(detail?.string ?? reason)",
                                         location: SourceLocation(file: file, line: question.line), record: record))
            return nil
        }
        try onThread(record)
        return answers.count
    }

    /// `checked` adds what the checks found: the language (`lang`, `meta.lang_score`) and the PII replaced (`meta.redacted`).
    static func threadRecord(question: ThreadPost, answers: [ThreadPost], naming: ThreadNaming,
                             checked: RecordChecks.ThreadTexts? = nil) -> JSONValue {
        var meta = JSONObject()
        meta["question_id"] = .number(JSONNumber(question.id))
        if !question.creationDate.isEmpty { meta["creation_date"] = .string(question.creationDate) }
        if let views = question.viewCount { meta["view_count"] = .number(JSONNumber(views)) }
        if let accepted = question.acceptedAnswerId { meta["accepted_answer_id"] = .number(JSONNumber(accepted)) }
        meta["answer_ids"] = .array(answers.map { .number(JSONNumber($0.id)) })
        if let score = checked?.langScore { meta["lang_score"] = RecordChecks.scoreValue(score) }
        if let redacted = checked.flatMap({ RecordChecks.countsValue($0.redacted) }) { meta["redacted"] = redacted }
        var record = JSONObject([
            ("id", .string(naming.id(question.id))),
            ("source", .string(naming.source)),
            ("question", .object(JSONObject([
                ("title", .string(question.title)),
                ("body", .string(question.body)),
                ("score", .number(JSONNumber(question.score))),
                ("tags", .array(question.tags.map { .string($0) })),
            ]))),
            ("answers", .array(answers.map { answer in
                .object(JSONObject([
                    ("body", .string(answer.body)),
                    ("score", .number(JSONNumber(answer.score))),
                    ("accepted", .bool(answer.id == question.acceptedAnswerId)),
                ]))
            })),
        ])
        if let lang = checked?.lang { record["lang"] = .string(lang) }
        record["meta"] = .object(meta)
        return .object(record)
    }

    /// A post on its own, for `--rejects`.
    static func postRecord(_ post: ThreadPost) -> JSONValue {
        var object = JSONObject([
            ("post_id", .number(JSONNumber(post.id))),
            ("post_type", .string(post.isAnswer ? "answer" : "question")),
        ])
        if post.isAnswer { object["parent_id"] = .number(JSONNumber(post.key)) } else { object["title"] = .string(post.title) }
        object["body"] = .string(post.body)
        object["score"] = .number(JSONNumber(post.score))
        return .object(object)
    }
}

/// Record ids and source names for one site: `math.stackexchange.com/1234` and
/// `stackexchange/math` (schemas/thread.schema.json's examples).
struct ThreadNaming: Sendable {
    let site: String?

    var source: String {
        guard var name = site else { return "stackexchange" }
        for suffix in [".stackexchange.com", ".com", ".net"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return "stackexchange/" + name
    }

    func id(_ questionId: Int) -> String { "\(site ?? "stackexchange")/\(questionId)" }
}
