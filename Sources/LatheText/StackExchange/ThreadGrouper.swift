import Foundation
import LatheIO

/// Groups questions and answers by thread within a memory budget, external-sort style.
///
/// Posts are held until their text passes `memoryBudget`; then they are sorted by
/// (question id, file position) and written to a run file in a private temporary directory,
/// and holding starts again. At the end the runs and the posts still held are merged into one
/// sorted stream, so each thread's posts arrive together: a dump of any size needs about
/// the budget in memory plus one thread at a time, and the output does not depend on where
/// the spills fell. Past `maxFanIn` runs, runs are first merged into bigger runs, so the number
/// of open files stays bounded however small the budget.
final class ThreadGrouper {
    let memoryBudget: Int
    let maxFanIn: Int
    private let tempParent: String
    private var directory: String?
    private var held: [ThreadPost] = []
    private var heldBytes = 0
    private var runs: [String] = []
    private var runCounter = 0
    private(set) var spilledRuns = 0
    private(set) var spilledBytes = 0
    private(set) var peakHeldBytes = 0

    init(memoryBudget: Int, tempDirectory: String? = nil, maxFanIn: Int = 64) {
        self.memoryBudget = max(0, memoryBudget)
        self.maxFanIn = max(2, maxFanIn)
        self.tempParent = tempDirectory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    deinit { removeTemporaryFiles() }

    func add(_ post: ThreadPost) throws {
        held.append(post)
        heldBytes += post.heldBytes
        peakHeldBytes = max(peakHeldBytes, heldBytes)
        if heldBytes > memoryBudget { try spill() }
    }

    /// Calls `thread` with each thread's posts in (question id, file position) order, then
    /// removes the temporary files.
    func finish(_ thread: ([ThreadPost]) throws -> Void) throws {
        defer { removeTemporaryFiles() }
        held.sort(by: <)
        var merged: RunMerger?
        if !runs.isEmpty {
            while runs.count > maxFanIn { try mergeRuns(runs.count - maxFanIn + 1) }
            merged = try RunMerger(runs.map { try RunReader(path: $0) })
        }
        var nextHeld = 0
        var spilled = try merged?.next()
        // Two sorted streams: the held posts and the merged runs.
        func next() throws -> ThreadPost? {
            if let s = spilled, nextHeld == held.count || s < held[nextHeld] {
                spilled = try merged!.next()
                return s
            }
            guard nextHeld < held.count else { return nil }
            defer { nextHeld += 1 }
            return held[nextHeld]
        }
        var group: [ThreadPost] = []
        while let post = try next() {
            if let first = group.first, first.key != post.key {
                try thread(group)
                group.removeAll(keepingCapacity: true)
            }
            group.append(post)
        }
        if !group.isEmpty { try thread(group) }
        held = []
        heldBytes = 0
    }

    private func spill() throws {
        held.sort(by: <)
        let writer = try RunWriter(path: try newRunPath())
        for post in held { try writer.write(post) }
        try writer.close()
        runs.append(writer.path)
        spilledRuns += 1
        spilledBytes += writer.bytesWritten
        held.removeAll(keepingCapacity: true)
        heldBytes = 0
    }

    /// Replaces the first `count` runs by their merge.
    private func mergeRuns(_ count: Int) throws {
        let inputs = Array(runs.prefix(min(count, maxFanIn)))
        var merger = try RunMerger(inputs.map { try RunReader(path: $0) })
        let writer = try RunWriter(path: try newRunPath())
        while let post = try merger.next() { try writer.write(post) }
        try writer.close()
        for path in inputs { unlink(path) }
        runs.removeFirst(inputs.count)
        runs.append(writer.path)
    }

    private func newRunPath() throws -> String {
        if directory == nil {
            var template = Array((tempParent + "/lathe-stackexchange-XXXXXX").utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw IOFailure("\(tempParent): cannot create a temporary directory for spilling: \(String(cString: strerror(errno))) (choose another with the temporary-directory option or TMPDIR)")
            }
            directory = String(cString: template)
        }
        runCounter += 1
        return directory! + "/run-\(runCounter).bin"
    }

    private func removeTemporaryFiles() {
        guard let directory else { return }
        for path in runs { unlink(path) }
        runs = []
        try? FileManager.default.removeItem(atPath: directory)
        self.directory = nil
    }
}
