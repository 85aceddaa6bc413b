#if canImport(Glibc)
import Glibc
#endif

/// Memory sizes as people read them, in binary units: `100 B`, `1.5 KiB`, `512 MiB`, `1.5 GiB`.
public func formatMemory(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    return "\(RunStats.fixed(value, value < 10 ? 1 : 0)) \(units[unit])"
}

/// Bytes the kernel reckons can be allocated without swapping (MemAvailable in /proc/meminfo),
/// or nil where that file is missing.
public func availableMemory() -> Int? {
    guard let file = fopen("/proc/meminfo", "r") else { return nil }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil, capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        guard text.hasPrefix("MemAvailable:") else { continue }
        return text.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}
