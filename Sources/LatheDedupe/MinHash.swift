import CDedupeKernels
import LatheIO
import Foundation

/// MinHash signatures: for each of `numPerm` hash functions, the least value over a
/// document's shingles. Two documents agree in one position with probability equal to the
/// Jaccard similarity of their shingle sets.
///
/// The functions are `h_k(x) = a_k·x + b_k mod 2^32` over the high 32 bits `x` of shingle
/// hashes that are already uniformly mixed, with `a_k` odd: each is a bijection of the 32-bit
/// words, the minimum is decided by the high bits, which depend on every bit of `x`, and 16
/// of them run at once in a vector register (CDedupeKernels picks AVX-512 or AVX2 at load
/// time). (The textbook `a·x+b mod 2^61−1` needs a 128-bit product per hash and is several
/// times slower.) 32-bit values tie by accident with probability ~n/2^32 for n shingles, far
/// below MinHash's own error. The statistical tests in MinHashTests hold it to the error
/// bound and the S-curve of ideal permutations.
public struct MinHasher: Sendable {
    public let numPerm: Int
    public let seed: UInt64
    /// Multipliers and offsets, padded to a multiple of 16 functions.
    let a: [UInt32]
    let b: [UInt32]

    public init(numPerm: Int, seed: UInt64) {
        self.numPerm = numPerm
        self.seed = seed
        var rng = SplitMix64(seed: seed ^ 0x6d69_6e68_6173_6821)
        let padded = (numPerm + 15) / 16 * 16
        var a: [UInt32] = [], b: [UInt32] = []
        for _ in 0..<padded {
            let r = rng.next()
            a.append(UInt32(truncatingIfNeeded: r >> 32) | 1)
            b.append(UInt32(truncatingIfNeeded: r))
        }
        self.a = a
        self.b = b
    }

    /// The signature of a set given as shingle hashes (repeats do no harm). An empty set gives
    /// all ones, which callers never index.
    public func signature(_ shingles: [UInt64]) -> [UInt64] {
        var mins = [UInt32](repeating: 0, count: a.count)
        lathe_minhash32(shingles, shingles.count, a, b, a.count, &mins)
        return (0..<numPerm).map { UInt64(mins[$0]) }
    }

    /// The fraction of positions where two signatures agree: the MinHash estimate of Jaccard.
    public static func estimate(_ x: [UInt64], _ y: [UInt64]) -> Double {
        precondition(x.count == y.count && !x.isEmpty)
        var same = 0
        for i in 0..<x.count where x[i] == y[i] { same += 1 }
        return Double(same) / Double(x.count)
    }
}

/// Locality-sensitive hashing by banding: a signature of `bands × rows` values is cut into
/// `bands` runs of `rows`; two documents become candidates when any band agrees in full, which
/// for Jaccard `s` happens with probability `1 − (1 − s^rows)^bands`, the S-curve.
public struct LSHParameters: Sendable, Equatable, CustomStringConvertible {
    public var bands: Int
    public var rows: Int

    public init(bands: Int, rows: Int) {
        self.bands = bands
        self.rows = rows
    }

    /// FineWeb's choice: 112 hashes as 14 bands of 8 rows.
    public static let fineWeb = LSHParameters(bands: 14, rows: 8)

    public var numPerm: Int { bands * rows }

    /// The chance that a pair at Jaccard `s` shares at least one band.
    public func candidateProbability(_ s: Double) -> Double {
        1 - Foundation.pow(1 - Foundation.pow(s, Double(rows)), Double(bands))
    }

    /// The threshold where the S-curve is steepest, about `(1/bands)^(1/rows)`.
    public var approximateThreshold: Double { Foundation.pow(1 / Double(bands), 1 / Double(rows)) }

    /// The bands and rows within `numPerm` hashes that minimise the weighted area of false
    /// positives (below `threshold`) and false negatives (above it), as datasketch does.
    /// `falseNegativeWeight` above 0.5 favours recall, which suits `--verify`: a false
    /// positive only costs one exact Jaccard computation.
    public static func optimal(threshold: Double, numPerm: Int, falseNegativeWeight: Double = 0.5) -> LSHParameters {
        func area(_ from: Double, _ to: Double, _ f: (Double) -> Double) -> Double {
            let steps = 200
            let h = (to - from) / Double(steps)
            var sum = 0.0
            for i in 0..<steps { sum += f(from + (Double(i) + 0.5) * h) }
            return sum * h
        }
        var best = LSHParameters(bands: 1, rows: numPerm)
        var bestError = Double.infinity
        for bands in 1...numPerm {
            for rows in 1...(numPerm / bands) {
                let p = LSHParameters(bands: bands, rows: rows)
                let fp = area(0, threshold) { p.candidateProbability($0) }
                let fn = area(threshold, 1) { 1 - p.candidateProbability($0) }
                let error = (1 - falseNegativeWeight) * fp + falseNegativeWeight * fn
                if error < bestError - 1e-12 {
                    bestError = error
                    best = p
                }
            }
        }
        return best
    }

    /// One 64-bit hash per band of a signature.
    public func bandHashes(_ signature: [UInt64]) -> [UInt64] {
        precondition(signature.count >= numPerm)
        var out = [UInt64](repeating: 0, count: bands)
        for band in 0..<bands {
            var h = Hash64.mum(UInt64(band) ^ Hash64.p0, Hash64.p1)
            for row in 0..<rows { h = Hash64.combine(h, signature[band * rows + row]) }
            out[band] = Hash64.finalize(h)
        }
        return out
    }

    public var description: String { "\(bands) bands × \(rows) rows" }
}

/// A candidate near-duplicate found by banding: an earlier document and how many bands the
/// two share (more shared bands, higher Jaccard, on average).
public struct Candidate: Sendable, Equatable {
    public var doc: Int
    public var sharedBands: Int
}

/// The band buckets of every document indexed so far. Each (document, band) is one entry in
/// a chain per bucket, so memory is a few words per band per document and no text is kept.
///
/// Under a memory budget (`spill(ifOver:directory:)`) the entries in memory are written out as
/// an `LSHRun` when they outgrow it and a fresh generation starts; a query walks the memory
/// generation, then the runs newest first, so the candidates found are the same as without
/// spilling, and one pass (stdin included) still suffices. Whenever `compactionFanIn` runs of
/// one level follow each other they are merged into one run of the next level, so a query
/// searches a number of runs that grows with the logarithm of the spills, not with the spills.
public struct LSHIndex {
    public let bands: Int
    /// How many earlier documents of one bucket are looked at (the most recent ones), and how
    /// many candidates are returned, so a bucket shared by thousands of boilerplate pages
    /// costs bounded work per document.
    public let maxChain: Int
    public let maxCandidates: Int
    private var heads: [[UInt64: Int32]]
    /// The previous entry of the same bucket, or -1; entry `doc·bands + band`.
    private var previous: [Int32] = []
    private var docOfSlot: [Int32] = []
    /// Oldest first.
    private var runs: [LSHRun] = []
    public private(set) var spills = 0
    public private(set) var count = 0
    /// How many runs of one level are merged at once.
    public static let compactionFanIn = 8

    public init(bands: Int, maxChain: Int = 64, maxCandidates: Int = 32) {
        self.bands = bands
        self.maxChain = maxChain
        self.maxCandidates = maxCandidates
        heads = Array(repeating: [:], count: bands)
    }

    /// Indexes document `doc` (ascending across calls) and returns the earlier documents that
    /// share a band with it: most shared bands first, then earliest first.
    public mutating func insert(doc: Int, bandHashes: [UInt64]) -> [Candidate] {
        precondition(bandHashes.count == bands)
        var shared: [Int32: Int] = [:]
        for band in 0..<bands {
            let slot = Int32(previous.count)
            let prior = heads[band].updateValue(slot, forKey: bandHashes[band]) ?? -1
            previous.append(prior)
            docOfSlot.append(Int32(doc))
            var cursor = prior
            var walked = 0
            while cursor >= 0 && walked < maxChain {
                shared[docOfSlot[Int(cursor)], default: 0] += 1
                cursor = previous[Int(cursor)]
                walked += 1
            }
            for run in runs.reversed() where walked < maxChain {
                walked += run.visit(band: band, hash: bandHashes[band], limit: maxChain - walked) { shared[$0, default: 0] += 1 }
            }
        }
        count += 1
        guard !shared.isEmpty else { return [] }
        var candidates = shared.map { Candidate(doc: Int($0.key), sharedBands: $0.value) }
        candidates.sort { $0.sharedBands != $1.sharedBands ? $0.sharedBands > $1.sharedBands : $0.doc < $1.doc }
        if candidates.count > maxCandidates { candidates.removeLast(candidates.count - maxCandidates) }
        return candidates
    }

    /// Bytes held per indexed document, for the memory estimate.
    public static func bytesPerDocument(bands: Int) -> Int { bands * (4 + 4 + 24) }

    /// Bytes the index holds in memory now.
    public var memoryBytes: Int { previous.count / max(bands, 1) * LSHIndex.bytesPerDocument(bands: bands) }

    /// How many times the index spilled, the runs it has on disk after compaction, and their bytes.
    public var spilled: (spills: Int, runs: Int, bytes: Int) { (spills, runs.count, runs.reduce(0) { $0 + $1.bytes }) }

    /// Moves the entries in memory to a run in `directory` when they take more than `budget`
    /// bytes.
    public mutating func spill(ifOver budget: Int, directory: String) throws {
        guard memoryBytes > budget, !previous.isEmpty else { return }
        runs.append(try LSHRun(bands: bands, level: 0, directory: directory) { band in
            var section = LSHRun.Section()
            for (hash, slot) in heads[band].sorted(by: { $0.key < $1.key }) { section.append(hash: hash, docs: chain(from: slot)) }
            return section
        })
        spills += 1
        heads = Array(repeating: [:], count: bands)
        previous = []
        docOfSlot = []
        while let level = runs.last?.level, runs.count >= Self.compactionFanIn,
              runs.suffix(Self.compactionFanIn).allSatisfy({ $0.level == level }) {
            let merged = try LSHRun(merging: Array(runs.suffix(Self.compactionFanIn)), maxChain: maxChain, directory: directory)
            runs.removeLast(Self.compactionFanIn)
            runs.append(merged)
        }
    }

    /// The newest documents of the chain that starts at `slot`, newest first.
    private func chain(from slot: Int32) -> [Int32] {
        var docs: [Int32] = []
        var cursor = slot
        while cursor >= 0 && docs.count < maxChain {
            docs.append(docOfSlot[Int(cursor)])
            cursor = previous[Int(cursor)]
        }
        return docs
    }
}

/// Disjoint sets over document numbers, with path halving and union by size.
public struct UnionFind {
    private var parent: [Int32]
    private var size: [Int32]

    public init(count: Int) {
        parent = (0..<count).map { Int32($0) }
        size = Array(repeating: 1, count: count)
    }

    public mutating func find(_ x: Int) -> Int {
        var x = Int32(x)
        while parent[Int(x)] != x {
            parent[Int(x)] = parent[Int(parent[Int(x)])]
            x = parent[Int(x)]
        }
        return Int(x)
    }

    public mutating func union(_ a: Int, _ b: Int) {
        var ra = find(a), rb = find(b)
        guard ra != rb else { return }
        if size[ra] < size[rb] { swap(&ra, &rb) }
        parent[rb] = Int32(ra)
        size[ra] += size[rb]
    }
}
