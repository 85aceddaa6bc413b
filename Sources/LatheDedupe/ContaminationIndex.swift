import LatheIO

/// The word n-grams of one or more eval sets (`--against`), to drop training records that
/// share any of them, as the GPT-3 and Llama papers decontaminate with 13-grams.
///
/// An eval text shorter than `n` words cannot be checked this way. With `minNgram` below `n`, a
/// text of `minNgram` to `n − 1` words (a short question) is indexed whole, and training text
/// is scanned for it as a run of that many words; shorter texts (a 3-word answer would match
/// half the web) are counted in `tooShort` and reported, not indexed.
public struct ContaminationIndex: Sendable {
    public struct Item: Sendable, Equatable {
        public var file: String
        public var line: Int
        public var id: String
    }

    public let ngram: Int
    /// The fewest words of an eval text indexed whole (`--min-ngram`); `ngram` turns it off.
    public let minNgram: Int
    public let normalization: Normalization
    /// The lengths, below `ngram`, at which short eval texts were indexed whole.
    private var shortLengths: [Int] = []
    public private(set) var items: [Item] = []
    /// n-gram hash → the first eval item that has it.
    private var table: [UInt64: Int32] = [:]
    public private(set) var tooShort = 0

    public var ngramCount: Int { table.count }

    public init(ngram: Int, minNgram: Int? = nil, normalization: Normalization) {
        self.ngram = ngram
        self.minNgram = min(minNgram ?? ngram, ngram)
        self.normalization = normalization
    }

    /// Reads eval sets (JSON Lines, plain or gzip). With `fields` empty every string in a record
    /// is indexed (each on its own, so no n-gram spans two fields); otherwise only those paths.
    public static func load(paths: [String], fields: [String], idField: String, ngram: Int, minNgram: Int? = nil,
                            normalization: Normalization) throws -> ContaminationIndex {
        var index = ContaminationIndex(ngram: ngram, minNgram: minNgram, normalization: normalization)
        for path in paths {
            let batcher = LineBatcher(source: try ByteSource(path: path))
            while let batch = try batcher.next() {
                for i in 0..<batch.count {
                    let location = batch.location(i)
                    let record: JSONValue
                    do {
                        record = try batch.parseLine(i)
                    } catch {
                        throw IOFailure("\(error.description) (--against must name JSON Lines eval sets, one record per line)")
                    }
                    var texts: [String] = []
                    if fields.isEmpty {
                        collectStrings(record, skippingKey: idField, into: &texts)
                    } else {
                        for field in fields {
                            if let value = record.value(at: field), !value.isNull { texts.append(KeyFields.render(value)) }
                        }
                    }
                    let id = record.value(at: idField).map(idText) ?? location.description
                    index.add(texts, item: Item(file: path, line: location.line, id: id))
                }
            }
        }
        return index
    }

    /// Adds one eval item given as its texts.
    public mutating func add(_ texts: [String], item: Item) {
        let number = Int32(items.count)
        items.append(item)
        var indexed = false
        for text in texts {
            let words = TextNormalizer.wordHashes(TextNormalizer.normalize(text, normalization))
            guard words.count >= minNgram else { continue }
            indexed = true
            // A short text is one "shingle" of all its words (Shingles.hashes does that).
            for h in Shingles.hashes(words: words, n: ngram) where table[h] == nil { table[h] = number }
            if words.count < ngram && !shortLengths.contains(words.count) {
                shortLengths.append(words.count)
                shortLengths.sort()
            }
        }
        if !indexed { tooShort += 1 }
    }

    /// The eval items that share an n-gram with text whose word hashes are `words`, each once,
    /// in the order first met.
    public func matches(words: [UInt64]) -> [Int32] {
        guard !table.isEmpty else { return [] }
        var found: [Int32] = []
        for length in shortLengths + [ngram] where words.count >= length {
            for h in Shingles.hashes(words: words, n: length) {
                if let item = table[h], !found.contains(item) { found.append(item) }
            }
        }
        return found
    }

    private static func collectStrings(_ value: JSONValue, skippingKey: String, into texts: inout [String]) {
        switch value {
        case .string(let s): texts.append(s)
        case .array(let elements): for e in elements { collectStrings(e, skippingKey: skippingKey, into: &texts) }
        case .object(let object):
            for (key, child) in object where key != skippingKey { collectStrings(child, skippingKey: skippingKey, into: &texts) }
        default: break
        }
    }
}

/// An id as text: a string as it is, anything else as its JSON.
func idText(_ value: JSONValue) -> String {
    value.string ?? JSONWriter.string(value)
}
