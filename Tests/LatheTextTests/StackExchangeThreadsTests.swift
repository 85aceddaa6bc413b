import Foundation
import LatheIO
import Testing
@testable import LatheText

/// fixtures/stackexchange, found from this file so the tests run from any directory.
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/stackexchange").path
private let cooking = fixtures + "/cooking.stackexchange.com/Posts.xml"

/// What one read produced: records as compact JSON lines, drops as `reason line`, and the
/// error that ended it, if any.
private struct Outcome {
    var threads: [String] = []
    var drops: [String] = []
    var summary = StackExchangeSummary()
    var error: Error?
}

private func readThreads(_ path: String, memoryBudget: Int = 1 << 30, site: String? = nil, keepUnanswered: Bool = true,
                         onError: OnError = .skip, jobs: Int = 2, maxFanIn: Int = 64, chunkSize: Int = 1 << 18,
                         tempDirectory: String? = nil) -> Outcome {
    var outcome = Outcome()
    do {
        outcome.summary = try StackExchangeThreads.read(
            path: path, memoryBudget: memoryBudget, tempDirectory: tempDirectory, site: site, keepUnanswered: keepUnanswered,
            onError: onError, jobs: jobs, maxFanIn: maxFanIn, chunkSize: chunkSize,
            onThread: { outcome.threads.append(JSONWriter.string($0)) },
            onDrop: { outcome.drops.append("\($0.reason) \($0.location)") })
    } catch {
        outcome.error = error
    }
    return outcome
}

/// The cooking fixture's threads, written out by hand: ascending question id, answers in file
/// order (answer 5 comes before its question in the file), 3 accepted, tags in both forms.
private let cookingThreads = [
    #"{"id":"cooking.stackexchange.com/1","source":"stackexchange/cooking","question":{"title":"Boiling eggs","body":"How long do I boil an egg?","score":12,"tags":["eggs","boiling"]},"answers":[{"body":"An answer listed before its question (a broken dump).","score":1,"accepted":false},{"body":"Nine minutes:\n\n```\nboil(egg, minutes: 9)\n```","score":20,"accepted":true},{"body":"- cold water\n- ice","score":-1,"accepted":false}],"meta":{"question_id":1,"creation_date":"2010-07-09T19:00:00.000","view_count":300,"accepted_answer_id":3,"answer_ids":[5,3,9]}}"#,
    #"{"id":"cooking.stackexchange.com/2","source":"stackexchange/cooking","question":{"title":"Seasoning & salt > pepper?","body":"Is salt & pepper enough?","score":-2,"tags":["seasoning","salt"]},"answers":[{"body":"Use `salt`.","score":0,"accepted":false}],"meta":{"question_id":2,"creation_date":"2010-07-09T19:05:00.000","view_count":10,"answer_ids":[8]}}"#,
    #"{"id":"cooking.stackexchange.com/7","source":"stackexchange/cooking","question":{"title":"No answers here","body":"Anyone?","score":0,"tags":[]},"answers":[],"meta":{"question_id":7,"creation_date":"2010-07-09T19:13:00.000","answer_ids":[]}}"#,
]

private let cookingDrops = [
    "other_post_type \(cooking):7",
    "orphan_answer \(cooking):8",
    "duplicate_post \(cooking):12",
]

@Test func groupsThreadsInMemory() throws {
    let outcome = readThreads(cooking)
    #expect(outcome.error == nil)
    #expect(outcome.threads == cookingThreads)
    #expect(outcome.drops.sorted() == cookingDrops.sorted())
    #expect(outcome.summary.spilledRuns == 0)
    #expect(outcome.summary.rows == 10)
    #expect(outcome.summary.threads == 3)
    #expect(outcome.summary.answers == 4)
    #expect(outcome.summary.dropped == ["other_post_type": 1, "orphan_answer": 1, "duplicate_post": 1])
}

@Test func spillingGivesTheSameThreads() throws {
    let scratch = try Scratch()
    // A budget of 0 spills after every post: answers before and after their question end up
    // in different runs, and a fan-in of 2 forces merges of merges.
    for (budget, fanIn) in [(0, 64), (0, 2), (600, 3)] {
        let outcome = readThreads(cooking, memoryBudget: budget, maxFanIn: fanIn, tempDirectory: scratch.path)
        #expect(outcome.error == nil)
        #expect(outcome.summary.spilledRuns > 0, "budget \(budget) should spill")
        #expect(outcome.threads == cookingThreads, "budget \(budget), fan-in \(fanIn)")
        #expect(outcome.drops.sorted() == cookingDrops.sorted())
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty, "spill files are removed")
}

@Test func outputDoesNotDependOnJobsOrChunking() {
    // Pushing 7 bytes at a time splits every row, including one with a literal `>` in an attribute.
    let outcome = readThreads(cooking, jobs: 1, chunkSize: 7)
    #expect(outcome.error == nil)
    #expect(outcome.threads == cookingThreads)
}

@Test func unansweredQuestionsCanBeDropped() {
    let outcome = readThreads(cooking, keepUnanswered: false)
    #expect(outcome.threads == Array(cookingThreads.prefix(2)))
    #expect(outcome.drops.contains("unanswered \(cooking):9"))
}

@Test func siteNamesTheRecords() {
    let outcome = readThreads(cooking, site: "stackoverflow.com")
    #expect(outcome.threads.first?.hasPrefix(#"{"id":"stackoverflow.com/1","source":"stackexchange/stackoverflow","#) == true)
    #expect(StackExchangeThreads.siteName(fromPath: "Posts.xml") == nil)
    #expect(ThreadNaming(site: nil).source == "stackexchange")
    #expect(ThreadNaming(site: "meta.math.stackexchange.com").source == "stackexchange/meta.math")
}

@Test func readsGzip() throws {
    let scratch = try Scratch()
    let copy = scratch.path + "/Posts.xml"
    try FileManager.default.copyItem(atPath: cooking, toPath: copy)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-n", copy]
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let outcome = readThreads(copy + ".gz", site: "cooking.stackexchange.com")
    #expect(outcome.error == nil)
    #expect(outcome.threads == cookingThreads)
}

@Test func malformedRowsAreSkippedAndCounted() {
    let path = fixtures + "/malformed.xml"
    let outcome = readThreads(path, site: "x.stackexchange.com")
    #expect(outcome.error == nil)
    #expect(outcome.threads == [
        #"{"id":"x.stackexchange.com/1","source":"stackexchange/x","question":{"title":"Fine","body":"ok","score":3,"tags":["a"]},"answers":[{"body":"good","score":2,"accepted":false}],"meta":{"question_id":1,"answer_ids":[5]}}"#,
    ])
    #expect(outcome.drops == ["malformed_post \(path):4", "malformed_post \(path):5", "malformed_post \(path):6"])
}

@Test func malformedRowStopsTheRunByDefault() {
    let path = fixtures + "/malformed.xml"
    var messages: [String] = []
    var threads: [String] = []
    do {
        try StackExchangeThreads.read(path: path, site: "x.stackexchange.com", onThread: { threads.append(JSONWriter.string($0)) },
                                      onDrop: { messages.append($0.message) })
        Issue.record("a malformed row must stop the run")
    } catch let error as RecordError {
        #expect(error.description == "\(path):4: the row has no Id")
        #expect(error.reason == "malformed_post")
    } catch {
        Issue.record("unexpected \(error)")
    }
    // The question before the bad row is still written, without the answers after it.
    #expect(threads == [
        #"{"id":"x.stackexchange.com/1","source":"stackexchange/x","question":{"title":"Fine","body":"ok","score":3,"tags":["a"]},"answers":[],"meta":{"question_id":1,"answer_ids":[]}}"#,
    ])
}

@Test func malformedMessagesNameTheField() throws {
    var messages: [String] = []
    try StackExchangeThreads.read(path: fixtures + "/malformed.xml", onError: .skip, onThread: { _ in },
                                  onDrop: { messages.append($0.message) })
    #expect(messages == ["the row has no Id", "Score is not an integer: \"lots\"", "the answer has no ParentId"])
}

@Test func cutOffDumpKeepsWhatWasReadThenFails() {
    let path = fixtures + "/cutoff.xml"
    let outcome = readThreads(path, site: "cut.stackexchange.com")
    #expect(outcome.threads == [
        #"{"id":"cut.stackexchange.com/1","source":"stackexchange/cut","question":{"title":"Q1","body":"one","score":1,"tags":["a"]},"answers":[{"body":"answer","score":1,"accepted":false}],"meta":{"question_id":1,"answer_ids":[2]}}"#,
        #"{"id":"cut.stackexchange.com/3","source":"stackexchange/cut","question":{"title":"Q3","body":"three","score":2,"tags":[]},"answers":[],"meta":{"question_id":3,"answer_ids":[]}}"#,
    ])
    let failure = outcome.error as? IOFailure
    #expect(failure != nil)
    #expect(failure?.message.hasPrefix("\(path):6: the dump ends before its closing </posts>: the file is cut off") == true, "\(String(describing: failure))")
}

@Test func truncatedGzipKeepsWhatWasRead() throws {
    let scratch = try Scratch()
    let copy = scratch.path + "/Posts.xml"
    try FileManager.default.copyItem(atPath: cooking, toPath: copy)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-n", copy]
    try process.run()
    process.waitUntilExit()
    let whole = try Data(contentsOf: URL(fileURLWithPath: copy + ".gz"))
    try whole.prefix(whole.count - 30).write(to: URL(fileURLWithPath: copy + ".gz"))
    let outcome = readThreads(copy + ".gz", site: "cooking.stackexchange.com")
    #expect((outcome.error as? IOFailure)?.message.contains("gzip stream truncated") == true, "\(String(describing: outcome.error))")
    #expect(!outcome.threads.isEmpty)
}

@Test func notWellFormedXMLNamesTheLine() throws {
    let scratch = try Scratch()
    let path = scratch.write("bad.xml", """
        <?xml version="1.0"?>
        <posts>
          <row Id="1" PostTypeId="1" Score="1" Title="Q" Body="fine" />
          <row Id="2" PostTypeId="2" ParentId="1" Score="1" Body="a < b" />
        </posts>
        """)
    let outcome = readThreads(path)
    #expect(outcome.threads.count == 1)
    let message = (outcome.error as? IOFailure)?.message ?? ""
    #expect(message.hasPrefix("\(path):4: not well-formed XML: "), "\(message)")
}

@Test func otherFilesAreRefused() throws {
    let scratch = try Scratch()
    let comments = scratch.write("Comments.xml", "<?xml version=\"1.0\"?>\n<comments>\n  <row Id=\"1\" PostId=\"1\" Text=\"hi\" />\n</comments>\n")
    let outcome = readThreads(comments)
    #expect((outcome.error as? IOFailure)?.message == "\(comments):2: not a StackExchange Posts.xml: the root element is <comments>, expected <posts>")
    let empty = scratch.write("empty.xml", "")
    #expect((readThreads(empty).error as? IOFailure)?.message == "\(empty): no <posts> element: expected a StackExchange Posts.xml")
}

@Test func tagForms() {
    func tags(_ text: String) -> [String] {
        Array(text.utf8).withUnsafeBufferPointer { PostsReader.tags($0) }
    }
    #expect(tags("<c#><.net><asp.net-mvc>") == ["c#", ".net", "asp.net-mvc"])
    #expect(tags("|c#|.net|") == ["c#", ".net"])
    #expect(tags("") == [])
    #expect(tags("single") == ["single"])
}

@Test func spillRunsRoundTrip() throws {
    let scratch = try Scratch()
    let posts = [
        ThreadPost(key: -3, position: 0, line: 1, id: Int.max, isAnswer: false, score: -7, acceptedAnswerId: 12, viewCount: nil,
                   creationDate: "2024", title: "tïtle", body: String(repeating: "b", count: 300_000), tags: ["x", ""]),
        ThreadPost(key: 5, position: 1 << 40, line: 2, id: 0, isAnswer: true, score: 0, acceptedAnswerId: nil, viewCount: 9,
                   creationDate: "", title: "", body: "", tags: []),
    ]
    let writer = try RunWriter(path: scratch.path + "/run.bin")
    for post in posts { try writer.write(post) }
    try writer.close()
    let reader = try RunReader(path: scratch.path + "/run.bin", bufferSize: 16)
    var back: [ThreadPost] = []
    while let post = try reader.next() { back.append(post) }
    #expect(back.count == posts.count)
    for (got, expected) in zip(back, posts) {
        #expect(got == expected, "post \(expected.position) differs")
    }
}

/// A scratch directory per test, removed at the end.
private final class Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "lathe-se-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) -> String {
        let full = path + "/" + name
        FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        return full
    }
}
