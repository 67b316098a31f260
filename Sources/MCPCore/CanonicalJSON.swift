/// One text per JSON value, whatever its spacing, member order, string escapes or number
/// notation: members sorted by the UTF-8 bytes of their names, strings unescaped and quoted
/// again the one way `JSONValue.appendQuoted` writes them, numbers as exact decimals
/// (`digits` then `e<exponent>` when not 0, no leading or trailing zeros: `1`, `1.0`, `1e0` and
/// `10e-1` are all `1`; `100` is `1e2`). No number goes through a Double, so two numbers that
/// differ in any digit never share a text. The result cache keys calls by it.
///
/// Not canonical, and refused (nil): invalid JSON, nesting deeper than `maxDepth`, exponents
/// beyond ±999,999,999, and objects with a member name twice (tools may read either value,
/// so such arguments have no one meaning to key by).
public enum CanonicalJSON {
    public static let maxDepth = 128

    /// The canonical text of the one JSON value in `bytes`, or nil (see above).
    public static func canonical(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        return append(bytes, to: &out) ? out : nil
    }

    public static func canonical(_ bytes: [UInt8]) -> [UInt8]? { bytes.withUnsafeBytes { canonical($0) } }

    /// Appends the canonical text of the one JSON value in `bytes` to `out`; false (with `out`
    /// holding a partial text) when there is none.
    public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        var w = Walker(b: bytes)
        w.skipWhitespace()
        guard w.value(into: &out, depth: 0) else { return false }
        w.skipWhitespace()
        return w.i == bytes.count
    }

    private struct Walker {
        let b: UnsafeRawBufferPointer
        var i = 0

        mutating func skipWhitespace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func value(into out: inout [UInt8], depth: Int) -> Bool {
            guard i < b.count, depth <= CanonicalJSON.maxDepth else { return false }
            switch b[i] {
            case UInt8(ascii: "{"): return object(into: &out, depth: depth + 1)
            case UInt8(ascii: "["): return array(into: &out, depth: depth + 1)
            case UInt8(ascii: "\""): return string(into: &out) != nil
            case UInt8(ascii: "t"): return literal("true", into: &out)
            case UInt8(ascii: "f"): return literal("false", into: &out)
            case UInt8(ascii: "n"): return literal("null", into: &out)
            default: return number(into: &out)
            }
        }

        mutating func literal(_ word: StaticString, into out: inout [UInt8]) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { return false }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
            i += n
            out += UnsafeBufferPointer(start: word.utf8Start, count: n)
            return true
        }

        /// A string's name for sorting: its unescaped UTF-8 bytes, as a range of the input when it
        /// has no escape (nearly always), else decoded.
        enum Name {
            case raw(Range<Int>)
            case decoded([UInt8])
        }

        /// Writes the string at `i` (on its opening quote) canonically; returns its name, or nil
        /// when it is not valid. Printable ASCII without a quote or backslash is written as it came.
        mutating func string(into out: inout [UInt8]) -> Name? {
            let start = i
            i += 1
            var plain = true
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    if plain {
                        out += UnsafeRawBufferPointer(rebasing: b[start..<i])
                        return .raw(start + 1..<i - 1)
                    }
                    guard let s = JSONValue.parseString(UnsafeRawBufferPointer(rebasing: b[start..<i])) else { return nil }
                    JSONValue.appendQuoted(s, to: &out)
                    return .decoded(Array(s.utf8))
                }
                if c == UInt8(ascii: "\\") { plain = false; i += 2; continue }
                if c < 0x20 || c >= 0x7F { plain = false }
                i += 1
            }
            return nil
        }

        private func nameBytes(_ n: Name) -> UnsafeRawBufferPointer {
            switch n {
            case .raw(let r): return UnsafeRawBufferPointer(rebasing: b[r])
            case .decoded: preconditionFailure("decoded names are compared as arrays")
            }
        }

        /// Orders two names by their unescaped UTF-8 bytes.
        private func precedes(_ x: Name, _ y: Name) -> Bool {
            switch (x, y) {
            case (.raw, .raw): return nameBytes(x).lexicographicallyPrecedes(nameBytes(y))
            case (.raw, .decoded(let d)): return nameBytes(x).lexicographicallyPrecedes(d)
            case (.decoded(let d), .raw): return d.lexicographicallyPrecedes(nameBytes(y))
            case (.decoded(let d), .decoded(let e)): return d.lexicographicallyPrecedes(e)
            }
        }

        /// Members are written as they come, each remembered by its name and its place in `out`;
        /// only when they were not in order are they written again, sorted.
        mutating func object(into out: inout [UInt8], depth: Int) -> Bool {
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                out += "{}".utf8
                return true
            }
            let objectStart = out.count
            out.append(UInt8(ascii: "{"))
            var members: [(name: Name, range: Range<Int>)] = []
            var sorted = true
            while true {
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { return false }
                if !members.isEmpty { out.append(UInt8(ascii: ",")) }
                let memberStart = out.count
                guard let name = string(into: &out) else { return false }
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                i += 1
                out.append(UInt8(ascii: ":"))
                skipWhitespace()
                guard value(into: &out, depth: depth) else { return false }
                if let last = members.last, !precedes(last.name, name) { sorted = false }
                members.append((name, memberStart..<out.count))
                skipWhitespace()
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "}") else { return false }
                i += 1
                break
            }
            if !sorted {
                members.sort { precedes($0.name, $1.name) }
                for k in 1..<members.count where !precedes(members[k - 1].name, members[k].name) {
                    return false // a name twice
                }
                let written = Array(out[objectStart...])
                out.removeSubrange(objectStart...)
                out.append(UInt8(ascii: "{"))
                for (k, m) in members.enumerated() {
                    if k > 0 { out.append(UInt8(ascii: ",")) }
                    out += written[(m.range.lowerBound - objectStart)..<(m.range.upperBound - objectStart)]
                }
            }
            out.append(UInt8(ascii: "}"))
            return true
        }

        mutating func array(into out: inout [UInt8], depth: Int) -> Bool {
            i += 1
            out.append(UInt8(ascii: "["))
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "]") {
                i += 1
                out.append(UInt8(ascii: "]"))
                return true
            }
            var first = true
            while true {
                skipWhitespace()
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                guard value(into: &out, depth: depth) else { return false }
                skipWhitespace()
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "]") else { return false }
                i += 1
                out.append(UInt8(ascii: "]"))
                return true
            }
        }

        private func isDigit(_ at: Int) -> Bool { at < b.count && b[at] >= 0x30 && b[at] <= 0x39 }

        /// An RFC 8259 number, written as its exact decimal: significant digits and a power of ten.
        mutating func number(into out: inout [UInt8]) -> Bool {
            // A plain integer not ending in 0 is its own canonical text.
            let start = i
            var j = i
            if j < b.count, b[j] == UInt8(ascii: "-") { j += 1 }
            if j < b.count, b[j] >= 0x31 && b[j] <= 0x39 {
                while isDigit(j) { j += 1 }
                let next = j < b.count ? b[j] : 0
                if next != UInt8(ascii: "."), next != UInt8(ascii: "e"), next != UInt8(ascii: "E"),
                   b[j - 1] != UInt8(ascii: "0") {
                    i = j
                    out += UnsafeRawBufferPointer(rebasing: b[start..<j])
                    return true
                }
            }
            var negative = false
            if i < b.count, b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            guard isDigit(i) else { return false }
            var digits: [UInt8] = []
            var exponent = 0
            if b[i] == UInt8(ascii: "0") {
                i += 1
                guard !isDigit(i) else { return false } // no leading zeros
            } else {
                while isDigit(i) { digits.append(b[i]); i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard isDigit(i) else { return false }
                while isDigit(i) { digits.append(b[i]); exponent -= 1; i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                var sign = 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                    if b[i] == UInt8(ascii: "-") { sign = -1 }
                    i += 1
                }
                guard isDigit(i) else { return false }
                var e = 0
                while isDigit(i) {
                    e = e * 10 + Int(b[i] - 0x30)
                    guard e <= 999_999_999 else { return false }
                    i += 1
                }
                exponent += sign * e
            }
            // Leading zeros (of "0.05") carry nothing; trailing ones move into the exponent.
            var lead = 0
            while lead < digits.count, digits[lead] == UInt8(ascii: "0") { lead += 1 }
            var end = digits.count
            while end > lead, digits[end - 1] == UInt8(ascii: "0") { end -= 1; exponent += 1 }
            guard end > lead else { out.append(UInt8(ascii: "0")); return true } // -0 is 0
            if negative { out.append(UInt8(ascii: "-")) }
            out += digits[lead..<end]
            if exponent != 0 {
                out.append(UInt8(ascii: "e"))
                out += String(exponent).utf8
            }
            return true
        }
    }
}
