import Foundation

/// Runs the built command-line tools as a user would, for end-to-end tests.
///
/// The tools are found in `LATHE_BIN` (the Makefile sets it) or beside the test bundle,
/// where `swift build --build-tests` puts them too.
enum Tool {
    static let binDirectory: String = {
        if let dir = ProcessInfo.processInfo.environment["LATHE_BIN"], !dir.isEmpty { return dir }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        // An .xctest bundle directory on some layouts: step out of it.
        while dir.hasSuffix(".xctest") || dir.hasSuffix("Contents") || dir.hasSuffix("MacOS") {
            dir = (dir as NSString).deletingLastPathComponent
        }
        return dir
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `name` with `arguments`, feeding `stdin`, and waits for it.
    static func run(_ name: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> Result {
        try launch(binDirectory + "/" + name, arguments, stdin: stdin, environment: environment)
    }

    /// Runs a shell pipeline with the tools' directory first on PATH.
    static func shell(_ script: String) throws -> Result {
        try launch("/bin/bash", ["-c", script], stdin: nil,
                   environment: ["PATH": binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
    }

    private static func launch(_ path: String, _ arguments: [String], stdin: Data?, environment: [String: String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        // stderr goes to a file, so reading stdout to its end can never deadlock on it.
        let errPath = NSTemporaryDirectory() + "lathe-stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let errHandle = FileHandle(forWritingAtPath: errPath)!
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errHandle
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        try errHandle.close()
        if let stdin {
            let writer = input.fileHandleForWriting
            DispatchQueue.global().async {
                writer.write(stdin)
                try? writer.close()
            }
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

}
