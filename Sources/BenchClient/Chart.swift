import Foundation

/// SVG charts, written by hand (no dependency): two panels side by side, one line per series.
public enum Chart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// Throughput and p99 against connections (closed loop) or target rate (open loop),
    /// one line per label, from several runs' results.
    public static func comparison(_ runs: [RunResult], title: String? = nil) -> String {
        let byRate = runs.allSatisfy { $0.targetRate != nil }
        let xName = byRate ? "target rate (req/s)" : "connections"
        var labels: [String] = []
        for r in runs where !labels.contains(r.label) { labels.append(r.label) }
        func series(_ y: (RunResult) -> Double) -> [Series] {
            labels.map { l in
                Series(name: l, points: runs.filter { $0.label == l }
                    .map { (x: byRate ? $0.targetRate! : Double($0.connections), y: y($0)) }
                    .sorted { $0.x < $1.x })
            }
        }
        let t = title ?? "\(runs.first?.tool ?? "echo") tools/call, \(runs.first?.mode ?? "closed") loop"
        return render(title: t,
                      left: ("throughput (good answers/s)", series { $0.achievedRate }),
                      right: ("p99 latency (ms)", series { $0.latencyMs.p99 }), xName: xName)
    }

    /// One run second by second: good answers per second and p99.
    public static func timeline(_ run: RunResult) -> String {
        let pts = run.intervals
        return render(title: "\(run.label): \(run.mode) loop, \(run.connections) connections, second by second",
                      left: ("good answers/s",
                             [Series(name: run.label, points: pts.map { (Double($0.second), Double($0.ok)) })]),
                      right: ("p99 latency (ms)",
                              [Series(name: run.label, points: pts.map { (Double($0.second), $0.p99Ms) })]),
                      xName: "second of the measured window", logX: false)
    }

    static func render(title: String, left: (String, [Series]), right: (String, [Series]), xName: String,
                       logX: Bool? = nil) -> String {
        let w = 1000.0, h = 420.0
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(w))" height="\#(Int(h))" "#
        svg += #"font-family="sans-serif" font-size="12">"#
        svg += #"<rect width="100%" height="100%" fill="white"/>"#
        svg += #"<text x="\#(w / 2)" y="22" text-anchor="middle" font-size="15">\#(escape(title))</text>"#
        let allX = (left.1 + right.1).flatMap { $0.points.map(\.x) }
        let useLog = logX ?? {
            guard let lo = allX.min(), let hi = allX.max(), lo > 0 else { return false }
            return hi / lo >= 20
        }()
        svg += panel(x0: 70, y0: 50, pw: 380, ph: 300, name: left.0, series: left.1, xName: xName, logX: useLog)
        svg += panel(x0: 570, y0: 50, pw: 380, ph: 300, name: right.0, series: right.1, xName: xName, logX: useLog)
        // Legend.
        let names = left.1.map(\.name)
        for (i, n) in names.enumerated() {
            let lx = 70.0 + Double(i % 4) * 230, ly = 395.0 + Double(i / 4) * 16
            svg += #"<rect x="\#(lx)" y="\#(ly - 9)" width="14" height="4" fill="\#(palette[i % palette.count])"/>"#
            svg += #"<text x="\#(lx + 20)" y="\#(ly)">\#(escape(n))</text>"#
        }
        return svg + "</svg>\n"
    }

    static func panel(x0: Double, y0: Double, pw: Double, ph: Double, name: String, series: [Series], xName: String,
                      logX: Bool) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        var s = #"<text x="\#(x0 + pw / 2)" y="\#(y0 - 8)" text-anchor="middle" font-weight="bold">"#
        s += #"\#(escape(name))</text>"#
        s += #"<rect x="\#(x0)" y="\#(y0)" width="\#(pw)" height="\#(ph)" fill="none" stroke="rgb(68,68,68)"/>"#
        s += #"<text x="\#(x0 + pw / 2)" y="\#(y0 + ph + 34)" text-anchor="middle">\#(escape(xName))</text>"#
        guard let xMin = xs.min(), let xMax = xs.max(), let yMaxRaw = ys.max() else { return s }
        let yMax = niceCeil(max(yMaxRaw, 1e-9))
        func fx(_ x: Double) -> Double {
            if xMax == xMin { return x0 + pw / 2 }
            if logX { return x0 + 10 + (pw - 20) * (log10(x) - log10(xMin)) / (log10(xMax) - log10(xMin)) }
            return x0 + 10 + (pw - 20) * (x - xMin) / (xMax - xMin)
        }
        func fy(_ y: Double) -> Double { y0 + ph - ph * y / yMax }
        for i in 0...4 {
            let v = yMax * Double(i) / 4, y = fy(v)
            s += #"<line x1="\#(x0)" y1="\#(y)" x2="\#(x0 + pw)" y2="\#(y)" stroke="rgb(221,221,221)"/>"#
            s += #"<text x="\#(x0 - 6)" y="\#(y + 4)" text-anchor="end">\#(format(v))</text>"#
        }
        var ticks = Array(Set(xs)).sorted()
        if ticks.count > 12 { ticks = stride(from: 0, to: ticks.count, by: ticks.count / 10 + 1).map { ticks[$0] } }
        for x in ticks {
            s += #"<text x="\#(fx(x))" y="\#(y0 + ph + 16)" text-anchor="middle">\#(format(x))</text>"#
        }
        for (i, ser) in series.enumerated() where !ser.points.isEmpty {
            let color = palette[i % palette.count]
            let pts = ser.points.map { "\(fx($0.x)),\(fy($0.y))" }.joined(separator: " ")
            s += #"<polyline points="\#(pts)" fill="none" stroke="\#(color)" stroke-width="2"/>"#
            for p in ser.points { s += #"<circle cx="\#(fx(p.x))" cy="\#(fy(p.y))" r="3" fill="\#(color)"/>"# }
        }
        return s
    }

    static func niceCeil(_ v: Double) -> Double {
        let e = pow(10, floor(log10(v)))
        for m in [1.0, 2, 2.5, 5, 10] where m * e >= v { return m * e }
        return 10 * e
    }

    static func format(_ v: Double) -> String {
        if v >= 1_000_000 { return String(format: "%.1fM", v / 1_000_000) }
        if v >= 10_000 { return String(format: "%.0fk", v / 1000) }
        if v >= 1000 { return String(format: "%.1fk", v / 1000) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: v < 1 ? "%.2f" : "%.1f", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
