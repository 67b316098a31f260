import CSupport
import Glibc

/// A decoded JSON value, for the places that need one (initialize params, tool arguments in
/// the Swift executor, catalogs). The request hot path never builds these.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON bytes (a single-pass parser of our own; see JSONParser).
    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        if let v = try bytes.withContiguousStorageIfAvailable({ try JSONParser.parse(UnsafeRawBufferPointer($0)) }) {
            return v
        }
        return try Array(bytes).withUnsafeBytes { try JSONParser.parse($0) }
    }

    /// The members of a JSON object, each value checked but not decoded: `body` gets each key
    /// and the byte range of its value within `bytes`. Throws unless `bytes` is one valid object.
    public static func forEachMember(_ bytes: UnsafeRawBufferPointer,
                                     _ body: (String, Range<Int>) throws -> Void) throws {
        try JSONParser.forEachMember(bytes, body)
    }

    /// `forEachMember` with each key as its (unescaped) UTF-8 bytes, valid during `body` only.
    public static func forEachMemberKeyBytes(_ bytes: UnsafeRawBufferPointer,
                                             _ body: (UnsafeRawBufferPointer, Range<Int>) throws -> Void) throws {
        try JSONParser.forEachMemberKeyBytes(bytes, body)
    }

    /// The string when `bytes` is exactly one JSON string value, else nil; builds no JSONValue.
    public static func parseString(_ bytes: UnsafeRawBufferPointer) -> String? {
        JSONParser.parseString(bytes)
    }

    /// Parses JSON bytes (not generic: the generic path costs a metadata lookup per call).
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try JSONParser.parse($0) }
    }

    /// Parses JSON bytes that lie in memory already.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        try JSONParser.parse(bytes)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var numberValue: Double? { if case .number(let n) = self { return n }; return nil }
    /// A number as an Int, nil when it is not finite or beyond ±1e15: `Int(Double)` traps on
    /// those, and peers (clients, upstream servers) choose these numbers.
    public var intValue: Int? {
        guard case .number(let n) = self, n.isFinite, abs(n) < 1e15 else { return nil }
        return Int(n.rounded(.towardZero))
    }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }

    /// Compact JSON with object keys sorted, so the same value always gives the same bytes.
    /// Never contains a raw CR or LF byte.
    public func compactJSON() -> String {
        String(decoding: compactJSONBytes(), as: UTF8.self)
    }

    /// `compactJSON()` as UTF-8 bytes, written directly (no intermediate String).
    public func compactJSONBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return out
    }

    /// Appends the compact JSON of this value to `out`.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .number(let n): out += JSONValue.formatNumber(n).utf8
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if o.count == 1, let (k, v) = o.first {
                JSONValue.appendQuoted(k, to: &out)
                out.append(UInt8(ascii: ":"))
                v.write(into: &out)
            } else {
                for (i, k) in o.keys.sorted().enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    JSONValue.appendQuoted(k, to: &out)
                    out.append(UInt8(ascii: ":"))
                    o[k]!.write(into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal (the bytes of `quote(s)`).
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            out.reserveCapacity(out.count + u.count + 2)
            out.append(UInt8(ascii: "\""))
            guard let base = u.baseAddress else { out.append(UInt8(ascii: "\"")); return }
            var clean = 0 // bytes of `u` before `clean` are appended already
            var k = 0
            while true {
                k += sy_json_plain_run(base + k, u.count - k) // 8 bytes a step while nothing needs escaping
                guard k < u.count else { break }
                let c = u[k]
                k += 1
                if c >= 0x80 { continue } // UTF-8 goes out as it is
                out.append(contentsOf: UnsafeBufferPointer(rebasing: u[clean..<k - 1]))
                clean = k
                switch c {
                case 0x22: out += "\\\"".utf8
                case 0x5C: out += "\\\\".utf8
                case 0x0A: out += "\\n".utf8
                case 0x0D: out += "\\r".utf8
                case 0x09: out += "\\t".utf8
                default:
                    let hex: StaticString = "0123456789abcdef"
                    out += "\\u00".utf8
                    out.append(hex.utf8Start[Int(c >> 4)])
                    out.append(hex.utf8Start[Int(c & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: u[clean...]))
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Integers print without a fraction; non-finite numbers (not JSON) print as null.
    public static func formatNumber(_ n: Double) -> String {
        guard n.isFinite else { return "null" }
        if n == n.rounded(), abs(n) < 9.007199254740992e15 { return String(Int64(n)) }
        return "\(n)"
    }

    /// A JSON string literal for `s`.
    public static func quote(_ s: String) -> String {
        // Most strings need no escape: one scan of the bytes, then a single append.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) { return "\"" + s + "\"" }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
        return out
    }
}

extension UnsafeRawBufferPointer {
    /// Are these bytes exactly `s`? For matching JSON keys without building a String.
    public func bytesEqual(_ s: StaticString) -> Bool {
        guard count == s.utf8CodeUnitCount else { return false }
        return count == 0 || memcmp(baseAddress!, s.utf8Start, count) == 0
    }
}
