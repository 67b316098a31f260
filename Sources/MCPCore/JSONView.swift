import CSupport
import Glibc

/// A JSON value read where it lies, in bytes a `FrameBytes` keeps alive: a tool's arguments in
/// the CALL frame they arrived in. Nothing is copied or decoded until asked for: `self["key"]`
/// finds a member from the object's member table (made by the one validating scan that made the
/// view), `withStringBytes` hands over a string's UTF-8 without a copy when it has no escapes,
/// and `string`, `number` or `decoded` decode only the value they are asked about.
///
/// Ownership: holds its `FrameBytes` strongly, so the bytes stay valid as long as any view of
/// them exists, whatever thread it moves to; raw pointers are lent only inside closures.
/// Thread: any (immutable).
public struct JSONView: Sendable {
    public enum Kind: Sendable, Equatable { case null, bool, number, string, array, object }

    /// Why bytes do not make a view.
    public enum Failure: Error, Equatable, Sendable {
        /// Not one JSON text in valid UTF-8.
        case invalidJSON
        /// Valid JSON, but not an object where one is required.
        case notAnObject
    }

    /// The bytes this view reads; the value is `range` of them.
    public let bytes: FrameBytes
    /// The value's JSON text within `bytes` (a string's with its quotes).
    public let range: Range<Int>
    public let kind: Kind
    /// A string with backslash escapes (its text is not its bytes).
    let escaped: Bool
    /// An object's members in order, offsets within `bytes` (nil for other kinds).
    private let members: [sy_json_member_t]?

    /// Validates `bytes[range]` (all of them when nil) as one JSON text and views it; an object's
    /// member table is made in the same pass. Throws `.invalidJSON` when it is not valid JSON.
    public init(_ bytes: FrameBytes, range: Range<Int>? = nil) throws(Failure) {
        let r = range ?? 0..<bytes.count
        precondition(r.lowerBound >= 0 && r.upperBound <= bytes.count)
        var top: Int32 = 0
        var table = [sy_json_member_t](repeating: sy_json_member_t(), count: 8)
        let whole = bytes.unsafeBytes
        let text = UnsafeRawBufferPointer(rebasing: whole[r])
        let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        var n = table.withUnsafeMutableBufferPointer { sy_json_object_members(base, text.count, $0.baseAddress, 8, &top) }
        if n > 8 {
            table = [sy_json_member_t](repeating: sy_json_member_t(), count: Int(n))
            n = table.withUnsafeMutableBufferPointer { sy_json_object_members(base, text.count, $0.baseAddress, Int(n), &top) }
        }
        guard n >= 0 else { throw .invalidJSON }
        // The value without surrounding whitespace.
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, JSONView.isSpace(whole[lo]) { lo += 1 }
        while hi > lo, JSONView.isSpace(whole[hi - 1]) { hi -= 1 }
        self.bytes = bytes
        self.range = lo..<hi
        switch top {
        case Int32(SY_JSON_OBJECT):
            kind = .object
            escaped = false
            let shift = UInt32(r.lowerBound)
            table.removeLast(table.count - Int(n))
            if shift != 0 {
                for i in table.indices {
                    table[i].key.span.off += shift
                    table[i].value.span.off += shift
                }
            }
            members = table
        case Int32(SY_JSON_STRING):
            kind = .string
            // Escaped when a backslash lies between the quotes (checked once, here).
            escaped = whole[lo + 1..<hi - 1].contains(UInt8(ascii: "\\"))
            members = nil
        default:
            kind = JSONView.kind(top)
            escaped = false
            members = nil
        }
    }

    /// The object `bytes[range]`; `.notAnObject` for any other valid JSON.
    public static func object(_ bytes: FrameBytes, range: Range<Int>? = nil) throws(Failure) -> JSONView {
        let v = try JSONView(bytes, range: range)
        guard v.kind == .object else { throw .notAnObject }
        return v
    }

    /// A member of an already validated text: no second scan unless it is an object.
    private init(member v: sy_json_value_t, of parent: JSONView) {
        let lo = Int(v.span.off), hi = lo + Int(v.span.len)
        if v.kind == Int32(SY_JSON_OBJECT), let sub = try? JSONView(parent.bytes, range: lo..<hi) {
            self = sub
            return
        }
        bytes = parent.bytes
        kind = JSONView.kind(v.kind)
        // The scanner spans a string's contents; a view spans its literal, quotes included.
        range = kind == .string ? lo - 1..<hi + 1 : lo..<hi
        escaped = v.escaped != 0
        members = nil
    }

    private static func kind(_ k: Int32) -> Kind {
        switch k {
        case Int32(SY_JSON_NULL): return .null
        case Int32(SY_JSON_BOOL): return .bool
        case Int32(SY_JSON_NUMBER): return .number
        case Int32(SY_JSON_STRING): return .string
        case Int32(SY_JSON_ARRAY): return .array
        default: return .object
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    // MARK: objects

    /// An object's member `key` (the first of duplicates, as `JSONValue.parse` takes it); nil
    /// when absent or when this is not an object.
    public subscript(key: String) -> JSONView? {
        guard let members else { return nil }
        var k = key
        return k.withUTF8 { want -> JSONView? in
            for m in members where keyMatches(m.key, UnsafeRawBufferPointer(want)) {
                return JSONView(member: m.value, of: self)
            }
            return nil
        }
    }

    /// An object's member names, in order, each once.
    public var keys: [String] {
        var out: [String] = []
        forEachMember { k, _ in out.append(k) }
        return out
    }

    /// Calls `body` with each member of an object (the first of duplicates only), in order.
    public func forEachMember(_ body: (String, JSONView) throws -> Void) rethrows {
        guard let members else { return }
        if members.count > JSONView.pairwiseLimit {
            var seen = Set<String>()
            for m in members {
                let k = keyString(m.key)
                if seen.insert(k).inserted { try body(k, JSONView(member: m.value, of: self)) }
            }
            return
        }
        for (i, m) in members.enumerated() where !isRepeated(i, members) {
            try body(keyString(m.key), JSONView(member: m.value, of: self))
        }
    }

    /// Objects with more members than this find duplicates by hashing (linear) instead of
    /// comparing each key with the ones before it (quadratic).
    static let pairwiseLimit = 32

    /// Whether member `i`'s key appeared before it (arguments have a handful of members: a
    /// comparison with each earlier key costs less than hashing them all).
    private func isRepeated(_ i: Int, _ members: [sy_json_member_t]) -> Bool {
        let key = members[i].key
        for j in 0..<i {
            let other = members[j].key
            if key.escaped == 0 && other.escaped == 0 {
                if key.span.len == other.span.len, bytes.withUnsafeBytes({ b in
                    memcmp(b.baseAddress! + Int(key.span.off), b.baseAddress! + Int(other.span.off), Int(key.span.len)) == 0
                }) { return true }
            } else if keyString(key) == keyString(other) {
                return true
            }
        }
        return false
    }

    /// How many members an object has (duplicates counted once); 0 for other kinds.
    public var memberCount: Int { keys.count }

    private func keyMatches(_ key: sy_json_value_t, _ want: UnsafeRawBufferPointer) -> Bool {
        if key.escaped != 0 { return keyString(key).utf8.elementsEqual(want) }
        guard Int(key.span.len) == want.count else { return false }
        let b = bytes.unsafeBytes
        return withExtendedLifetime(bytes) {
            want.count == 0 || memcmp(b.baseAddress! + Int(key.span.off), want.baseAddress!, want.count) == 0
        }
    }

    private func keyString(_ key: sy_json_value_t) -> String {
        let lo = Int(key.span.off), hi = lo + Int(key.span.len)
        return bytes.withUnsafeBytes { b in
            let literal = UnsafeRawBufferPointer(rebasing: b[lo - 1..<hi + 1])
            return key.escaped != 0 ? (JSONValue.parseString(literal) ?? "")
                                    : String(decoding: UnsafeRawBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self)
        }
    }

    // MARK: values

    /// The value's JSON text (a string's literal with its quotes and escapes), valid during `body`.
    /// It is valid JSON (the view was validated) and may be copied into another JSON text as is.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try bytes.withUnsafeBytes { (b) throws(E) -> R in try body(UnsafeRawBufferPointer(rebasing: b[range])) }
    }

    /// A string's UTF-8 text, valid during `body`: the frame's own bytes when the string has no
    /// escapes (no copy), else decoded into a temporary. nil when this is not a string.
    public func withStringBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R? {
        guard kind == .string else { return nil }
        if !escaped {
            return try bytes.withUnsafeBytes { (b) throws(E) -> R in
                try body(UnsafeRawBufferPointer(rebasing: b[range.lowerBound + 1..<range.upperBound - 1]))
            }
        }
        guard var s = string else { return nil }
        // String.withUTF8 rethrows untyped errors: carry the typed one out in a Result.
        let r: Result<R, E> = s.withUTF8 { u in
            do throws(E) { return .success(try body(UnsafeRawBufferPointer(u))) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Whether a string has no escapes, so that `withStringBytes` lends the frame's own bytes.
    public var isPlainString: Bool { kind == .string && !escaped }

    /// A string's text, decoded (one copy); nil for other kinds.
    public var string: String? {
        guard kind == .string else { return nil }
        return bytes.withUnsafeBytes { b in
            if !escaped {
                return String(decoding: UnsafeRawBufferPointer(rebasing: b[range.lowerBound + 1..<range.upperBound - 1]),
                              as: UTF8.self)
            }
            return JSONValue.parseString(UnsafeRawBufferPointer(rebasing: b[range]))
        }
    }

    /// A number's value; nil for other kinds.
    public var number: Double? {
        guard kind == .number else { return nil }
        return bytes.withUnsafeBytes { b in
            Double(String(decoding: UnsafeRawBufferPointer(rebasing: b[range]), as: UTF8.self))
        }
    }

    /// A boolean's value; nil for other kinds.
    public var bool: Bool? {
        guard kind == .bool else { return nil }
        return range.count == 4
    }

    /// The whole value decoded into a tree (what `JSONValue.parse` of its text gives).
    public var decoded: JSONValue {
        // The text was validated when the view was made: this cannot fail.
        (try? withUnsafeBytes { try JSONValue.parse($0) }) ?? .null
    }
}
