import CSupport

/// A small recursive-descent JSON parser (RFC 8259) producing `JSONValue`s straight from
/// UTF-8 bytes. Foundation's JSONDecoder goes through Codable containers and was 40% of an
/// executor's CPU on small calls; this is a single pass with no intermediate objects.
/// Tested against JSONDecoder on shared inputs (MCPCoreTests/JSONParserTests).
///
/// The one JSON reader in Swift: everything that needs values reads them here. The request
/// hot path reads nothing into values; the C envelope scanner (CSupport/core/json.c) only
/// validates and records spans.
struct JSONParser {
    struct Failure: Error {}

    private let b: UnsafeRawBufferPointer
    private var i = 0
    private var depth = 0

    static let maxDepth = 128

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var p = JSONParser(b: bytes)
        p.skipWhitespace()
        let v = try p.value()
        p.skipWhitespace()
        guard p.i == bytes.count else { throw Failure() }
        return v
    }

    /// The string when `bytes` is exactly one JSON string (whitespace around it allowed), else nil.
    static func parseString(_ bytes: UnsafeRawBufferPointer) -> String? {
        var p = JSONParser(b: bytes)
        p.skipWhitespace()
        guard p.i < bytes.count, bytes[p.i] == UInt8(ascii: "\""), let s = try? p.string() else { return nil }
        p.skipWhitespace()
        return p.i == bytes.count ? s : nil
    }

    private init(b: UnsafeRawBufferPointer) { self.b = b }

    /// The members of a top-level object, each value checked to be valid JSON but not decoded:
    /// `body` gets the key and the byte range of its value. Throws unless `bytes` is one object.
    static func forEachMember(_ bytes: UnsafeRawBufferPointer,
                              _ body: (String, Range<Int>) throws -> Void) throws {
        try forEachMemberKeyBytes(bytes) { key, range in try body(String(decoding: key, as: UTF8.self), range) }
    }

    /// `forEachMember` with each key as its UTF-8 bytes (the raw bytes between the quotes when
    /// it has no escape, which is nearly always): matching known keys builds no String.
    static func forEachMemberKeyBytes(_ bytes: UnsafeRawBufferPointer,
                                      _ body: (UnsafeRawBufferPointer, Range<Int>) throws -> Void) throws {
        var p = JSONParser(b: bytes)
        p.skipWhitespace()
        guard p.i < bytes.count, bytes[p.i] == UInt8(ascii: "{") else { throw Failure() }
        p.i += 1
        p.depth = 1
        p.skipWhitespace()
        if p.i < bytes.count, bytes[p.i] == UInt8(ascii: "}") {
            p.i += 1
        } else {
            while true {
                p.skipWhitespace()
                guard p.i < bytes.count, bytes[p.i] == UInt8(ascii: "\"") else { throw Failure() }
                let keyStart = p.i
                var escaped: String? // decoded only when the key is not plain ASCII
                if try !p.skipString() {
                    let end = p.i
                    p.i = keyStart
                    escaped = try p.string()
                    p.i = end
                }
                let keyRange = keyStart + 1..<p.i - 1
                p.skipWhitespace()
                guard p.i < bytes.count, bytes[p.i] == UInt8(ascii: ":") else { throw Failure() }
                p.i += 1
                p.skipWhitespace()
                let start = p.i
                try p.skipValue()
                if var key = escaped {
                    try key.withUTF8 { try body(UnsafeRawBufferPointer($0), start..<p.i) }
                } else {
                    try body(UnsafeRawBufferPointer(rebasing: bytes[keyRange]), start..<p.i)
                }
                p.skipWhitespace()
                guard p.i < bytes.count else { throw Failure() }
                if bytes[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
                if bytes[p.i] == UInt8(ascii: "}") { p.i += 1; break }
                throw Failure()
            }
        }
        p.skipWhitespace()
        guard p.i == bytes.count else { throw Failure() }
    }

    /// Moves past one value, checking it as `value()` would, building nothing.
    private mutating func skipValue() throws {
        guard i < b.count else { throw Failure() }
        switch b[i] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = b[i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            depth += 1
            guard depth <= JSONParser.maxDepth else { throw Failure() }
            defer { depth -= 1 }
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == close { i += 1; return }
            while true {
                skipWhitespace()
                if isObject {
                    guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw Failure() }
                    try skipString()
                    skipWhitespace()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { throw Failure() }
                    i += 1
                    skipWhitespace()
                }
                try skipValue()
                skipWhitespace()
                guard i < b.count else { throw Failure() }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == close { i += 1; return }
                throw Failure()
            }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    /// Moves past a string; only strings with escapes or non-ASCII bytes are decoded to check them.
    /// Returns true when the string was plain ASCII with no escape: its bytes are its UTF-8.
    @discardableResult
    private mutating func skipString() throws -> Bool {
        var k = i + 1
        if k < b.count { k += sy_json_plain_run(b.baseAddress!.assumingMemoryBound(to: UInt8.self) + k, b.count - k) }
        if k < b.count, b[k] == UInt8(ascii: "\"") { i = k + 1; return true }
        _ = try string()
        return false
    }

    private mutating func skipWhitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value() throws -> JSONValue {
        guard i < b.count else { throw Failure() }
        switch b[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ s: StaticString) throws {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { throw Failure() }
        for k in 0..<n where b[i + k] != s.utf8Start[k] { throw Failure() }
        i += n
    }

    private mutating func object() throws -> JSONValue {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw Failure() }
        defer { depth -= 1 }
        i += 1
        var o: [String: JSONValue] = [:]
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
        while true {
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw Failure() }
            let key = try string()
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw Failure() }
            i += 1
            skipWhitespace()
            let v = try value()
            if o[key] == nil { o[key] = v } // the first of duplicate keys wins, as in the C scanner
            skipWhitespace()
            guard i < b.count else { throw Failure() }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            throw Failure()
        }
    }

    private mutating func array() throws -> JSONValue {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw Failure() }
        defer { depth -= 1 }
        i += 1
        var a: [JSONValue] = []
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
        while true {
            skipWhitespace()
            a.append(try value())
            skipWhitespace()
            guard i < b.count else { throw Failure() }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            throw Failure()
        }
    }

    private func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let a = hex(b[i]), let c = hex(b[i + 1]),
              let d = hex(b[i + 2]), let e = hex(b[i + 3]) else {
            throw Failure()
        }
        i += 4
        return a << 12 | c << 8 | d << 4 | e
    }

    private mutating func string() throws -> String {
        i += 1
        let start = i
        // Fast path: no escapes. ASCII needs no UTF-8 validation (which costs more than the scan).
        var ascii = true
        let base = b.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        while i < b.count {
            i += sy_json_plain_run(base! + i, b.count - i) // ASCII needing no escape, 8 bytes a step
            guard i < b.count else { break }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: b[start..<i])
                i += 1
                if ascii { return String(decoding: raw, as: UTF8.self) }
                guard let s = String(validating: raw, as: UTF8.self) else { throw Failure() }
                return s
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { break }
            ascii = false // a byte >= 0x80
            i += 1
        }
        var out = [UInt8](b[start..<i])
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw Failure() }
                return s
            }
            guard c >= 0x20 else { throw Failure() }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw Failure() }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by a low one.
                    guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw Failure()
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw Failure() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw Failure()
                }
                guard let u = Unicode.Scalar(scalar) else { throw Failure() }
                out += Array(String(Character(u)).utf8)
            default:
                throw Failure()
            }
        }
        throw Failure()
    }

    private mutating func number() throws -> Double {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { throw Failure() }
        if b[i] == UInt8(ascii: "0") { i += 1 } else {
            guard b[i] >= 0x31 && b[i] <= 0x39 else { throw Failure() }
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard i < b.count, b[i] >= 0x30 && b[i] <= 0x39 else { throw Failure() }
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, b[i] >= 0x30 && b[i] <= 0x39 else { throw Failure() }
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        guard let d = Double(text) else { throw Failure() }
        return d
    }
}
