import Foundation
import LatheIO
import Testing
@testable import LatheText

/// Throughput on a big Posts.xml, off by default (a benchmark, not a timed test):
///
///     python3 fixtures/stackexchange/make_posts.py /tmp/se/Posts.xml 100
///     LATHE_SE_BENCH=/tmp/se/Posts.xml swift test -c release --filter stackExchangeThroughput
///
/// Prints MB/s of XML for the parse alone, and for whole reads with and without spilling on
/// one and two jobs, with CPU time and the peak resident memory of the process so far.
@Test(.enabled(if: ProcessInfo.processInfo.environment["LATHE_SE_BENCH"] != nil))
func stackExchangeThroughput() throws {
    let path = ProcessInfo.processInfo.environment["LATHE_SE_BENCH"]!
    let megabytes = Double(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int) / 1e6

    var start = Date()
    var cpu = cpuSeconds()
    let reader = PostsReader(source: try ByteSource(path: path))
    var rows = 0
    while let batch = try reader.next() { rows += batch.count }
    report("parse only", rows: rows, seconds: Date().timeIntervalSince(start), cpu: cpuSeconds() - cpu, megabytes: megabytes)

    for (budget, jobs) in [(512 << 20, 1), (512 << 20, 2), (16 << 20, 2)] {
        start = Date()
        cpu = cpuSeconds()
        var bytesOut = 0
        var buffer: [UInt8] = []
        let summary = try StackExchangeThreads.read(path: path, memoryBudget: budget, jobs: jobs, onThread: { thread in
            buffer.removeAll(keepingCapacity: true)
            JSONWriter.write(thread, into: &buffer)
            bytesOut += buffer.count + 1
        }, onDrop: { _ in })
        report("budget \(budget >> 20) MiB, jobs \(jobs): \(summary.threads) threads, \(summary.answers) answers, "
               + "\(summary.spilledRuns) runs (\(summary.spilledBytes / 1_000_000) MB), peak held \(summary.peakHeldBytes / 1_000_000) MB, "
               + "\(bytesOut / 1_000_000) MB out", rows: summary.rows, seconds: Date().timeIntervalSince(start), cpu: cpuSeconds() - cpu,
               megabytes: megabytes)
    }
}

/// User plus system time of every thread of the process: steadier than the wall clock on a
/// shared machine.
private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

private func report(_ what: String, rows: Int, seconds: Double, cpu: Double, megabytes: Double) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM") }.map { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " ") } ?? "?"
    print(String(format: "stackexchange bench: %@: %d rows, %.1f MB in %.2f s = %.1f MB/s wall, %.2f CPU s = %.1f MB per CPU-second (peak RSS so far %@)",
                 what, rows, megabytes, seconds, megabytes / seconds, cpu, megabytes / cpu, peak))
}
