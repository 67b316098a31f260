/// An independent reader of the Prometheus text format 0.0.4, strict enough to catch what
/// Prometheus would reject or misread: every line is a comment, `# HELP`, `# TYPE` or a sample;
/// HELP and TYPE at most once per family and before its samples; metric and label names
/// valid; label values quoted with only `\\`, `\"` and `\n` escapes; values floats; a
/// histogram's buckets cumulative, ending with `le="+Inf"` equal to `_count`.
struct TextFormatChecker {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Parsed samples: name → [(labels, value)].
    var samples: [String: [([String: String], Double)]] = [:]
    var types: [String: String] = [:]

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples[name]?.first { $0.0 == labels }?.1
    }

    static func check(_ text: String) throws -> TextFormatChecker {
        var c = TextFormatChecker()
        var helps = Set<String>()
        var seenSamples = Set<String>()
        guard text.isEmpty || text.hasSuffix("\n") else { throw Failure(description: "no final newline") }
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            func fail(_ why: String) -> Failure { Failure(description: "line \(n + 1): \(why): \(line)") }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, isMetricName(parts[2]) else { throw fail("bad comment") }
                let name = String(parts[2])
                if seenSamples.contains(name) { throw fail("HELP/TYPE after samples") }
                if parts[1] == "HELP" {
                    guard helps.insert(name).inserted else { throw fail("second HELP") }
                } else {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else { throw fail("bad TYPE") }
                    guard c.types[name] == nil else { throw fail("second TYPE") }
                    c.types[name] = String(parts[3])
                }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            let (name, labels, value) = try parseSample(Substring(line)).orThrow(fail("unparsable sample"))
            var family = name
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if c.types[base] == "histogram" { family = base }
            }
            seenSamples.insert(family)
            if c.types[family] == "histogram" && name.hasSuffix("_bucket") && labels["le"] == nil {
                throw fail("bucket without le")
            }
            if c.samples[name]?.contains(where: { $0.0 == labels }) == true { throw fail("duplicate series") }
            c.samples[name, default: []].append((labels, value))
        }
        try c.checkHistograms()
        return c
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var groups: [[String: String]: [(Double, Double)]] = [:]
            for (labels, v) in samples[family + "_bucket"] ?? [] {
                var rest = labels
                guard let le = rest.removeValue(forKey: "le"), let bound = Double(le == "+Inf" ? "inf" : le) else {
                    throw Failure(description: "\(family): bad le")
                }
                groups[rest, default: []].append((bound, v))
            }
            for (labels, buckets) in groups {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else {
                    throw Failure(description: "\(family)\(labels): no +Inf bucket")
                }
                for (a, b) in zip(sorted, sorted.dropFirst()) where b.1 < a.1 {
                    throw Failure(description: "\(family)\(labels): buckets not cumulative")
                }
                guard value(family + "_count", labels) == sorted.last?.1 else {
                    throw Failure(description: "\(family)\(labels): +Inf bucket differs from _count")
                }
                guard value(family + "_sum", labels) != nil else { throw Failure(description: "\(family): no _sum") }
            }
        }
    }

    static func isMetricName(_ s: Substring) -> Bool {
        guard let f = s.unicodeScalars.first,
              f == "_" || f == ":" || f.properties.isASCIIHexDigit == false && isLetter(f) else { return false }
        return s.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == ":" }
    }

    static func isLabelName(_ s: Substring) -> Bool {
        guard let f = s.unicodeScalars.first, f == "_" || isLetter(f) else { return false }
        return s.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool { ("a"..."z").contains(u) || ("A"..."Z").contains(u) }

    /// `name{l="v",...} value`; nil when malformed.
    static func parseSample(_ line: Substring) -> (String, [String: String], Double)? {
        let chars = Array(line.unicodeScalars)
        var i = 0
        var name = ""
        while i < chars.count, chars[i] != "{", chars[i] != " " {
            name.unicodeScalars.append(chars[i])
            i += 1
        }
        guard isMetricName(Substring(name)) || (name.first.map { isLetter($0.unicodeScalars.first!) } ?? false)
                && isMetricName(Substring(name)) else { return nil }
        var labels: [String: String] = [:]
        if i < chars.count, chars[i] == "{" {
            i += 1
            while i < chars.count, chars[i] != "}" {
                var lname = ""
                while i < chars.count, chars[i] != "=" {
                    lname.unicodeScalars.append(chars[i])
                    i += 1
                }
                guard isLabelName(Substring(lname)), i + 1 < chars.count, chars[i + 1] == "\"" else { return nil }
                i += 2
                var value = ""
                var closed = false
                while i < chars.count {
                    let ch = chars[i]
                    if ch == "\\" {
                        guard i + 1 < chars.count else { return nil }
                        switch chars[i + 1] {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: return nil
                        }
                        i += 2
                    } else if ch == "\"" {
                        closed = true
                        i += 1
                        break
                    } else {
                        value.unicodeScalars.append(ch)
                        i += 1
                    }
                }
                guard closed, labels[lname] == nil else { return nil }
                labels[lname] = value
                if i < chars.count, chars[i] == "," { i += 1 }
            }
            guard i < chars.count else { return nil }
            i += 1
        }
        guard i < chars.count, chars[i] == " " else { return nil }
        let rest = String(String.UnicodeScalarView(chars[(i + 1)...]))
        let fields = rest.split(separator: " ")
        guard fields.count == 1 || fields.count == 2 else { return nil }  // optional timestamp
        let v: Double?
        switch fields[0] {
        case "+Inf": v = .infinity
        case "-Inf": v = -.infinity
        case "NaN": v = .nan
        default: v = Double(fields[0])
        }
        guard let v else { return nil }
        return (name, labels, v)
    }
}

extension Optional {
    func orThrow(_ e: @autoclosure () -> any Error) throws -> Wrapped {
        guard let v = self else { throw e() }
        return v
    }
}
