/// SHA-256, HMAC-SHA256 and hex for the audit log and its tools: `Digest`'s (the pre-fetched
/// digest), public for the front's writer and `switchyard audit verify` (and the result
/// cache's keys).
public enum AuditDigest {
    /// SHA-256 of `bytes`: 32 bytes.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { Digest.sha256(bytes) }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { Digest.sha256($0) } }

    /// HMAC-SHA256 of `bytes` under `key`: 32 bytes.
    public static func hmacSHA256(key: [UInt8], _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Digest.hmac(hash: "SHA256", key: key, message: bytes)!
    }

    /// Lower-case hex.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String { Digest.hex(Array(bytes)) }
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
