/// The BPE model of a byte-level tokenizer: a vocabulary whose tokens are byte-level
/// spellings, and ranked merges. It works on raw bytes: byte-level spelling is a bijection,
/// so the model's initial symbols are just the ids of the 256 one-byte tokens.
struct BPEModel: Sendable {
    /// Token spelling to id, as `model.vocab` has it.
    let vocab: [String: Int32]
    /// Merges in rank order, as spellings, kept for writing the file back.
    let merges: [(String, String)]
    let pairs: PairTable
    /// The id of each byte's one-scalar token, or -1 where the vocabulary lacks it.
    let byteIds: [Int32]
    let unkId: Int32?
    let fuseUnk: Bool
    /// Llama 3's option: a pre-token that is itself in the vocabulary is one token, whatever
    /// the merges would make of it.
    let ignoreMerges: Bool
    let unkToken: String?
    /// Byte strings of the whole vocabulary, for `ignoreMerges`.
    let wholeWords: ByteStringTable

    init(vocab: [String: Int32], merges: [(String, String)], unkToken: String?, fuseUnk: Bool, ignoreMerges: Bool) throws(TokenizerError) {
        self.vocab = vocab
        self.merges = merges
        self.unkToken = unkToken
        self.fuseUnk = fuseUnk
        self.ignoreMerges = ignoreMerges
        var table = PairTable(capacity: merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let left = vocab[a] else { throw TokenizerError("merge \(rank) '\(a) \(b)': '\(a)' is not in the vocabulary") }
            guard let right = vocab[b] else { throw TokenizerError("merge \(rank) '\(a) \(b)': '\(b)' is not in the vocabulary") }
            guard let merged = vocab[a + b] else {
                throw TokenizerError("merge \(rank) '\(a) \(b)': the merged token '\(a + b)' is not in the vocabulary")
            }
            table.set(left, right, rank: Int32(rank), newId: merged)
        }
        pairs = table
        byteIds = (0..<256).map { vocab[ByteLevel.encode([UInt8($0)])] ?? -1 }
        if let unkToken {
            guard let id = vocab[unkToken] else { throw TokenizerError("unk_token '\(unkToken)' is not in the vocabulary") }
            unkId = id
        } else {
            unkId = nil
        }
        var words = ByteStringTable(capacity: ignoreMerges ? vocab.count : 0)
        if ignoreMerges {
            for (token, id) in vocab {
                guard let bytes = ByteLevel.decode(token), !bytes.isEmpty else { continue }
                bytes.withUnsafeBufferPointer { words.insert($0.baseAddress!, $0.count, CollectionOfOne(id)) }
            }
        }
        wholeWords = words
    }

    /// Appends the ids of one pre-token, `n` bytes at `p`.
    @inline(__always)
    func tokenize(_ p: UnsafePointer<UInt8>, _ n: Int, _ state: EncoderState, _ out: inout [Int32]) {
        if n == 1, byteIds[Int(p[0])] >= 0 {
            out.append(byteIds[Int(p[0])])
            return
        }
        if ignoreMerges, let id = wholeWords.single(p, n) {
            out.append(id)
            return
        }
        if state.cache.appendValue(p, n, to: &out) { return }
        let start = out.count
        merge(p, n, state, &out)
        // `tokenizers` caches words shorter than 256 bytes too; longer ones are rare and big.
        if n < 256 {
            if state.cache.keyByteCount > EncoderState.cacheBudget { state.cache.removeAll() }
            state.cache.insert(p, n, out[start...])
        }
    }

    /// Byte-pair merging as `tokenizers`' `Word::merge_all` does it: a min-heap of candidate
    /// merges by (rank, position) over a linked list of symbols, with stale entries skipped
    /// when the pair at their position no longer merges into the same id.
    private func merge(_ p: UnsafePointer<UInt8>, _ n: Int, _ state: EncoderState, _ out: inout [Int32]) {
        // Taken out of the state so that mutating them does not copy.
        var ids: [Int32] = [], prev: [Int32] = [], next: [Int32] = [], heap = MergeHeap()
        swap(&ids, &state.symbols)
        swap(&prev, &state.prev)
        swap(&next, &state.next)
        swap(&heap, &state.heap)
        defer {
            swap(&ids, &state.symbols)
            swap(&prev, &state.prev)
            swap(&next, &state.next)
            swap(&heap, &state.heap)
        }
        ids.removeAll(keepingCapacity: true)
        var pendingUnk: Int32? = nil
        for k in 0..<n {
            let id = byteIds[Int(p[k])]
            if id >= 0 {
                if let u = pendingUnk { ids.append(u); pendingUnk = nil }
                ids.append(id)
            } else if let unkId {
                if pendingUnk != nil && !fuseUnk { ids.append(unkId) }
                pendingUnk = unkId
            }
            // With no unk token a byte missing from the vocabulary is dropped, as upstream.
        }
        if let u = pendingUnk { ids.append(u) }
        let count = ids.count
        guard count > 1 else {
            out.append(contentsOf: ids)
            return
        }
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        for k in 0..<count {
            prev.append(Int32(k - 1))
            next.append(k + 1 < count ? Int32(k + 1) : -1)
        }
        heap.removeAll()
        for k in 0..<(count - 1) {
            if let m = pairs.get(ids[k], ids[k + 1]) { heap.push(MergeCandidate(rank: m.rank, pos: Int32(k), newId: m.newId)) }
        }
        // A merged-away symbol is marked with id -1.
        while let top = heap.pop() {
            let pos = Int(top.pos)
            guard ids[pos] >= 0, next[pos] >= 0 else { continue }
            let right = Int(next[pos])
            guard let current = pairs.get(ids[pos], ids[right]), current.newId == top.newId else { continue }
            ids[pos] = top.newId
            ids[right] = -1
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            if prev[pos] >= 0, let m = pairs.get(ids[Int(prev[pos])], top.newId) {
                heap.push(MergeCandidate(rank: m.rank, pos: prev[pos], newId: m.newId))
            }
            if after >= 0, let m = pairs.get(top.newId, ids[Int(after)]) {
                heap.push(MergeCandidate(rank: m.rank, pos: Int32(pos), newId: m.newId))
            }
        }
        var k = 0
        while k >= 0 {
            out.append(ids[k])
            k = Int(next[k])
        }
    }
}

struct MergeCandidate {
    var rank: Int32
    var pos: Int32
    var newId: Int32

    @inline(__always)
    func precedes(_ other: MergeCandidate) -> Bool {
        rank != other.rank ? rank < other.rank : pos < other.pos
    }
}

/// A binary min-heap of merge candidates, reused across words.
struct MergeHeap {
    private var items: [MergeCandidate] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ item: MergeCandidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < items.count else { break }
                var best = left
                if left + 1 < items.count && items[left + 1].precedes(items[left]) { best = left + 1 }
                guard items[best].precedes(items[parent]) else { break }
                items.swapAt(best, parent)
                parent = best
            }
        }
        return first
    }
}

/// Scratch space and word cache for one encoding at a time. `Tokenizer` keeps a pool of them
/// so concurrent callers never share one and a call takes the lock once, not once per word.
final class EncoderState: @unchecked Sendable {
    /// Bytes of cached words before the cache is emptied (the cached ids take about as much
    /// again): bounded so a long run over many languages keeps a steady footprint.
    static let cacheBudget = 8 << 20

    var cache = ByteStringTable(capacity: 1 << 14)
    var buffer: [UInt8] = []
    var pieces: [Range<Int>] = []
    var scratchPieces: [Range<Int>] = []
    var marks: [(Range<Int>, Bool)] = []
    var parts: [(id: Int32, range: Range<Int>)] = []
    var normalizedParts: [(id: Int32, range: Range<Int>)] = []
    var symbols: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = MergeHeap()
}
