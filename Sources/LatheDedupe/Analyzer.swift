import LatheIO

/// Why a record is left out of deduplication and dropped on its own account.
public enum Exclusion: Sendable {
    /// It shares an n-gram with these eval items.
    case contaminated([Int32])
    /// `--lines` removed so much that fewer than the minimum words are left.
    case tooShort(words: Int)
}

/// What one record turns into on a worker thread: everything `decide` needs, no text.
public struct Analysis: Sendable {
    public var failure: RecordError?
    /// The record with repeated lines removed, when `--lines` changed it.
    public var rewritten: JSONValue?
    public var id = ""
    public var exclusion: Exclusion?
    /// nil when the key text normalises to nothing: empty texts are never duplicates.
    public var exact: Hash128?
    public var bands: [UInt64]?
    public var shingleSet: [UInt32]?
    /// The length or field value `--keep` ranks by.
    public var rank = 0.0
    /// For the counting pass of `--lines`: the distinct normalised lines.
    public var lineHashes: [UInt64]?
    public var linesRemoved = 0
}

/// What a pass needs computed for each record.
struct Wants: OptionSet, Sendable {
    let rawValue: Int
    static let lineHashes = Wants(rawValue: 1)
    static let exact = Wants(rawValue: 2)
    static let bands = Wants(rawValue: 4)
    static let shingleSet = Wants(rawValue: 8)
    static let rank = Wants(rawValue: 16)
    static let id = Wants(rawValue: 32)
}

/// The per-record work of every pass, pure so it runs on all cores.
struct Analyzer: Sendable {
    let settings: DedupeSettings
    let hasher: MinHasher?
    /// Normalised-line hash → number of documents holding it, from the counting pass.
    var lineCounts: [UInt64: UInt32] = [:]
    /// For the verify pass: the records (by `locationKey`) in some candidate pair; the others
    /// need no shingle set.
    var involved: Set<UInt64>?
    var inputIndex: [String: Int] = [:]

    /// A record's place as one number: input index and line.
    static func locationKey(_ input: Int, _ line: Int) -> UInt64 { UInt64(input) << 40 | UInt64(line) }

    /// For `analyze(line:)`: the key paths, then the id field, then the `--keep field:` path;
    /// nil parses every line (tests set it to compare the two paths).
    var linePaths: JSONPaths?
    /// Whether an exact key that is one ASCII string is hashed as the line is scanned
    /// (`TextNormalizer.exactKey`): nothing else needs its normalised text.
    let hashesWhileScanning: Bool

    init(settings: DedupeSettings) {
        self.settings = settings
        hasher = settings.near.map { MinHasher(numPerm: $0.lsh.numPerm, seed: settings.seed) }
        var paths = settings.keys.paths + [settings.idField]
        if case .field(let name) = settings.keep { paths.append(name) }
        // Signature records and line rewriting need the parsed record.
        linePaths = settings.precomputed || settings.lines != nil ? nil : JSONPaths(paths)
        hashesWhileScanning = settings.exact && settings.near == nil && settings.contamination == nil
            && settings.keys.paths.count == 1 && settings.normalization != .none && settings.keep != .longest
    }

    /// The analysis `analyze(_:_:_:)` makes of the parsed line, made from its bytes: the key
    /// fields are found and rendered where they lie, and ASCII text is normalised without a
    /// String. nil leaves the line to the parser: it is not certainly valid JSON as the parser
    /// reads it (see `JSONScanner`), a key is missing, or the settings need the parsed record.
    func analyze(line: UnsafeRawBufferPointer, maxDepth: Int, _ location: SourceLocation, _ wants: Wants) -> Analysis? {
        guard let paths = linePaths, !wants.contains(.lineHashes),
              let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let scan = JSONScanner(base: base, end: line.count, maxDepth: maxDepth)
        var exactKey: Hash128??
        let hashing = hashesWhileScanning && wants.contains(.exact) && wants.isDisjoint(with: [.bands, .shingleSet])
        guard let found = scan.find(paths, claimed: hashing ? 0 : nil, { pos in
            switch TextNormalizer.exactKey(jsonString: base + pos, available: line.count - pos, settings.normalization) {
            case .hashed(let key, let length, let escapes):
                exactKey = key
                pos += length
                return escapes ? .escapes : []
            case .unicode: return scan.scanString(&pos)
            case .invalid: return nil
            }
        }) else { return nil }
        let keyCount = settings.keys.paths.count
        // Fields other than the key are rare to need (an id that is not a plain string, a
        // `--keep field:` number): those few values go through the parser.
        func field(_ path: String) -> JSONValue? {
            let index = path == settings.idField ? keyCount : keyCount + 1
            guard let value = found[index] else { return nil }
            if index == keyCount, value.contents.isEmpty, base[value.start] == UInt8(ascii: "\"") {
                return .string(String(decoding: UnsafeBufferPointer(start: base + value.start + 1, count: value.end - value.start - 2), as: UTF8.self))
            }
            return try? JSONParser.parse(UnsafeRawBufferPointer(start: base + value.start, count: value.end - value.start), maxDepth: maxDepth)
        }
        var result = Analysis()
        if let exactKey {
            identify(&result, wants, location, field: field)
            result.exact = exactKey
            return result
        }
        let skipping = skipsShingles(wants, result, location)
        var normalized: [UInt8] = []
        var keyBytes = 0
        if !skipping, !(wants.contains(.rank) && settings.keep == .longest), keyCount == 1, let key = found[0],
           key.contents == .escapes, base[key.start] == UInt8(ascii: "\""),
           TextNormalizer.normalize(jsonString: base + key.start, available: key.end - key.start, settings.normalization,
                                    into: &normalized) {
            // An ASCII string key with escapes (most texts: paragraphs are `\n`) is normalised
            // from its JSON text, not decoded first; only `--keep longest` needs its length.
        } else {
            guard let length = settings.keys.withText(scan, found[..<keyCount], { text, ascii in
                if !skipping { TextNormalizer.normalize(utf8: text, settings.normalization, ascii: ascii, into: &normalized) }
                return text.count
            }) else { return nil }
            keyBytes = length
        }
        if skipping { return result }
        complete(&result, normalized: normalized, keyBytes: keyBytes, wants, location, field: field)
        return result
    }

    func analyze(_ record: JSONValue, _ location: SourceLocation, _ wants: Wants) -> Analysis {
        var result = Analysis()
        do {
            try fill(&result, record, location, wants)
        } catch {
            result.failure = error
        }
        return result
    }

    private func fill(_ result: inout Analysis, _ record: JSONValue, _ location: SourceLocation, _ wants: Wants) throws(RecordError) {
        if settings.precomputed {
            try Signature.read(record, location, wants, into: &result)
            return
        }
        var record = record
        let keys = settings.keys
        if wants.contains(.lineHashes) {
            result.lineHashes = try lineHashes(of: record, location)
            return
        }
        if let lines = settings.lines {
            let (rewritten, removed) = try removingRepeatedLines(record, location, lines)
            if removed > 0 {
                record = rewritten
                result.rewritten = rewritten
                result.linesRemoved = removed
            }
        }
        let text = try keys.text(of: record, at: location)
        if skipsShingles(wants, result, location) { return }
        let normalized = TextNormalizer.normalize(text, settings.normalization)
        complete(&result, normalized: normalized, keyBytes: text.utf8.count, wants, location) { record.value(at: $0) }
    }

    /// Whether the shingle pass can skip the record: it is in no candidate pair, and nothing
    /// else (contamination, removed lines) needs its text.
    private func skipsShingles(_ wants: Wants, _ result: Analysis, _ location: SourceLocation) -> Bool {
        guard wants == [.shingleSet], let involved, settings.contamination == nil, result.linesRemoved == 0 else { return false }
        return !involved.contains(Self.locationKey(inputIndex[location.file] ?? 0, location.line))
    }

    /// The rest of the analysis from the normalised key text (`keyBytes` long before
    /// normalising); `field` is the record's value at a dotted path (the id, `--keep field:`).
    private func complete(_ result: inout Analysis, normalized: [UInt8], keyBytes: Int, _ wants: Wants,
                          _ location: SourceLocation, field: (String) -> JSONValue?) {
        if result.linesRemoved > 0, let lines = settings.lines {
            let words = TextNormalizer.wordHashes(normalized, limit: lines.minWords).count
            if words < lines.minWords {
                result.exclusion = .tooShort(words: words)
                return
            }
        }
        var words: [UInt64]?
        if let index = settings.contamination {
            let all = TextNormalizer.wordHashes(normalized)
            let found = index.matches(words: all)
            if !found.isEmpty {
                result.exclusion = .contaminated(found)
                return
            }
            words = all
        }
        identify(&result, wants, location, field: field)
        if wants.contains(.rank) && settings.keep == .longest { result.rank = Double(keyBytes) }
        guard !normalized.isEmpty else { return }
        if wants.contains(.exact) && settings.exact { result.exact = Hash128(stripeHashOf: normalized) }
        if let near = settings.near, !wants.isDisjoint(with: [.bands, .shingleSet]) {
            var w = words ?? TextNormalizer.wordHashes(normalized, limit: near.maxWords)
            if w.count > near.maxWords { w.removeLast(w.count - near.maxWords) }
            let shingles = Shingles.hashes(words: w, n: near.ngram)
            if wants.contains(.bands), let hasher {
                result.bands = near.lsh.bandHashes(hasher.signature(shingles))
            }
            if wants.contains(.shingleSet) { result.shingleSet = Shingles.set(shingles) }
        }
    }

    /// The id, and the rank of `--keep field:`; `field` is the record's value at a dotted path.
    private func identify(_ result: inout Analysis, _ wants: Wants, _ location: SourceLocation, field: (String) -> JSONValue?) {
        if wants.contains(.id) {
            result.id = field(settings.idField).map(idText) ?? location.description
        }
        if wants.contains(.rank), case .field(let name) = settings.keep {
            result.rank = field(name)?.double.flatMap { $0.isNaN ? nil : $0 } ?? -.infinity
        }
    }

    /// The text `--lines` works on: the first key, which must be a string.
    private func lineText(_ record: JSONValue, _ location: SourceLocation) throws(RecordError) -> String {
        let path = settings.keys.paths[0]
        guard let value = record.value(at: path), !value.isNull else {
            throw RecordError(location, "missing key field '\(path)': --lines needs a string field (--key)", reason: "missing_field")
        }
        guard let text = value.string else {
            throw RecordError(location, "--lines works on a string field, but '\(path)' is \(value.typeName)", reason: "invalid_record")
        }
        return text
    }

    private func lineHash(_ line: Substring) -> UInt64? {
        let normalized = TextNormalizer.normalize(String(line), settings.normalization == .none ? .ws : settings.normalization)
        return normalized.isEmpty ? nil : Hash64.hash(normalized)
    }

    private func lineHashes(of record: JSONValue, _ location: SourceLocation) throws(RecordError) -> [UInt64] {
        var hashes = Set<UInt64>()
        for line in try lineText(record, location).split(separator: "\n", omittingEmptySubsequences: true) {
            if let h = lineHash(line) { hashes.insert(h) }
        }
        return Array(hashes)
    }

    private func removingRepeatedLines(_ record: JSONValue, _ location: SourceLocation, _ lines: LineSettings) throws(RecordError) -> (JSONValue, Int) {
        let text = try lineText(record, location)
        var kept: [Substring] = []
        var removed = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let h = lineHash(line), let n = lineCounts[h], n >= lines.minDocuments {
                removed += 1
            } else {
                kept.append(line)
            }
        }
        guard removed > 0 else { return (record, 0) }
        let path = settings.keys.paths[0]
        return (record.replacing(at: path[...], with: .string(kept.joined(separator: "\n"))), removed)
    }
}
