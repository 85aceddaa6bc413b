import LatheIO

/// Which record of a cluster survives (`--keep`).
public enum KeepPolicy: Sendable, Equatable, CustomStringConvertible {
    /// The earliest in input order; needs one streaming pass (two with `--verify`).
    case first
    /// The one with the longest key text (UTF-8 bytes), ties to the earliest.
    case longest
    /// The one with the highest number at this dotted path, ties to the earliest; a record
    /// without a number there ranks below every record with one.
    case field(String)

    public init?(_ text: String) {
        switch text {
        case "first": self = .first
        case "longest": self = .longest
        default:
            guard text.hasPrefix("field:"), text.count > 6 else { return nil }
            self = .field(String(text.dropFirst(6)))
        }
    }

    public var description: String {
        switch self {
        case .first: "first"
        case .longest: "longest"
        case .field(let name): "field:\(name)"
        }
    }
}

/// Near-duplicate detection (`--near`).
public struct NearSettings: Sendable, Equatable {
    public var lsh = LSHParameters.fineWeb
    /// Words per shingle.
    public var ngram = 5
    /// The Jaccard similarity at or above which `--verify` confirms a pair.
    public var threshold = 0.8
    public var verify = false
    /// Only the first this-many words of a document are shingled, bounding work per document.
    public var maxWords = 100_000
    /// LSH bucket chain and candidate caps (see `LSHIndex`).
    public var maxChain = 64
    public var maxCandidates = 32

    public init() {}
}

/// Line-level deduplication (`--lines K`).
public struct LineSettings: Sendable, Equatable {
    /// Lines found in at least this many documents are removed.
    public var minDocuments: Int
    /// A document left with fewer words than this after its lines were removed is dropped.
    public var minWords = 5

    public init(minDocuments: Int, minWords: Int = 5) {
        self.minDocuments = minDocuments
        self.minWords = minWords
    }
}

/// Everything `lathe-dedupe` can be asked to do in one run.
public struct DedupeSettings: Sendable {
    public var keys = KeyFields(["text"])
    public var normalization = Normalization.full
    public var exact = true
    public var near: NearSettings?
    public var lines: LineSettings?
    public var contamination: ContaminationIndex?
    /// Where to write which eval items leaked, one JSON line per item.
    public var contaminationReport: String?
    public var keep = KeepPolicy.first
    /// The field whose value `duplicate_of` reports; records without it are named `file:line`.
    public var idField = "id"
    public var seed: UInt64 = 0
    /// The inputs are signature files of `lathe-dedupe signatures`, whose records carry what
    /// analysis would compute (the `clusters` step).
    public var precomputed = false
    /// Bytes the tables may take; beyond it the LSH index spills runs to `temporaryDirectory`
    /// (nil: no limit).
    public var memoryBudget: Int?
    public var temporaryDirectory = "/tmp"

    public init() {}

    /// How many times the inputs are read: a counting pass for `--lines`, and for `--verify`
    /// or a `--keep` other than `first`, a signature pass before the pass that writes.
    public var passes: Int {
        var n = lines == nil ? 0 : 1
        let verify = near?.verify ?? false
        if keep == .first && !verify { return n + 1 }
        n += 1
        if verify { n += 1 }
        if keep != .first { n += 1 }
        return n
    }

    /// Why the inputs must be files (read more than once), or nil if stdin works.
    public var needsFilesBecause: String? {
        guard passes > 1 else { return nil }
        var why: [String] = []
        if lines != nil { why.append("--lines") }
        if near?.verify ?? false { why.append("--verify") }
        if keep != .first { why.append("--keep \(keep)") }
        return why.joined(separator: ", ")
    }
}
