/// The Prometheus text exposition format, version 0.0.4: what `GET /metrics` answers.
public enum PrometheusText {
    /// The `Content-Type` of the answer.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders every family of the snapshot: `# HELP` and `# TYPE` once per family, then its
    /// samples (histograms as cumulative `_bucket` series with `le`, then `_sum` and `_count`).
    public static func render(_ s: MetricsSnapshot) -> String {
        var out = ""
        out.reserveCapacity(16 * 1024)
        for f in s.families {
            out += "# HELP \(f.name) \(escapeHelp(f.help))\n"
            out += "# TYPE \(f.name) \(f.type.rawValue)\n"
            for sample in f.samples {
                if let h = sample.histogram {
                    for (i, c) in h.cumulative.enumerated() {
                        let le = i < h.bounds.count ? format(h.bounds[i]) : "+Inf"
                        line(&out, f.name + "_bucket", sample.labels + [Label("le", le)], Double(c))
                    }
                    line(&out, f.name + "_sum", sample.labels, h.sum)
                    line(&out, f.name + "_count", sample.labels, Double(h.count))
                } else {
                    line(&out, f.name, sample.labels, sample.value)
                }
            }
        }
        return out
    }

    private static func line(_ out: inout String, _ name: String, _ labels: [Label], _ v: Double) {
        out += name
        if !labels.isEmpty {
            out += "{"
            for (i, l) in labels.enumerated() {
                if i > 0 { out += "," }
                out += l.name + "=\"" + escapeLabelValue(l.value) + "\""
            }
            out += "}"
        }
        out += " " + format(v) + "\n"
    }

    /// A float as Prometheus writes it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 9.007_199_254_740_992e15 { return String(Int64(v)) }
        return String(v)
    }

    /// Label values escape backslash, double quote and line feed.
    public static func escapeLabelValue(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return s }
        var o = ""
        for c in s {
            switch c {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.append(c)
            }
        }
        return o
    }

    /// HELP text escapes backslash and line feed.
    public static func escapeHelp(_ s: String) -> String {
        s.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }
}

extension String {
    func replacingAll(_ a: Character, with b: String) -> String {
        guard contains(a) else { return self }
        var o = ""
        for c in self {
            if c == a { o += b } else { o.append(c) }
        }
        return o
    }
}
