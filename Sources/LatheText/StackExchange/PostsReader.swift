import CLibXML2
import Glibc
import LatheIO

/// One `<row>` of a StackExchange `Posts.xml`, with the fields threads need, checked.
///
/// `body` is still the site's HTML; it is converted to text on the worker threads.
struct PostRow: Sendable {
    enum Kind: UInt8, Sendable {
        case question = 1
        case answer = 2
    }

    /// The 1-based line where the row's start tag ends (rows are one line each in real dumps).
    var line: Int
    /// The row's position among all rows of the file, 0-based: the tie-breaker that keeps
    /// answers in file order whatever the spilling did.
    var position: Int
    var id = 0
    var kind = Kind.question
    var parentId = 0
    var acceptedAnswerId: Int?
    var score = 0
    var viewCount: Int?
    var title = ""
    var tags: [String] = []
    var creationDate = ""
    var body: [UInt8] = []
}

/// What the reader makes of a row: a post, or a row it cannot use and why.
enum RowResult: Sendable {
    case post(PostRow)
    /// `record` is the row's attributes as strings, for `--rejects`.
    case unusable(reason: String, message: String, line: Int, record: JSONValue)
}

/// Reads `Posts.xml` (plain or gzip, whatever `ByteSource` detects) with libxml2's SAX2 push
/// parser, a chunk at a time: memory is one chunk plus the rows not yet taken, whatever the
/// size of the dump.
///
/// Why SAX rather than `xmlTextReader`: both stream over the same push parser, but the reader
/// keeps a node per row and stores line numbers in 16 bits (an element past line 65,535
/// reports 65,535), and its parser runs ahead of the node it returns, so its parser line is
/// not the row's line either. A `startElementNs` callback sees the exact line, allocates no
/// tree, and hands over the attribute values in place.
final class PostsReader {
    let name: String
    private let source: ByteSource
    private var parser: xmlParserCtxtPtr?
    private var chunk: [UInt8]
    private var pending: [RowResult] = []
    private var pendingBodyBytes = 0
    private var rowCount = 0
    private var sawRoot = false
    private var finished = false
    private var terminating = false
    /// The first error libxml2 raised, with its line.
    private var xmlError: (line: Int, message: String)?
    private var notPosts: String?

    /// Options: entities replaced (the handler declares none, so only the five predefined ones
    /// and character references exist: no external entity is ever loaded), no network, and no
    /// 10 MB cap on one attribute value.
    private static let options = Int32(XML_PARSE_NOENT.rawValue | XML_PARSE_NONET.rawValue | XML_PARSE_HUGE.rawValue)

    init(source: ByteSource, chunkSize: Int = 1 << 18) {
        self.source = source
        self.name = source.name
        self.chunk = [UInt8](repeating: 0, count: chunkSize)
    }

    deinit {
        if let parser { xmlFreeParserCtxt(parser) }
    }

    /// Bytes of input consumed so far (compressed bytes for gzip), for progress.
    var consumedBytes: Int { source.consumedBytes }

    /// The next rows in file order, at least one, or nil at the end of a well-formed dump.
    ///
    /// A dump that is cut off or is not well-formed XML throws `IOFailure` with `file:line`,
    /// after every row before the fault has been returned.
    func next(minRows: Int = 64, maxBodyBytes: Int = 1 << 20) throws -> [RowResult]? {
        while !finished && pending.count < minRows && pendingBodyBytes < maxBodyBytes {
            try feed()
        }
        if pending.isEmpty {
            if let failure = takeFailure() { throw failure }
            return nil
        }
        let rows = pending
        pending.removeAll(keepingCapacity: true)
        pendingBodyBytes = 0
        return rows
    }

    private var failure: IOFailure?

    private func takeFailure() -> IOFailure? {
        defer { failure = nil }
        return failure
    }

    /// Pushes one chunk of input through the parser (or ends the document at end of input).
    private func feed() throws {
        let n: Int
        do {
            n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
        } catch let error as IOFailure {
            // A truncated gzip: the rows before the cut are still returned.
            finished = true
            failure = error
            return
        }
        if parser == nil {
            let context = Unmanaged.passUnretained(self).toOpaque()
            var handler = Self.handler
            let head = min(n, 4)  // libxml2 detects the encoding from the first bytes
            parser = chunk.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: head) {
                    xmlCreatePushParserCtxt(&handler, context, $0, Int32(head), name)
                }
            }
            guard let parser else {
                finished = true
                failure = IOFailure("\(name): cannot create an XML parser")
                return
            }
            xmlCtxtUseOptions(parser, Self.options)
            push(offset: head, count: n - head, terminate: n == 0)
        } else {
            push(offset: 0, count: n, terminate: n == 0)
        }
        if n == 0 { finished = true }
        if let notPosts {
            finished = true
            failure = IOFailure(notPosts)
        } else if n == 0 && !sawRoot {
            failure = IOFailure("\(name): no <posts> element: expected a StackExchange Posts.xml")
        } else if let xmlError {
            finished = true
            failure = IOFailure("\(name):\(xmlError.line): \(xmlError.message)")
        }
    }

    private func push(offset: Int, count: Int, terminate: Bool) {
        terminating = terminate
        chunk.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                _ = xmlParseChunk(parser, $0 + offset, Int32(count), terminate ? 1 : 0)
            }
        }
    }

    private var currentLine: Int {
        guard let input = parser?.pointee.input else { return 0 }
        return Int(input.pointee.line)
    }

    nonisolated(unsafe) private static let handler: xmlSAXHandler = {
        var handler = xmlSAXHandler()
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = { context, localName, _, _, _, _, attributeCount, _, attributes in
            guard let context, let localName else { return }
            let reader = Unmanaged<PostsReader>.fromOpaque(context).takeUnretainedValue()
            reader.startElement(localName, attributes, Int(attributeCount))
        }
        handler.serror = { context, error in
            guard let context, let error else { return }
            let reader = Unmanaged<PostsReader>.fromOpaque(context).takeUnretainedValue()
            reader.recordError(error.pointee)
        }
        return handler
    }()

    private func recordError(_ error: xmlError) {
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue, xmlError == nil else { return }
        var message = error.message.map { String(cString: $0) } ?? "error \(error.code)"
        while message.last?.isWhitespace == true { message.removeLast() }
        if terminating {
            // At the end of input every complaint means the same thing, and libxml2's words
            // for it ("Extra content at the end of the document") mislead.
            message = "the dump ends before its closing </posts>: the file is cut off (libxml2: \(message)); every complete row before this line was read"
        } else {
            message = "not well-formed XML: \(message)"
        }
        xmlError = (line: error.line > 0 ? Int(error.line) : currentLine, message: message)
        xmlStopParser(parser)
    }

    /// `attributes` is null for an element without any (the root).
    private func startElement(_ localName: UnsafePointer<xmlChar>, _ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, _ count: Int) {
        if !sawRoot {
            sawRoot = true
            if !equals(localName, "posts") {
                notPosts = "\(name):\(currentLine): not a StackExchange Posts.xml: the root element is <\(String(cString: localName))>, expected <posts>"
                xmlStopParser(parser)
            }
            return
        }
        guard equals(localName, "row") else { return }
        let result = attributes.map { row($0, count) }
            ?? .unusable(reason: "malformed_post", message: "the row has no attributes", line: currentLine, record: .object(JSONObject()))
        if case .post(let post) = result { pendingBodyBytes += post.body.count }
        pending.append(result)
        rowCount += 1
    }

    /// The attributes of one row, checked. Attribute `i` is five pointers: local name,
    /// prefix, namespace URI, value start, value end.
    private func row(_ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>, _ count: Int) -> RowResult {
        var post = PostRow(line: currentLine, position: rowCount)
        var id: Int?, type: Int?, parent: Int?, score: Int?
        var problem: String?
        var hasBody = false

        func number(_ field: String, _ value: UnsafeBufferPointer<UInt8>) -> Int? {
            if let n = parseInteger(value) { return n }
            if problem == nil {
                problem = "\(field) is not an integer: \"\(String(decoding: value.prefix(40), as: UTF8.self))\""
            }
            return nil
        }

        for i in 0..<count {
            guard let namePointer = attributes[5 * i], let start = attributes[5 * i + 3], let end = attributes[5 * i + 4]
            else { continue }
            let value = UnsafeBufferPointer(start: start, count: end - start)
            // The fields are told apart by length and then bytes, to keep the hot path free of Strings.
            let attribute = UnsafeBufferPointer(start: namePointer, count: strlen(namePointer))
            switch attribute.count {
            case 2 where matches(attribute, "Id"): id = number("Id", value)
            case 4 where matches(attribute, "Body"): post.body = Array(value); hasBody = true
            case 4 where matches(attribute, "Tags"): post.tags = Self.tags(value)
            case 5 where matches(attribute, "Title"): post.title = String(decoding: value, as: UTF8.self)
            case 5 where matches(attribute, "Score"): score = number("Score", value)
            case 8 where matches(attribute, "ParentId"): parent = number("ParentId", value)
            case 9 where matches(attribute, "ViewCount"): post.viewCount = number("ViewCount", value)
            case 10 where matches(attribute, "PostTypeId"): type = number("PostTypeId", value)
            case 12 where matches(attribute, "CreationDate"): post.creationDate = String(decoding: value, as: UTF8.self)
            case 16 where matches(attribute, "AcceptedAnswerId"): post.acceptedAnswerId = number("AcceptedAnswerId", value)
            default: break
            }
        }

        if problem == nil {
            if id == nil { problem = "the row has no Id" }
            else if type == nil { problem = "the row has no PostTypeId" }
        }
        if problem == nil, let type, type != 1 && type != 2 {
            // Tag wikis, moderator nominations and the like: rows, but not Q&A.
            return .unusable(reason: "other_post_type", message: "PostTypeId \(type) is neither a question (1) nor an answer (2)",
                             line: post.line, record: Self.record(attributes, count))
        }
        if problem == nil {
            if score == nil { problem = "the row has no Score" }
            else if type == 2 && parent == nil { problem = "the answer has no ParentId" }
            else if !hasBody { problem = "the row has no Body" }
        }
        if let problem {
            return .unusable(reason: "malformed_post", message: problem, line: post.line, record: Self.record(attributes, count))
        }
        post.id = id!
        post.kind = type == 1 ? .question : .answer
        post.parentId = parent ?? 0
        post.score = score!
        return .post(post)
    }

    /// Tags in either form the dumps have used: `<a><b>` and, since 2023, `|a|b|`.
    static func tags(_ value: UnsafeBufferPointer<UInt8>) -> [String] {
        var tags: [String] = []
        var start = 0
        for (i, byte) in value.enumerated() where byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "|") {
            if i > start { tags.append(String(decoding: UnsafeBufferPointer(rebasing: value[start..<i]), as: UTF8.self)) }
            start = i + 1
        }
        if value.count > start { tags.append(String(decoding: UnsafeBufferPointer(rebasing: value[start...]), as: UTF8.self)) }
        return tags
    }

    /// The row's attributes as a JSON object of strings: what `--rejects` receives for a row
    /// that is not made into a thread.
    private static func record(_ attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>, _ count: Int) -> JSONValue {
        var object = JSONObject()
        for i in 0..<count {
            guard let name = attributes[5 * i], let start = attributes[5 * i + 3], let end = attributes[5 * i + 4] else { continue }
            object[String(cString: name)] = .string(String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self))
        }
        return .object(object)
    }
}

/// A decimal integer with an optional minus sign and nothing else; nil when it is not one
/// or does not fit in 64 bits.
func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    let negative = bytes.first == UInt8(ascii: "-")
    if negative { i = 1 }
    guard i < bytes.count, bytes.count - i <= 18 else { return nil }
    var value = 0
    while i < bytes.count {
        let digit = Int(bytes[i]) - 48
        guard digit >= 0 && digit <= 9 else { return nil }
        value = value * 10 + digit
        i += 1
    }
    return negative ? -value : value
}

private func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
    guard bytes.count == text.utf8CodeUnitCount else { return false }
    return memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0
}

private func equals(_ name: UnsafePointer<xmlChar>, _ text: StaticString) -> Bool {
    strlen(name) == text.utf8CodeUnitCount && memcmp(name, text.utf8Start, text.utf8CodeUnitCount) == 0
}
