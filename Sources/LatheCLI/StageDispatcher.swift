import Foundation

/// Runs `lathe-STAGE` for `lathe STAGE`, as git runs `git-foo` for `git foo`: the executable
/// beside `lathe` wins (a build directory or an install prefix), then the first on PATH.
public enum StageDispatcher {
    public static func exec(_ stage: Stage, arguments: [String]) -> Never {
        guard let path = locate(stage.executable) else {
            printError("lathe: cannot find \(stage.executable) beside \(selfDirectory() ?? "lathe") or on PATH; build it with `make` or add its directory to PATH.")
            exit(1)
        }
        let argv = [stage.executable] + arguments
        var cArgs = argv.map { strdup($0) }
        cArgs.append(nil)
        execv(path, &cArgs)
        printError("lathe: cannot run \(path): \(String(cString: strerror(errno)))")
        exit(1)
    }

    static func locate(_ executable: String) -> String? {
        var candidates: [String] = []
        if let dir = selfDirectory() { candidates.append(dir + "/" + executable) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(String(dir) + "/" + executable)
        }
        return candidates.first { access($0, X_OK) == 0 }
    }

    static func selfDirectory() -> String? {
        guard let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (resolved as NSString).deletingLastPathComponent
    }
}
