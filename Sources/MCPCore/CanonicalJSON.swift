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
        var w = Walker(b: bytes)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        w.skipWhitespace()
        guard w.value(into: &out, depth: 0) else { return nil }
        w.skipWhitespace()
        return w.i == bytes.count ? out : nil
    }

    public static func canonical(_ bytes: [UInt8]) -> [UInt8]? { bytes.withUnsafeBytes { canonical($0) } }

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
            case UInt8(ascii: "\""):
                guard let s = string() else { return false }
                JSONValue.appendQuoted(s, to: &out)
                return true
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

        /// The string at `i` (on its opening quote), unescaped; nil when it is not valid.
        mutating func string() -> String? {
            let start = i
            i += 1
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\\") { i += 2; continue }
                i += 1
                if c == UInt8(ascii: "\"") {
                    return JSONValue.parseString(UnsafeRawBufferPointer(rebasing: b[start..<i]))
                }
            }
            return nil
        }

        mutating func object(into out: inout [UInt8], depth: Int) -> Bool {
            i += 1
            var members: [(name: [UInt8], value: [UInt8])] = []
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                out += "{}".utf8
                return true
            }
            while true {
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: "\""), let name = string() else { return false }
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                i += 1
                skipWhitespace()
                var v: [UInt8] = []
                guard value(into: &v, depth: depth) else { return false }
                members.append((Array(name.utf8), v))
                skipWhitespace()
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "}") else { return false }
                i += 1
                break
            }
            members.sort { $0.name.lexicographicallyPrecedes($1.name) }
            out.append(UInt8(ascii: "{"))
            for (k, m) in members.enumerated() {
                if k > 0 {
                    guard m.name != members[k - 1].name else { return false } // a name twice
                    out.append(UInt8(ascii: ","))
                }
                JSONValue.appendQuoted(String(decoding: m.name, as: UTF8.self), to: &out)
                out.append(UInt8(ascii: ":"))
                out += m.value
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
