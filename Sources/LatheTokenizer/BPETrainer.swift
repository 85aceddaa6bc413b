import LatheIO

/// Learns byte-level BPE merges from text, GPT-2 style.
///
/// Text is cut into words with GPT-2's pre-tokeniser (special tokens first taken out, so they
/// never take part in a merge), and words are counted. Training then repeats: merge the most
/// frequent adjacent pair of tokens into a new token, until the vocabulary has `vocabSize`
/// entries or no pair occurs `minFrequency` times. Pair counts are updated only in the words
/// that contain the merged pair, found through an index of where each pair occurs.
///
/// The vocabulary is laid out as: the special tokens from id 0, then the 256 single bytes in
/// byte order, then one token per merge in the order learned. Ties between pairs of equal
/// count go to the pair with the smaller (left id, right id), so the same text always gives
/// the same merges.
public struct BPETrainer: Sendable {
    public static let defaultSpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

    public let vocabSize: Int
    public let specialTokens: [String]
    public let minFrequency: Int

    /// Unique words: their bytes, concatenated, and how often each occurred.
    private var wordBytes: [UInt8] = []
    private var wordStarts: [Int] = [0]
    private var counts: [Int] = []
    private var index = ByteStringTable(capacity: 1 << 12)
    private let splitter: Tokenizer

    public init(vocabSize: Int, specialTokens: [String] = defaultSpecialTokens, minFrequency: Int = 2) throws(TokenizerError) {
        guard vocabSize >= specialTokens.count + 256 else {
            throw TokenizerError("vocab size \(vocabSize) is too small: it must hold the \(specialTokens.count) special tokens and 256 bytes")
        }
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains("") else {
            throw TokenizerError("special tokens must be distinct and non-empty: \(specialTokens)")
        }
        if let clash = specialTokens.first(where: { ByteLevel.decode($0)?.count == 1 }) {
            throw TokenizerError("special token '\(clash)' is spelled like a single byte's token; use a longer name")
        }
        self.vocabSize = vocabSize
        self.specialTokens = specialTokens
        self.minFrequency = max(1, minFrequency)
        // A tokenizer with no merges does the splitting, so training cuts text exactly as
        // the trained tokenizer will.
        splitter = try Self.makeTokenizer(specialTokens: specialTokens, tokens: [], merges: [])
    }

    /// Number of distinct words counted so far.
    public var distinctWords: Int { counts.count }

    /// Counts the words of one text.
    public mutating func add(_ text: String) {
        splitter.withState { state in splitter.preTokenize(text, state) { p, n in
            if let w = index.single(p, n) {
                counts[Int(w)] += 1
            } else {
                index.insert(p, n, CollectionOfOne(Int32(counts.count)))
                wordBytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
                wordStarts.append(wordBytes.count)
                counts.append(1)
            }
        } }
    }

    public mutating func add<Texts: Sequence<String>>(contentsOf texts: Texts) {
        for text in texts { add(text) }
    }

    /// Adds the counts of a trainer that saw other text, so shards can be counted in parallel.
    public mutating func merge(_ other: BPETrainer) {
        other.wordBytes.withUnsafeBufferPointer { bytes in
            for w in 0..<other.counts.count {
                let p = bytes.baseAddress! + other.wordStarts[w]
                let n = other.wordStarts[w + 1] - other.wordStarts[w]
                if let mine = index.single(p, n) {
                    counts[Int(mine)] += other.counts[w]
                } else {
                    index.insert(p, n, CollectionOfOne(Int32(counts.count)))
                    wordBytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
                    wordStarts.append(wordBytes.count)
                    counts.append(other.counts[w])
                }
            }
        }
    }

    /// Learns the merges and returns the tokenizer.
    public func train() throws(TokenizerError) -> Tokenizer {
        let firstByteId = Int32(specialTokens.count)
        var tokenBytes: [[UInt8]] = specialTokens.map { Array($0.utf8) } + (0..<256).map { [UInt8($0)] }
        var idOfSpelling: [String: Int32] = [:]
        for (k, s) in specialTokens.enumerated() { idOfSpelling[s] = Int32(k) }

        var words: [[Int32]] = (0..<counts.count).map { w in
            wordBytes[wordStarts[w]..<wordStarts[w + 1]].map { firstByteId + Int32($0) }
        }
        var pairCounts: [UInt64: Int] = [:]
        var occurrences: [UInt64: [Int32]] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let key = PairTable.key(word[i], word[i + 1])
                pairCounts[key, default: 0] += counts[w]
                occurrences[key, default: []].append(Int32(w))
            }
        }
        var heap = PairHeap()
        for (key, count) in pairCounts { heap.push(count, key) }

        var merges: [(String, String)] = []
        var nextId = Int32(tokenBytes.count)
        var lastVisit = [Int](repeating: -1, count: words.count)
        var gained: [UInt64] = []
        while Int(nextId) < vocabSize, let (count, key) = heap.pop() {
            let current = pairCounts[key] ?? 0
            if current != count {
                if current > 0 { heap.push(current, key) }
                continue
            }
            if count < minFrequency { break }
            let left = Int32(truncatingIfNeeded: key >> 32), right = Int32(truncatingIfNeeded: key)
            let bytes = tokenBytes[Int(left)] + tokenBytes[Int(right)]
            let spelling = ByteLevel.encode(bytes)
            merges.append((ByteLevel.encode(tokenBytes[Int(left)]), ByteLevel.encode(tokenBytes[Int(right)])))
            // A special token spelled like a learned token (a plain word such as "pad") keeps
            // one id, so the vocabulary never holds a spelling twice.
            let newId: Int32
            if let existing = idOfSpelling[spelling] {
                newId = existing
            } else {
                newId = nextId
                nextId += 1
                tokenBytes.append(bytes)
                idOfSpelling[spelling] = newId
            }

            gained.removeAll(keepingCapacity: true)
            for w32 in occurrences.removeValue(forKey: key) ?? [] {
                let w = Int(w32)
                guard lastVisit[w] != merges.count else { continue }
                lastVisit[w] = merges.count
                // Taken out of the array so it is edited in place, with no copy per merge.
                var word = words[w]
                words[w] = []
                defer { words[w] = word }
                var found = false
                for i in 0..<max(0, word.count - 1) where word[i] == left && word[i + 1] == right {
                    found = true
                    break
                }
                guard found else { continue }
                let c = counts[w]
                for i in 0..<(word.count - 1) {
                    let k = PairTable.key(word[i], word[i + 1])
                    let n = pairCounts[k]! - c
                    pairCounts[k] = n > 0 ? n : nil
                }
                var i = 0, kept = 0
                while i < word.count {
                    if i + 1 < word.count && word[i] == left && word[i + 1] == right {
                        word[kept] = newId
                        i += 2
                    } else {
                        word[kept] = word[i]
                        i += 1
                    }
                    kept += 1
                }
                word.removeLast(word.count - kept)
                if word.count > 1 {
                    for i in 0..<(word.count - 1) {
                        let k = PairTable.key(word[i], word[i + 1])
                        pairCounts[k, default: 0] += c
                        if word[i] == newId || word[i + 1] == newId {
                            occurrences[k, default: []].append(w32)
                            gained.append(k)
                        }
                    }
                }
            }
            pairCounts[key] = nil
            // Only pairs with the new token grew; every other count only fell, and a popped
            // stale count is re-queued at its current value above.
            for k in Set(gained) { if let n = pairCounts[k] { heap.push(n, k) } }
        }
        return try Self.makeTokenizer(specialTokens: specialTokens, tokens: Array(tokenBytes.dropFirst(specialTokens.count)),
                                      merges: merges)
    }

    /// A GPT-2 style tokenizer: specials from id 0, then `tokens` (bytes, learned) in order.
    /// Built directly rather than through a JSON document: a `JSONObject` of a large
    /// vocabulary is slow to assemble.
    static func makeTokenizer(specialTokens: [String], tokens: [[UInt8]], merges: [(String, String)]) throws(TokenizerError) -> Tokenizer {
        var vocab: [String: Int32] = [:]
        var added: [AddedToken] = []
        for (k, s) in specialTokens.enumerated() {
            vocab[s] = Int32(k)
            added.append(AddedToken(id: Int32(k), content: s))
        }
        let byteTokens = tokens.isEmpty ? (0..<256).map { [UInt8($0)] } : tokens
        for (k, bytes) in byteTokens.enumerated() { vocab[ByteLevel.encode(bytes)] = Int32(specialTokens.count + k) }
        let model = try BPEModel(vocab: vocab, merges: merges, unkToken: nil, fuseUnk: false, ignoreMerges: false)
        let options: [(String, JSONValue)] = [
            ("type", "BPE"), ("dropout", nil), ("unk_token", nil), ("continuing_subword_prefix", nil),
            ("end_of_word_suffix", nil), ("fuse_unk", false), ("byte_fallback", false), ("ignore_merges", false),
        ]
        let sections = Tokenizer.Sections(
            preTokenizer: ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            postProcessor: ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
            decoder: ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            modelOptions: JSONObject(options))
        return try Tokenizer(model: model, addedTokens: added, steps: [.byteLevel(addPrefixSpace: false, useRegex: true)],
                             templatePrefix: [], templateSuffix: [], sections: sections)
    }
}

/// A max-heap of (count, pair): the highest count first, then the smaller pair key.
struct PairHeap {
    private var items: [(count: Int, key: UInt64)] = []

    @inline(__always)
    private static func before(_ a: (count: Int, key: UInt64), _ b: (count: Int, key: UInt64)) -> Bool {
        a.count != b.count ? a.count > b.count : a.key < b.key
    }

    mutating func push(_ count: Int, _ key: UInt64) {
        items.append((count, key))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Int, UInt64)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let l = 2 * parent + 1
                guard l < items.count else { break }
                var best = l
                if l + 1 < items.count && Self.before(items[l + 1], items[l]) { best = l + 1 }
                guard Self.before(items[best], items[parent]) else { break }
                items.swapAt(best, parent)
                parent = best
            }
        }
        return (first.count, first.key)
    }
}
