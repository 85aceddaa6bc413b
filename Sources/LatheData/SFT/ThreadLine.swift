import LatheIO

extension QAThread {
    /// A thread read straight from its JSON line, without building a `JSONValue`: the fast
    /// path of `lathe-format-sft` and `lathe-pair-prefs`. nil when the line is left to the
    /// parser (`init(_:at:)`), which then gives the verdict and any error message; a thread
    /// it returns equals the one the parser's path makes of the same line.
    public init?(line: UnsafeRawBufferPointer, at location: SourceLocation) {
        return nil
    }
}
