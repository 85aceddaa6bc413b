import Glibc
import LatheIO

/// A question or answer after its body became text: what the grouper holds, spills and merges.
struct ThreadPost: Sendable, Equatable {
    /// The thread it belongs to: a question's own id, an answer's ParentId.
    var key: Int
    /// Row position in the file; (key, position) orders every post of a dump uniquely.
    var position: Int
    var line: Int
    var id: Int
    var isAnswer: Bool
    var score: Int
    var acceptedAnswerId: Int?
    var viewCount: Int?
    var creationDate: String
    var title: String
    var body: String
    var tags: [String]

    /// What holding it costs, roughly: its text plus the struct, array slot and string headers.
    var heldBytes: Int {
        var bytes = 160 + body.utf8.count + title.utf8.count + creationDate.utf8.count
        for tag in tags { bytes += 16 + tag.utf8.count }
        return bytes
    }

    static func < (a: ThreadPost, b: ThreadPost) -> Bool {
        a.key != b.key ? a.key < b.key : a.position < b.position
    }
}

/// A sorted run of posts in a temporary file, in a compact binary form: zigzag varints and
/// length-prefixed UTF-8, one post after another, no framing beyond that. A run is read once,
/// front to back, by the process that wrote it, so the format needs no version or checksum.
final class RunWriter {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8] = []
    private(set) var bytesWritten = 0

    init(path: String) throws {
        guard let file = fopen(path, "wb") else {
            throw IOFailure("\(path): cannot create a spill file: \(String(cString: strerror(errno))) (set the temporary directory to a writable place)")
        }
        self.path = path
        self.file = file
        buffer.reserveCapacity(1 << 20)
    }

    deinit { fclose(file) }

    func write(_ post: ThreadPost) throws {
        varint(post.key)
        varint(post.position)
        varint(post.line)
        varint(post.id)
        buffer.append((post.isAnswer ? 1 : 0) | (post.acceptedAnswerId != nil ? 2 : 0) | (post.viewCount != nil ? 4 : 0))
        varint(post.score)
        if let accepted = post.acceptedAnswerId { varint(accepted) }
        if let views = post.viewCount { varint(views) }
        string(post.creationDate)
        string(post.title)
        string(post.body)
        varint(post.tags.count)
        for tag in post.tags { string(tag) }
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Flushes and closes; the run is complete once this returns.
    func close() throws {
        try flush()
        guard fflush(file) == 0 else { throw IOFailure("\(path): cannot write a spill file: \(String(cString: strerror(errno)))") }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == buffer.count else {
            throw IOFailure("\(path): cannot write a spill file: \(String(cString: strerror(errno))) (is the temporary directory's disk full?)")
        }
        bytesWritten += written
        buffer.removeAll(keepingCapacity: true)
    }

    private func varint(_ value: Int) {
        var v = UInt64(bitPattern: Int64((value << 1) ^ (value >> 63)))
        while v >= 0x80 {
            buffer.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        buffer.append(UInt8(v))
    }

    private func string(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            varint(bytes.count)
            buffer.append(contentsOf: bytes)
        }
    }
}

/// Reads back what `RunWriter` wrote, a buffer at a time.
final class RunReader {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false

    init(path: String, bufferSize: Int = 1 << 18) throws {
        guard let file = fopen(path, "rb") else {
            throw IOFailure("\(path): cannot open a spill file: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.file = file
        buffer = [UInt8](repeating: 0, count: bufferSize)
    }

    deinit { fclose(file) }

    /// The next post, or nil at the end of the run.
    func next() throws -> ThreadPost? {
        guard try available(1) else { return nil }
        let key = try varint()
        let position = try varint()
        let line = try varint()
        let id = try varint()
        let flags = try byte()
        let score = try varint()
        let accepted = flags & 2 != 0 ? try varint() : nil
        let views = flags & 4 != 0 ? try varint() : nil
        let date = try string()
        let title = try string()
        let body = try string()
        var tags: [String] = []
        for _ in 0..<(try varint()) { tags.append(try string()) }
        return ThreadPost(key: key, position: position, line: line, id: id, isAnswer: flags & 1 != 0, score: score,
                          acceptedAnswerId: accepted, viewCount: views, creationDate: date, title: title, body: body, tags: tags)
    }

    /// Whether `count` more bytes can be had, refilling (and growing, for a long body) as needed.
    private func available(_ count: Int) throws -> Bool {
        if end - start >= count { return true }
        if start > 0 {
            buffer.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: end - start) }
            end -= start
            start = 0
        }
        if count > buffer.count { buffer += [UInt8](repeating: 0, count: count - buffer.count) }
        while end - start < count && !atEOF {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress! + end, 1, $0.count - end, file) }
            if n == 0 {
                if ferror(file) != 0 { throw IOFailure("\(path): cannot read a spill file: \(String(cString: strerror(errno)))") }
                atEOF = true
            }
            end += n
        }
        return end - start >= count
    }

    private func byte() throws -> UInt8 {
        guard try available(1) else { throw truncated() }
        defer { start += 1 }
        return buffer[start]
    }

    private func varint() throws -> Int {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
            guard shift < 64 else { throw truncated() }
        }
        return Int(Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1))))
    }

    private func string() throws -> String {
        let count = try varint()
        guard count >= 0, try available(count) else { throw truncated() }
        defer { start += count }
        return buffer.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<start + count]), as: UTF8.self) }
    }

    private func truncated() -> IOFailure {
        IOFailure("\(path): a spill file ends early or is corrupt (was the temporary directory cleaned while Lathe ran?)")
    }
}

/// Merges sorted runs into one stream in (key, position) order with a binary heap of their heads.
struct RunMerger {
    private var readers: [RunReader]
    private var heap: [(post: ThreadPost, run: Int)] = []

    init(_ readers: [RunReader]) throws {
        self.readers = readers
        for (run, reader) in readers.enumerated() {
            if let post = try reader.next() { push((post, run)) }
        }
    }

    mutating func next() throws -> ThreadPost? {
        guard let top = heap.first else { return nil }
        if let following = try readers[top.run].next() {
            heap[0] = (following, top.run)
            siftDown(0)
        } else {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
        return top.post
    }

    private mutating func push(_ entry: (post: ThreadPost, run: Int)) {
        heap.append(entry)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].post < heap[parent].post else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var i = index
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count && heap[left].post < heap[smallest].post { smallest = left }
            if right < heap.count && heap[right].post < heap[smallest].post { smallest = right }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
