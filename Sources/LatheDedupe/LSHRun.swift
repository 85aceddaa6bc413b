import Foundation
import LatheIO

#if canImport(Glibc)
import Glibc
#endif

/// One spilled generation of an `LSHIndex`: for each band, its bucket hashes in ascending
/// order and each bucket's newest documents, newest first. A query never walks more than
/// `maxChain` documents of a bucket, so a run keeps no more than that many per bucket and
/// loses nothing a query could reach.
///
/// The file is mapped read-only and unlinked at once, so it costs page cache rather than
/// process memory, and it disappears with the process however the process ends.
///
/// Layout (native 64-bit words): magic, band count, then per band its bucket count; then per
/// band the sorted hashes and the bucket starts (count + 1 indices into the documents); then
/// every bucket's documents as 32-bit numbers.
final class LSHRun: @unchecked Sendable {
    private static let magic: UInt64 = 0x3148_534C_4548_5441 // "ATHELSH1"

    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let hashes: [UnsafePointer<UInt64>]
    private let starts: [UnsafePointer<UInt64>]
    private let counts: [Int]
    private let docs: UnsafePointer<Int32>

    /// Bytes on disk.
    var bytes: Int { length }

    /// Writes `buckets[band]` (hash, documents newest first), sorted by hash, to a new file
    /// in `directory` and maps it.
    init(buckets: [[(hash: UInt64, docs: [Int32])]], directory: String) throws {
        var header: [UInt64] = [LSHRun.magic, UInt64(buckets.count)]
        header += buckets.map { UInt64($0.count) }
        var body: [UInt64] = []
        var docList: [Int32] = []
        for band in buckets {
            body += band.map(\.hash)
            body.append(UInt64(docList.count))
            for bucket in band {
                docList += bucket.docs
                body.append(UInt64(docList.count))
            }
        }

        var template = Array("\(directory)/lathe-dedupe-lsh-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let path = String(cString: template)
        guard fd >= 0 else {
            throw IOFailure("\(directory): cannot create a file to spill the LSH index to: \(String(cString: strerror(errno))) (choose another with --temp-dir, or raise --memory)")
        }
        defer { close(fd) }
        unlink(path)
        func write(_ data: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < data.count {
                let n = Glibc.write(fd, data.baseAddress! + offset, data.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw IOFailure("\(directory): writing a spilled LSH run failed: \(String(cString: strerror(errno))) (free disk space, choose another --temp-dir, or raise --memory)")
                }
                offset += n
            }
        }
        try header.withUnsafeBytes(write)
        try body.withUnsafeBytes(write)
        try docList.withUnsafeBytes(write)
        length = (header.count + body.count) * 8 + docList.count * 4
        guard length > 0, let mapped = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            throw IOFailure("\(directory): cannot map a spilled LSH run: \(String(cString: strerror(errno)))")
        }
        base = mapped

        var word = UnsafePointer(base.assumingMemoryBound(to: UInt64.self)) + header.count
        var hashes: [UnsafePointer<UInt64>] = [], starts: [UnsafePointer<UInt64>] = []
        for band in buckets {
            hashes.append(word)
            word += band.count
            starts.append(word)
            word += band.count + 1
        }
        self.hashes = hashes
        self.starts = starts
        counts = buckets.map(\.count)
        docs = UnsafeRawPointer(word).assumingMemoryBound(to: Int32.self)
    }

    deinit { munmap(base, length) }

    /// Calls `body` with the newest documents of the bucket (`band`, `hash`), at most
    /// `limit`, newest first; returns how many.
    func visit(band: Int, hash: UInt64, limit: Int, _ body: (Int32) -> Void) -> Int {
        let keys = hashes[band]
        var low = 0, high = counts[band]
        while low < high {
            let mid = (low + high) >> 1
            if keys[mid] < hash { low = mid + 1 } else { high = mid }
        }
        guard low < counts[band], keys[low] == hash else { return 0 }
        let from = Int(starts[band][low]), to = min(Int(starts[band][low + 1]), from + limit)
        for i in from..<to { body(docs[i]) }
        return to - from
    }
}
