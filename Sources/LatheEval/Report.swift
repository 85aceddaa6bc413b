import Foundation

/// The human side of the results: a table for stderr and a self-contained HTML report.
public enum EvalReport {
    /// One line per result, columns aligned.
    public static func table(_ results: [EvalResult]) -> String {
        var rows = [["checkpoint", "step", "task", "metric", "value", "± stderr", "n"]]
        for r in results {
            rows.append([r.checkpoint, r.step.map(String.init) ?? "-", r.task, r.metric,
                         r.error == nil ? format(r.value) : "FAILED", r.stderr.map(format) ?? "", String(r.n)])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        var lines = rows.map { row in
            row.enumerated().map { c, cell in c >= 4 ? pad(cell, widths[c], left: true) : pad(cell, widths[c], left: false) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        for r in results { if let error = r.error { lines.append("FAILED: \(error)") } }
        return lines.joined(separator: "\n")
    }

    static func pad(_ s: String, _ width: Int, left: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? fill + s : s + fill
    }

    static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        let magnitude = abs(x)
        return magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? String(format: "%.3e", x) : String(format: "%.4f", x)
    }

    /// A metric's series across checkpoints, in the order they were evaluated.
    struct Series {
        var task: String
        var metric: String
        var points: [EvalResult]
        /// The index into points of the best value, when the metric has a direction.
        var best: Int? {
            guard let lower = points.first?.lowerIsBetter, !points.isEmpty else { return nil }
            return points.indices.min { lower ? points[$0].value < points[$1].value : points[$0].value > points[$1].value }
        }
    }

    static func series(_ results: [EvalResult]) -> [Series] {
        var order: [String] = [], groups: [String: Series] = [:]
        for r in results where r.error == nil && r.value.isFinite {
            let key = r.task + "\u{1}" + r.metric
            if groups[key] == nil {
                order.append(key)
                groups[key] = Series(task: r.task, metric: r.metric, points: [])
            }
            groups[key]!.points.append(r)
        }
        return order.map { groups[$0]! }
    }

    /// One HTML file, no scripts and nothing fetched: a plot per task × metric against training
    /// step (checkpoint order when steps are unknown) with ±1 standard error bars and the best
    /// checkpoint ringed, then the table of every result.
    public static func html(_ results: [EvalResult], title: String = "lathe-eval report") -> String {
        let all = series(results)
        var body = "<div class=\"plots\">\n" + all.map(plot).joined() + "</div>\n"
        let failures = results.filter { $0.error != nil }
        if !failures.isEmpty {
            body += "<h2>Failed</h2><ul>" + failures.map { "<li><b>\(escape($0.checkpoint))</b>: \(escape($0.error!))</li>" }.joined() + "</ul>\n"
        }
        body += "<h2>All results</h2><table><tr><th>checkpoint</th><th>step</th><th>task</th><th>metric</th><th>value</th>"
            + "<th>stderr</th><th>n</th><th>settings</th></tr>\n"
        for r in results {
            body += "<tr><td>\(escape(r.checkpoint))</td><td>\(r.step.map(String.init) ?? "")</td><td>\(escape(r.task))</td>"
                + "<td>\(escape(r.metric))</td><td>\(r.error == nil ? format(r.value) : "failed")</td>"
                + "<td>\(r.stderr.map(format) ?? "")</td><td>\(r.n)</td><td>\(escape(r.settings ?? ""))</td></tr>\n"
        }
        body += "</table>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
            .plots { display: flex; flex-wrap: wrap; gap: 16px; }
            figure { margin: 0; border: 1px solid #ddd; padding: 8px; }
            figcaption { font-weight: 600; margin-bottom: 4px; }
            table { border-collapse: collapse; margin-top: 8px; }
            td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p>\(Set(results.map(\.checkpoint)).count) checkpoints, \(all.count) metrics. Error bars: ±1 standard error. \
            Ringed in red: the best checkpoint for the metric.</p>

            """ + body + "\n</body></html>\n"
    }

    /// A checkpoint as a tick label: its run directory for `RUN/checkpoint-N`, else its name.
    static func shortName(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        let run = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
        return name.hasPrefix("checkpoint-") && !run.isEmpty ? run : name
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    // Plot geometry, in SVG user units.
    static let width = 420.0, height = 260.0, left = 64.0, right = 16.0, top = 16.0, bottom = 44.0

    static func plot(_ s: Series) -> String {
        // Steps order checkpoints of one run; checkpoints of different runs (base, SFT, DPO)
        // have unrelated steps and are shown in the order given, named by their run.
        let runs = Set(s.points.map { ($0.checkpoint as NSString).deletingLastPathComponent })
        let byStep = runs.count == 1 && s.points.allSatisfy { $0.step != nil }
        let xs = s.points.enumerated().map { byStep ? Double($1.step!) : Double($0) }
        let lows = s.points.map { $0.value - ($0.stderr ?? 0) }, highs = s.points.map { $0.value + ($0.stderr ?? 0) }
        var (y0, y1) = (lows.min()!, highs.max()!)
        if y1 - y0 < 1e-12 { (y0, y1) = (y0 - 0.5 * max(abs(y0), 1e-3), y1 + 0.5 * max(abs(y1), 1e-3)) }
        let pad = (y1 - y0) * 0.08
        (y0, y1) = (y0 - pad, y1 + pad)
        var (x0, x1) = (xs.min()!, xs.max()!)
        if x1 == x0 { (x0, x1) = (x0 - 1, x1 + 1) }
        let xPad = (x1 - x0) * 0.05
        (x0, x1) = (x0 - xPad, x1 + xPad)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (y1 - y) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(s.task + " " + s.metric))\">"
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#999\"/>"
        for k in 0...4 {
            let y = y0 + (y1 - y0) * Double(k) / 4
            svg += "<line x1=\"\(f(left - 4))\" x2=\"\(f(left))\" y1=\"\(f(py(y)))\" y2=\"\(f(py(y)))\" stroke=\"#999\"/>"
                + "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" font-size=\"11\" text-anchor=\"end\">\(String(format: "%.4g", y))</text>"
        }
        let ticks = Array(Set(xs)).sorted()
        let shown = ticks.count <= 8 ? ticks : (0...4).map { ticks[0] + (ticks[ticks.count - 1] - ticks[0]) * Double($0) / 4 }
        for x in shown {
            let label = byStep ? String(Int(x.rounded()))
                : (ticks.count <= 8 ? escape(shortName(s.points[Int(x)].checkpoint)) : String(format: "%.0f", x + 1))
            svg += "<line x1=\"\(f(px(x)))\" x2=\"\(f(px(x)))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH + 4))\" stroke=\"#999\"/>"
                + "<text x=\"\(f(px(x)))\" y=\"\(f(top + plotH + 16))\" font-size=\"11\" text-anchor=\"middle\">\(label)</text>"
        }
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 6))\" font-size=\"12\" text-anchor=\"middle\">"
            + (byStep ? "training step" : "checkpoint (in the order given)") + "</text>"
        let path = zip(xs, s.points).map { "\(f(px($0))),\(f(py($1.value)))" }.joined(separator: " ")
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>"
        for (x, p) in zip(xs, s.points) {
            if let e = p.stderr, e > 0 {
                let (a, b) = (py(p.value - e), py(p.value + e))
                svg += "<path class=\"errorbar\" d=\"M\(f(px(x))),\(f(a))V\(f(b))M\(f(px(x) - 4)),\(f(a))h8M\(f(px(x) - 4)),\(f(b))h8\" "
                    + "stroke=\"#1f77b4\" fill=\"none\"/>"
            }
            svg += "<circle cx=\"\(f(px(x)))\" cy=\"\(f(py(p.value)))\" r=\"3\" fill=\"#1f77b4\">"
                + "<title>\(escape(p.checkpoint)): \(format(p.value))\(p.stderr.map { " ± " + format($0) } ?? "")</title></circle>"
        }
        var caption = "\(escape(s.task)) — \(escape(s.metric))"
        if let best = s.best {
            let p = s.points[best]
            svg += "<circle class=\"best\" data-checkpoint=\"\(escape(p.checkpoint))\" cx=\"\(f(px(xs[best])))\" "
                + "cy=\"\(f(py(p.value)))\" r=\"7\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>"
            caption += " <span style=\"font-weight:400\">(best: \(escape(p.checkpoint)), \(format(p.value)))</span>"
        }
        svg += "</svg>"
        return "<figure><figcaption>\(caption)</figcaption>\(svg)</figure>\n"
    }
}
