@testable import LatheData
import LatheIO
import Testing

private let here = SourceLocation(file: "threads.jsonl", line: 1)

@Suite struct PlainThreadTests {
    /// Settings under which the plain path is tried: the defaults, a forced format with a
    /// lower bar for answers, a named source with a split and a higher bar.
    static let settings: [SFTSettings] = {
        var all = [SFTSettings()]
        var forced = SFTSettings()
        forced.reader.format = .thread
        forced.reader.minScore = -5
        forced.html = .drop
        all.append(forced)
        var named = SFTSettings()
        named.reader.source = "named"
        named.reader.minScore = 10
        named.html = .keep
        named.split = try! SplitSpec(parsing: "train=0.6,valid=0.2,test=0.2")
        named.splitSeed = 5
        all.append(named)
        return all
    }()

    /// Seeded thread lines, mostly plain text but with escapes, HTML, blank and empty texts,
    /// ties, accepted and unaccepted answers, ids of every kind, missing and wrong members and
    /// every line sometimes repeated: `format(line:)` (with its plain path) gives exactly what
    /// the parser's path gives, record, drop and duplicate verdict alike.
    @Test(arguments: [7, 8] as [UInt64])
    func plainPathWritesWhatTheParsersPathWrites(seed: UInt64) throws {
        var generator = ThreadLineGenerator(seed: seed)
        generator.plainTexts = 0.9
        generator.scoreRange = 40
        var lines: [String] = []
        for _ in 0..<3000 {
            let line = generator.line().text
            lines.append(line)
            if generator.chance(0.1) { lines.append(line) }
        }
        for settings in Self.settings {
            #expect(settings.writesTurnsAsRead)
            let formatter = SFTFormatter(settings: settings)
            var fastFirst = FirstWithContent(), slowFirst = FirstWithContent()
            var plain = 0, plainDrops = 0, general = 0
            for line in lines {
                let slow: Result<FormattedExample, Dropped>?
                do {
                    slow = .success(try formatter.format(JSONParser.parse(line), at: here))
                } catch let dropped as Dropped {
                    slow = .failure(dropped)
                } catch {
                    slow = nil  // a record error: the line reader must leave the line to the parser
                }
                let (fast, plainResult) = Array(line.utf8).withUnsafeBytes { bytes in
                    (formatter.format(line: bytes, at: here),
                     settings.reader.scan(line: bytes, maxDepth: JSONParser.defaultMaxDepth).flatMap { $0.0.plainThread(settings) })
                }
                switch plainResult {
                case .success?: plain += 1
                case .failure?: plainDrops += 1
                case nil: if case .success? = slow { general += 1 }
                }
                guard let fast else { continue }
                switch (fast, slow) {
                case (.success(let a), .success(let b)?):
                    #expect(a.line == b.line, "\(line)\n\(String(decoding: a.line, as: UTF8.self))\n\(String(decoding: b.line, as: UTF8.self))")
                    #expect(a.id == b.id && a.contentKey == b.contentKey && a.split == b.split, "\(line)")
                    #expect(fastFirst.insert(a) == slowFirst.insert(b), "\(line)")
                case (.failure(let a), .failure(let b)?):
                    #expect(a == b, "\(line)")
                default:
                    Issue.record("line reader \(fast), parser path \(String(describing: slow)): \(line)")
                }
            }
            // Both paths see many records: the plain one those of plain text, the general one the rest.
            #expect(plain > 400 && plainDrops > 200 && general > 150, "plain \(plain), plain drops \(plainDrops), general \(general)")
        }
    }

    /// A thread written by hand: the accepted answer over a higher-scored one, the title and
    /// body after a blank line, non-ASCII text as it was, the record's own source.
    @Test func handWrittenThread() throws {
        let line = #"{"id":7,"source":"se/東京","question":{"title":"Where?","body":"The café","score":3},"answers":[{"body":"Not here.","score":9},{"body":"東京 station","score":1,"accepted":true}]}"#
        let settings = SFTSettings()
        let (formatted, plain) = Array(line.utf8).withUnsafeBytes { bytes in
            (SFTFormatter(settings: settings).format(line: bytes, at: here),
             settings.reader.scan(line: bytes, maxDepth: JSONParser.defaultMaxDepth)?.0.plainThread(settings))
        }
        guard case .success(let example)? = formatted, case .success? = plain else {
            Issue.record("not written on the plain path: \(String(describing: formatted)) \(String(describing: plain))")
            return
        }
        #expect(String(decoding: example.line, as: UTF8.self)
            == #"{"id":"7","messages":[{"role":"user","content":"Where?\n\nThe café"},{"role":"assistant","content":"東京 station"}],"source":"se/東京"}"#)
        #expect(example.id == "7")
    }
}
