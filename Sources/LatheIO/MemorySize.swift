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
