import COpenSSL

/// SHA-256 and HMAC-SHA256 for the audit log (OpenSSL), and the hex form it writes.
public enum AuditDigest {
    /// SHA-256 of `bytes`: 32 bytes.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { o in
            _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, o.baseAddress)
        }
        return out
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { sha256($0) } }

    /// HMAC-SHA256 of `bytes` under `key`: 32 bytes.
    public static func hmacSHA256(key: [UInt8], _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        key.withUnsafeBufferPointer { k in
            out.withUnsafeMutableBufferPointer { o in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                         bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, o.baseAddress, &length)
            }
        }
        return out
    }

    /// Lower-case hex.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The only form in which a call's arguments reach the audit log: HMAC-SHA256 of their bytes
/// under a server key, truncated to 128 bits. Keyed, so a reader of the log cannot confirm a
/// guessed low-entropy value (a PIN, a short password) by hashing it; equal arguments under
/// one key give equal digests, which is what an investigation needs.
public struct ArgumentsDigest: Sendable, Equatable {
    /// 32 hex digits.
    public let hex: String

    public init(arguments: UnsafeRawBufferPointer, key: [UInt8]) {
        hex = AuditDigest.hex(AuditDigest.hmacSHA256(key: key, arguments).prefix(16))
    }

    public init(arguments: [UInt8], key: [UInt8]) {
        self = arguments.withUnsafeBytes { ArgumentsDigest(arguments: $0, key: key) }
    }
}
