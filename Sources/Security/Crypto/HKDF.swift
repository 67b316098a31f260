/// HKDF with SHA-256 (RFC 5869), built on the HMAC of `Digest`: derives keys of their own for
/// each use of one server secret, so no two uses share a key.
public enum HKDF {
    /// `length` bytes (at most 255 × 32) of output keying material from `secret`, under `salt`
    /// and `info` (the label that makes each derived key distinct).
    public static func sha256(secret: [UInt8], salt: [UInt8] = [], info: [UInt8], length: Int) -> [UInt8] {
        precondition(length > 0 && length <= 255 * 32, "HKDF-SHA256 gives 1...8160 bytes")
        // Extract: an empty salt stands for 32 zero bytes (RFC 5869 §2.2).
        let prk = mac(key: salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt, secret)
        // Expand: T(i) = HMAC(PRK, T(i-1) | info | i).
        var out: [UInt8] = []
        out.reserveCapacity(length + 32)
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while out.count < length {
            block = mac(key: prk, block + info + [counter])
            out += block
            counter &+= 1
        }
        return Array(out[0..<length])
    }

    private static func mac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        // SHA256 is always there: a failure here is a broken OpenSSL, not an input.
        guard let m = message.withUnsafeBytes({ Digest.hmac(hash: "SHA256", key: key, message: $0) }) else {
            preconditionFailure("HMAC-SHA256 failed")
        }
        return m
    }
}
