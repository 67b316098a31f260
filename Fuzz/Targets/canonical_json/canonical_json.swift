// CanonicalJSON, the text the result cache keys a call's arguments by: any bytes, split in two.
// A canonical text exists only for JSON the parser takes, is its own canonical text and means
// exactly the same value; two inputs have one canonical text exactly when they mean one value
// (else two different calls would share a cached result, or one call miss its own). "Exactly"
// is `Exact` below: JSONValue keeps numbers as Doubles and Swift compares Strings by canonical
// equivalence, both blind to the collisions that matter here.
import FuzzSupport
import MCPCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCanonicalJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let first = input.bytes(max: 255)
    let second = input.rest()
    if let a = check(first), let b = check(second) {
        require((a.text == b.text) == (a.value == b.value),
                "\(a.text == b.text ? "one text for two values" : "two texts for one value"): "
                    + "\(show(first)) and \(show(second))")
    }
    return 0
}

/// The canonical text of `bytes` and its exact value, after checking what holds for one input.
private func check(_ bytes: [UInt8]) -> (text: [UInt8], value: Exact)? {
    guard let text = CanonicalJSON.canonical(bytes) else { return nil }
    guard (try? JSONValue.parse(bytes)) != nil, (try? JSONValue.parse(text)) != nil else {
        require(false, "a canonical text for, or as, what the parser refuses: \(show(bytes)) -> \(show(text))")
        return nil
    }
    require(CanonicalJSON.canonical(text) == text, "not its own canonical text: \(show(text))")
    guard let value = Exact.parse(bytes), let again = Exact.parse(text) else {
        require(false, "the exact model cannot read \(show(bytes)) or \(show(text))")
        return nil
    }
    require(again == value, "the canonical text changed the value: \(show(bytes)) -> \(show(text))")
    return (text, value)
}

private func show(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self).debugDescription }

/// A JSON value compared exactly: strings by their UTF-8 bytes, numbers by sign, significant
/// digits and power of ten, objects by their members sorted by name bytes. Read only from texts
/// the JSON parser took (it checks nothing the parser checks).
private indirect enum Exact: Equatable {
    case null, bool(Bool), string([UInt8]), array([Exact]), object([Member])
    case number(negative: Bool, digits: [UInt8], exponent: Int)

    struct Member: Equatable { var name: [UInt8]; var value: Exact }

    static func parse(_ bytes: [UInt8]) -> Exact? {
        var reader = Reader(b: bytes)
        let v = reader.value()
        reader.space()
        return reader.i == bytes.count ? v : nil
    }

    private struct Reader {
        let b: [UInt8]
        var i = 0

        mutating func space() { while i < b.count, [0x20, 0x0A, 0x0D, 0x09].contains(b[i]) { i += 1 } }

        mutating func value() -> Exact? {
            space()
            guard i < b.count else { return nil }
            switch b[i] {
            case UInt8(ascii: "n"): i += 4; return .null
            case UInt8(ascii: "t"): i += 4; return .bool(true)
            case UInt8(ascii: "f"): i += 5; return .bool(false)
            case UInt8(ascii: "\""): return string().map { .string($0) }
            case UInt8(ascii: "["):
                i += 1
                var items: [Exact] = []
                space()
                if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    guard let v = value() else { return nil }
                    items.append(v)
                    space()
                    guard i < b.count else { return nil }
                    i += 1
                    if b[i - 1] == UInt8(ascii: "]") { return .array(items) }
                }
            case UInt8(ascii: "{"):
                i += 1
                var members: [Member] = []
                space()
                if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    space()
                    guard let name = string() else { return nil }
                    space()
                    i += 1 // ':'
                    guard let v = value() else { return nil }
                    members.append(Member(name: name, value: v))
                    space()
                    guard i < b.count else { return nil }
                    i += 1
                    if b[i - 1] == UInt8(ascii: "}") {
                        return .object(members.sorted { $0.name.lexicographicallyPrecedes($1.name) })
                    }
                }
            default: return number()
            }
        }

        /// The string token at `i`, unescaped by the JSON parser, as UTF-8 bytes.
        mutating func string() -> [UInt8]? {
            let start = i
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            guard i < b.count else { return nil }
            i += 1
            return b[start..<i].withUnsafeBytes { JSONValue.parseString($0) }.map { Array($0.utf8) }
        }

        /// The number token at `i` as sign, significant digits (no leading or trailing zero) and
        /// exponent: mantissa digits as written, the fraction's length taken off the exponent.
        mutating func number() -> Exact? {
            var negative = false
            if b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var digits: [UInt8] = []
            var exponent = 0
            var inFraction = false
            while i < b.count {
                let c = b[i]
                if c >= 0x30 && c <= 0x39 {
                    digits.append(c)
                    if inFraction { exponent -= 1 }
                } else if c == UInt8(ascii: ".") {
                    inFraction = true
                } else {
                    break
                }
                i += 1
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                var sign = 1
                if b[i] == UInt8(ascii: "-") { sign = -1; i += 1 } else if b[i] == UInt8(ascii: "+") { i += 1 }
                var e = 0
                while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                    guard e < 100_000_000_000 else { return nil }
                    e = e * 10 + Int(b[i] - 0x30)
                    i += 1
                }
                exponent += sign * e
            }
            while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast(); exponent += 1 }
            let lead = digits.firstIndex { $0 != UInt8(ascii: "0") } ?? digits.count
            digits.removeFirst(lead)
            if digits.isEmpty { return .number(negative: false, digits: [], exponent: 0) }
            return .number(negative: negative, digits: digits, exponent: exponent)
        }
    }
}
