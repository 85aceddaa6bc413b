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

    /// Starts `name` with `arguments`, waits (at most a minute) until `ready` holds, sends SIGINT as a
    /// user's Ctrl-C would, and returns the exit status (SIGKILL after another minute).
    static func interrupt(_ name: String, _ arguments: [String], when ready: () -> Bool) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDirectory + "/" + name)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var waited = 0
        while !ready() && process.isRunning && waited < 600 {
            usleep(100_000)
            waited += 1
        }
        process.interrupt()
        waited = 0
        while process.isRunning && waited < 600 {
            usleep(100_000)
            waited += 1
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGPIPE would kill the whole test process when a tool closes its stdin early.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

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
            _ = ignoreBrokenPipes
            let writer = input.fileHandleForWriting
            DispatchQueue.global().async {
                // A tool may exit without reading all of its input (a usage error, say): the
                // write then fails with EPIPE, which is the tool's business, not the test's.
                try? writer.write(contentsOf: stdin)
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

extension Tool {
    /// The start of a bash script run as `bash script DIR`: in DIR, eight identical SFT
    /// conversations (chats.jsonl), a 300-token tokenizer (tok.json) and a one-layer SFT run of
    /// 4 steps with checkpoints at steps 2 and 4 (run/checkpoint-2, run/checkpoint-4).
    static let tinySFTRun = #"""
        set -e
        cd "$1"
        for i in 1 2 3 4 5 6 7 8; do
          echo '{"id":"c'$i'","messages":[{"role":"user","content":"Where is the cat?"},{"role":"assistant","content":"The cat is on the mat."}]}'
        done > chats.jsonl
        echo '{"model_type":"llama","vocab_size":300,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":128}' > config.json
        lathe-train tokenizer --vocab-size 300 --quiet -o tok.json chats.jsonl
        lathe-train run --objective sft --config config.json --tokenizer tok.json --steps 4 --save-every 2 --seq-len 32 \
          --batch-size 2 --out run --quiet chats.jsonl

        """#  // the empty line ends the text with a newline, so a script can follow it

    /// Writes `script` to DIR/name.sh and runs it as `bash DIR/name.sh DIR`, the tools first on PATH.
    static func script(_ script: String, in dir: String, name: String = "run") throws -> Result {
        try script.write(toFile: dir + "/\(name).sh", atomically: true, encoding: .utf8)
        return try shell("bash '\(dir)/\(name).sh' '\(dir)'")
    }
}
