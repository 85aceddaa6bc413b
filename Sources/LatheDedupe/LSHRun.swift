import Foundation
import LatheIO

#if canImport(Glibc)
import Glibc
#endif

/// A spilled part of an `LSHIndex`: for each band, its bucket hashes in ascending order and
/// each bucket's newest documents, newest first. A query never walks more than `maxChain`
/// documents of a bucket, so a run keeps no more than that many per bucket and loses nothing
/// a query could reach.
///
/// A fresh spill is a run of level 0; `init(merging:)` compacts runs that follow each other in
/// time into one of the next level, the way a log-structured merge tree does, so queries
/// search a few runs rather than one per spill.
///
/// The file is mapped read-only and unlinked at once, so it costs page cache rather than
/// process memory, and it disappears with the process however the process ends.
///
/// Layout (native 64-bit words): magic, band count, then per band its bucket and document
/// counts; then band after band its section: the sorted hashes, the bucket starts (count + 1
/// indices into the section's documents) and the documents as 32-bit numbers, padded to a
/// word. Sections are written one at a time, so writing a run holds one band in memory.
final class LSHRun: @unchecked Sendable {
    private static let magic: UInt64 = 0x3248_534C_4548_5441 // "ATHELSH2"

    /// One band of a run as it is written.
    struct Section {
        var hashes: [UInt64] = []
        var starts: [UInt64] = [0]
        var docs: [Int32] = []

        /// Adds a bucket; its documents newest first.
        mutating func append(hash: UInt64, docs bucket: some Collection<Int32>) {
            hashes.append(hash)
            docs += bucket
            starts.append(UInt64(docs.count))
        }
    }

    let level: Int
    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let hashes: [UnsafePointer<UInt64>]
    private let starts: [UnsafePointer<UInt64>]
    private let counts: [Int]
    private let docs: [UnsafePointer<Int32>]

    /// Bytes on disk.
    var bytes: Int { length }

    /// Writes the sections `section(0)`, `section(1)`, … for `bands` bands to a new file in
    /// `directory` and maps it.
    init(bands: Int, level: Int, directory: String, _ section: (Int) -> Section) throws {
        self.level = level
        var template = Array("\(directory)/lathe-dedupe-lsh-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw IOFailure("\(directory): cannot create a file to spill the LSH index to: \(String(cString: strerror(errno))) (choose another with --temp-dir, or raise --memory)")
        }
        defer { close(fd) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        var written = 0
        func write(_ data: UnsafeRawBufferPointer, at offset: Int) throws {
            var done = 0
            while done < data.count {
                let n = pwrite(fd, data.baseAddress! + done, data.count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw IOFailure("\(directory): writing a spilled LSH run failed: \(String(cString: strerror(errno))) (free disk space, choose another --temp-dir, or raise --memory)")
                }
                done += n
            }
            written = max(written, offset + data.count)
        }
        var header: [UInt64] = [LSHRun.magic, UInt64(bands)] + Array(repeating: 0, count: 2 * bands)
        var offset = header.count * 8
        for band in 0..<bands {
            var part = section(band)
            header[2 + 2 * band] = UInt64(part.hashes.count)
            header[3 + 2 * band] = UInt64(part.docs.count)
            if part.docs.count % 2 == 1 { part.docs.append(-1) }
            for words in [part.hashes, part.starts] {
                try words.withUnsafeBytes { try write($0, at: offset) }
                offset += words.count * 8
            }
            try part.docs.withUnsafeBytes { try write($0, at: offset) }
            offset += part.docs.count * 4
        }
        try header.withUnsafeBytes { try write($0, at: 0) }
        length = written
        guard let mapped = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            throw IOFailure("\(directory): cannot map a spilled LSH run: \(String(cString: strerror(errno)))")
        }
        base = mapped

        var word = UnsafePointer(base.assumingMemoryBound(to: UInt64.self)) + header.count
        var hashes: [UnsafePointer<UInt64>] = [], starts: [UnsafePointer<UInt64>] = [], docs: [UnsafePointer<Int32>] = []
        var counts: [Int] = []
        for band in 0..<bands {
            let count = Int(header[2 + 2 * band]), docCount = Int(header[3 + 2 * band])
            counts.append(count)
            hashes.append(word)
            word += count
            starts.append(word)
            word += count + 1
            docs.append(UnsafeRawPointer(word).assumingMemoryBound(to: Int32.self))
            word += (docCount + 1) / 2
        }
        self.hashes = hashes
        self.starts = starts
        self.docs = docs
        self.counts = counts
    }

    /// One run of the next level holding what `runs` (oldest first, following each other in
    /// time) hold: a bucket's documents newest first, at most `maxChain`, which is what a query
    /// walking `runs` newest first would see.
    convenience init(merging runs: [LSHRun], maxChain: Int, directory: String) throws {
        let bands = runs[0].counts.count
        try self.init(bands: bands, level: (runs.map(\.level).max() ?? 0) + 1, directory: directory) { band in
            var merged = Section()
            var cursors = [Int](repeating: 0, count: runs.count)
            while true {
                var next: UInt64?
                for (r, run) in runs.enumerated() where cursors[r] < run.counts[band] {
                    let hash = run.hashes[band][cursors[r]]
                    if next == nil || hash < next! { next = hash }
                }
                guard let hash = next else { return merged }
                var bucket: [Int32] = []
                for r in runs.indices.reversed() where cursors[r] < runs[r].counts[band] && runs[r].hashes[band][cursors[r]] == hash {
                    let run = runs[r]
                    let from = Int(run.starts[band][cursors[r]]), to = Int(run.starts[band][cursors[r] + 1])
                    bucket += UnsafeBufferPointer(start: run.docs[band] + from, count: min(to - from, maxChain - bucket.count))
                    cursors[r] += 1
                }
                merged.append(hash: hash, docs: bucket)
            }
        }
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
        for i in from..<to { body(docs[band][i]) }
        return to - from
    }
}
