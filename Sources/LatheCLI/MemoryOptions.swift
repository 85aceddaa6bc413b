import ArgumentParser
import Foundation
import LatheIO

/// A size in bytes written the way people write it: `512M`, `2G`, `1.5g`, `64k`, `1000`
/// (binary multiples: K = 1024).
public struct ByteCount: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        var digits = Substring(text)
        if digits.hasSuffix("IB") { digits = digits.dropLast(2) } else if digits.hasSuffix("B") { digits = digits.dropLast() }
        var scale = 1.0
        if let unit = digits.last, let power = "KMGT".firstIndex(of: unit) {
            scale = pow(1024, Double("KMGT".distance(from: "KMGT".startIndex, to: power) + 1))
            digits = digits.dropLast()
        }
        guard let value = Double(digits), value.isFinite, value >= 0, value * scale < 9e18 else { return nil }
        bytes = Int(value * scale)
    }

    public var description: String { formatMemory(bytes) }

    /// Half of this machine's physical memory: the default budget of tools that can spill.
    public static var defaultBudget: ByteCount { ByteCount(bytes: Int(ProcessInfo.processInfo.physicalMemory / 2)) }
}

/// The memory budget of a stage that holds state proportional to its input (grouping,
/// deduplication) and spills sorted runs to disk beyond it.
public struct MemoryOptions: ParsableArguments {
    @Option(help: "Memory budget for the stage's tables (e.g. 512M, 8G; default: half of physical memory); beyond it they spill to --temp-dir instead of failing.")
    public var memory: ByteCount = .defaultBudget

    @Option(help: "Directory for spilled runs (default: $TMPDIR or /tmp); removed when the run ends.")
    public var tempDir: String?

    public init() {}

    /// The directory spills go to.
    public var temporaryDirectory: String {
        tempDir ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    }
}
