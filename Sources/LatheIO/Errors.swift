/// Where a record came from: the input's name (a path, or `-` for stdin) and its 1-based line.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// A record that cannot be processed: `file:line: what was wrong`. With `--on-error skip`
/// such records are counted and passed to `--rejects`; by default they stop the run.
public struct RecordError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// The reason under which a skipped record is counted (`invalid_json`, `invalid_record`, …).
    public var reason: String

    public init(_ location: SourceLocation, _ message: String, reason: String = "invalid_record") {
        self.location = location
        self.message = message
        self.reason = reason
    }

    public var description: String { "\(location): \(message)" }
}

/// A failure of the input or output itself (missing file, truncated gzip, full disk): it
/// always stops the run, whatever `--on-error` says, because no later record can be trusted.
public struct IOFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The reader downstream went away (`| head -1`); the tool stops quietly with status 0.
public struct BrokenPipe: Error, Sendable {
    public init() {}
}

/// The text of `errno`.
func systemError(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
