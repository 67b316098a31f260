/// base64url without padding (RFC 4648 section 5): session ids, sealed `requestState`, list
/// cursors. Safe in headers and URLs.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Base64Coding.encode(bytes, alphabet: Base64Coding.url, pad: false)
    }

    /// The bytes, or nil for a character outside the alphabet (padding included), a length no
    /// encoding produces, or stray low bits in the last character: a value has one spelling,
    /// so a session id cannot be respelled past the revocation list.
    public static func decode(_ s: String) -> [UInt8]? {
        Base64Coding.decode(s, url: true)
    }
}

/// Standard base64 with padding (RFC 4648 section 4): MCP `data` and `blob` members and the
/// `=?base64?...?=` form of header values.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Base64Coding.encode(bytes, alphabet: Base64Coding.standard, pad: true)
    }

    /// The bytes, or nil unless `s` is the standard alphabet padded to a multiple of 4
    /// characters. Stray low bits are ignored, as most encoders' decoders do.
    public static func decode(_ s: String) -> [UInt8]? {
        Base64Coding.decode(s, url: false)
    }
}

/// The one codec behind both alphabets.
enum Base64Coding {
    static let url: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    static let standard: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    static let padding = UInt8(ascii: "=")

    static func encode(_ bytes: [UInt8], alphabet: StaticString, pad: Bool) -> String {
        let n = bytes.count, rest = n % 3
        let length = n / 3 * 4 + (rest == 0 ? 0 : pad ? 4 : rest + 1)
        let a = alphabet.utf8Start
        return bytes.withUnsafeBufferPointer { src in
            String(unsafeUninitializedCapacity: length) { out in
                var i = 0, o = 0
                while i + 3 <= n {
                    let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int(v >> 12 & 63)]
                    out[o + 2] = a[Int(v >> 6 & 63)]
                    out[o + 3] = a[Int(v & 63)]
                    i += 3
                    o += 4
                }
                if rest > 0 {
                    let v = UInt32(src[i]) << 16 | (rest == 2 ? UInt32(src[i + 1]) << 8 : 0)
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int(v >> 12 & 63)]
                    o += 2
                    if rest == 2 {
                        out[o] = a[Int(v >> 6 & 63)]
                        o += 1
                    }
                    while pad && o < length {
                        out[o] = padding
                        o += 1
                    }
                }
                return o
            }
        }
    }

    /// The six bits of an alphabet character; 0x100 (outside six bits) for any other byte.
    @inline(__always)
    static func sextet(_ c: UInt8, url: Bool) -> UInt32 {
        switch c {
        case 0x41...0x5A: return UInt32(c &- 0x41)
        case 0x61...0x7A: return UInt32(c &- 0x61) &+ 26
        case 0x30...0x39: return UInt32(c &- 0x30) &+ 52
        case 0x2D: return url ? 62 : 0x100 // -
        case 0x5F: return url ? 63 : 0x100 // _
        case 0x2B: return url ? 0x100 : 62 // +
        case 0x2F: return url ? 0x100 : 63 // /
        default: return 0x100
        }
    }

    static func decode(_ s: String, url: Bool) -> [UInt8]? {
        s.utf8.withContiguousStorageIfAvailable { decode($0, url: url) }
            ?? Array(s.utf8).withUnsafeBufferPointer { decode($0, url: url) }
    }

    /// url: no padding, canonical. Standard: padded to a multiple of 4 characters.
    static func decode(_ u: UnsafeBufferPointer<UInt8>, url: Bool) -> [UInt8]? {
        var n = u.count
        if !url {
            guard n % 4 == 0 else { return nil }
            // At most two `=`, at the end; one elsewhere is refused below as a non-alphabet byte.
            if n > 0 && u[n - 1] == padding { n -= 1 }
            if n > 0 && u[n - 1] == padding { n -= 1 }
        }
        let tail = n % 4
        guard tail != 1 else { return nil }
        let count = n / 4 * 3 + (tail == 0 ? 0 : tail - 1)
        var invalid: UInt32 = 0 // any 0x100 sextet sets the bit
        let out = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            var i = 0, o = 0
            while i + 4 <= n {
                let a = sextet(u[i], url: url), b = sextet(u[i + 1], url: url)
                let c = sextet(u[i + 2], url: url), d = sextet(u[i + 3], url: url)
                invalid |= a | b | c | d
                let v = a << 18 | b << 12 | c << 6 | d
                buf[o] = UInt8(truncatingIfNeeded: v >> 16)
                buf[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                buf[o + 2] = UInt8(truncatingIfNeeded: v)
                i += 4
                o += 3
            }
            if tail >= 2 {
                let a = sextet(u[i], url: url), b = sextet(u[i + 1], url: url)
                let c = tail == 3 ? sextet(u[i + 2], url: url) : 0
                invalid |= a | b | c
                let v = a << 18 | b << 12 | c << 6
                buf[o] = UInt8(truncatingIfNeeded: v >> 16)
                if tail == 3 { buf[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
                // Canonical: the bits below the last whole byte are zero.
                if url && v & (tail == 2 ? 0xFFFF : 0xFF) != 0 { invalid |= 0x100 }
            }
            initialized = count
        }
        return invalid & 0x100 == 0 ? out : nil
    }
}
