import LatheIO

/// A deterministic assignment of records to named splits (`train=0.98,test=0.02`) by a hash of
/// their prompt, so the same prompt always lands in the same split, whatever else the record
/// holds, in whichever file or order it comes; `seed` draws a different assignment.
public struct SplitSpec: Sendable, Equatable {
    public let names: [String]
    /// Each split's upper bound in [0, 1]: split k takes hashes in [bounds[k-1], bounds[k]).
    let bounds: [Double]

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `name=fraction,...`; fractions must be positive and add up to 1.
    public init(parsing text: String) throws(ParseError) {
        var names: [String] = []
        var fractions: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pieces.count == 2, let fraction = Double(pieces[1]), fraction > 0, fraction <= 1 else {
                throw ParseError(description: "--split takes name=fraction pairs separated by commas (train=0.98,test=0.02), not '\(part)'")
            }
            let name = String(pieces[0])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ParseError(description: "--split: '\(name)' is not a usable split name (letters, digits, '_' and '-')")
            }
            guard !names.contains(name) else { throw ParseError(description: "--split names '\(name)' twice") }
            names.append(name)
            fractions.append(fraction)
        }
        let total = fractions.reduce(0, +)
        guard abs(total - 1) < 1e-6 else {
            throw ParseError(description: "--split fractions add up to \(total), not 1")
        }
        var running = 0.0
        bounds = fractions.map { running += $0 / total; return running }
        self.names = names
    }

    /// The index of the split that `key` (a prompt) belongs to.
    public func assign(_ key: String, seed: UInt64) -> Int {
        let unit = Double(StableID.hash64(key, seed: seed) >> 11) / Double(1 << 53)
        return bounds.firstIndex { unit < $0 } ?? bounds.count - 1
    }
}
