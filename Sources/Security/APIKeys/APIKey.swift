import MCPCore

/// API keys for machine clients: `sy_` followed by 43 base64url characters (256 random bits).
/// Only the SHA-256 of a key is ever stored; the key itself is shown once, when made.
public enum APIKey {
    public static let prefix = "sy_"
    /// 32 bytes in unpadded base64url.
    static let encodedLength = 43

    /// A fresh key from OpenSSL's CSPRNG; nil only if the CSPRNG fails.
    public static func generate() -> String? {
        Digest.randomBytes(32).map { prefix + Base64URL.encode($0) }
    }

    /// Whether `token` is meant as a key (its prefix; a JWT starts with `ey`): what routes a
    /// bearer credential to the key store rather than the JWT verifier, which then checks
    /// length and alphabet.
    public static func isKeyShaped(_ token: String) -> Bool { token.hasPrefix(prefix) }

    /// The 32 key bytes, or nil when `token` is no well-formed key.
    static func decode(_ token: String) -> [UInt8]? {
        guard token.hasPrefix(prefix), token.utf8.count == prefix.utf8.count + encodedLength else { return nil }
        guard let bytes = Base64URL.decode(String(token.dropFirst(prefix.count))), bytes.count == 32 else { return nil }
        return bytes
    }

    /// SHA-256 of the whole key string in lowercase hex: the keys file's `hash`.
    public static func hash(_ key: String) -> String { Digest.sha256Hex(key) }
}
