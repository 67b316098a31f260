import CSupport
import MCPCore

/// Reads a JSON instance where it lies, building nothing: finds where each value ends, steps
/// through an object's members and an array's elements, and decodes a scalar only when a
/// keyword needs it. Every index is bounds-checked, so bytes that are not JSON give a
/// violation, never a crash (the front passes bytes its envelope scan already validated).
struct InstanceBytes {
    let b: UnsafeRawBufferPointer

    @inline(__always)
    func skipSpace(_ i: inout Int, _ end: Int) {
        while i < end {
            let c = b[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// From the opening quote to past the closing one. `plain`: no escape and only ASCII, so
    /// the bytes between the quotes are the string itself.
    @inline(__always)
    func skipString(_ i: inout Int, _ end: Int) -> (ok: Bool, plain: Bool) {
        var k = i + 1
        var plain = true
        let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
        while k < end {
            k += sy_json_plain_run(base + k, end - k)
            guard k < end else { break }
            let c = b[k]
            if c == 0x22 { i = k + 1; return (true, plain) }
            plain = false
            k += c == 0x5C ? 2 : 1
        }
        return (false, false)
    }

    /// Past one value starting at `i` (no leading space); false when the bytes end first.
    func skipValue(_ i: inout Int, _ end: Int) -> Bool {
        guard i < end else { return false }
        switch b[i] {
        case 0x22:
            return skipString(&i, end).ok
        case 0x7B, 0x5B:
            var depth = 0
            while i < end {
                switch b[i] {
                case 0x22:
                    guard skipString(&i, end).ok else { return false }
                    continue
                case 0x7B, 0x5B: depth += 1
                case 0x7D, 0x5D:
                    depth -= 1
                    if depth == 0 { i += 1; return true }
                default: break
                }
                i += 1
            }
            return false
        default:
            let start = i
            while i < end {
                let c = b[i]
                if c == 0x2C || c == 0x7D || c == 0x5D || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { break }
                i += 1
            }
            return i > start
        }
    }

    /// The number in `range`, as JSON numbers are read everywhere here (a Double).
    func number(_ range: Range<Int>) -> Double? {
        return Double(String(decoding: UnsafeRawBufferPointer(rebasing: b[range]), as: UTF8.self))
    }

    /// The string in `range` (quotes included), decoded; nil when it is not a valid JSON string.
    func string(_ range: Range<Int>, plain: Bool) -> String? {
        if plain {
            return String(decoding: UnsafeRawBufferPointer(rebasing: b[range.lowerBound + 1..<range.upperBound - 1]),
                          as: UTF8.self)
        }
        return JSONValue.parseString(UnsafeRawBufferPointer(rebasing: b[range]))
    }

    /// The value in `range`, decoded (for `enum`, `const`, `uniqueItems`).
    func value(_ range: Range<Int>) -> JSONValue? {
        try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: b[range]))
    }

    /// One member of an object: where its name's bytes lie (between the quotes) and its value.
    struct Member {
        var key: Range<Int>
        /// The name has an escape or non-ASCII bytes: decode it before comparing.
        var keyPlain: Bool
        var value: Range<Int>
    }

    /// Steps through the members of the object in `range`. `failed` is set when the bytes are
    /// not an object.
    struct Members {
        let bytes: InstanceBytes
        var i: Int
        let end: Int
        var failed = false
        private var done = false

        init(_ bytes: InstanceBytes, _ range: Range<Int>) {
            self.bytes = bytes
            i = range.lowerBound + 1
            end = range.upperBound
            bytes.skipSpace(&i, end)
            if i < end, bytes.b[i] == 0x7D { done = true }
        }

        mutating func next() -> Member? {
            guard !done, !failed else { return nil }
            let b = bytes.b
            bytes.skipSpace(&i, end)
            guard i < end, b[i] == 0x22 else { failed = true; return nil }
            let keyStart = i
            let (ok, plain) = bytes.skipString(&i, end)
            guard ok else { failed = true; return nil }
            let key = keyStart + 1..<i - 1
            bytes.skipSpace(&i, end)
            guard i < end, b[i] == 0x3A else { failed = true; return nil }
            i += 1
            bytes.skipSpace(&i, end)
            let valueStart = i
            guard bytes.skipValue(&i, end) else { failed = true; return nil }
            let member = Member(key: key, keyPlain: plain, value: valueStart..<i)
            bytes.skipSpace(&i, end)
            guard i < end else { failed = true; return nil }
            if b[i] == 0x2C { i += 1 } else if b[i] == 0x7D { done = true } else { failed = true; return nil }
            return member
        }
    }

    /// Steps through the elements of the array in `range`.
    struct Elements {
        let bytes: InstanceBytes
        var i: Int
        let end: Int
        var failed = false
        private var done = false

        init(_ bytes: InstanceBytes, _ range: Range<Int>) {
            self.bytes = bytes
            i = range.lowerBound + 1
            end = range.upperBound
            bytes.skipSpace(&i, end)
            if i < end, bytes.b[i] == 0x5D { done = true }
        }

        mutating func next() -> Range<Int>? {
            guard !done, !failed else { return nil }
            bytes.skipSpace(&i, end)
            let start = i
            guard bytes.skipValue(&i, end) else { failed = true; return nil }
            let element = start..<i
            bytes.skipSpace(&i, end)
            guard i < end else { failed = true; return nil }
            switch bytes.b[i] {
            case 0x2C: i += 1
            case 0x5D: done = true
            default: failed = true; return nil
            }
            return element
        }
    }
}
