import COpenSSL

/// SHA-256 and HMAC through OpenSSL, and the constant-time comparison every secret check uses.
enum Digest {
    /// SHA-256 of `bytes` (32 bytes).
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, out.baseAddress)
            count = 32
        }
    }

    static func sha256(_ s: String) -> [UInt8] {
        var s = s
        return s.withUTF8 { sha256(UnsafeRawBufferPointer($0)) }
    }

    /// Lowercase hex of SHA-256 (the API keys file's `hash`).
    static func sha256Hex(_ s: String) -> String { hex(sha256(s)) }

    /// HMAC of `message` under `key` with the digest named by `hash` ("SHA256", "SHA384", "SHA512");
    /// nil when OpenSSL refuses (unknown digest).
    static func hmac(hash: String, key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let md = EVP_get_digestbyname(hash) else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            HMAC(md, k.baseAddress, Int32(k.count), message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                 message.count, &out, &length) != nil
        }
        return ok ? Array(out[0..<Int(length)]) : nil
    }

    /// Equal length and equal bytes, in time that depends on the length only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` bytes from OpenSSL's CSPRNG; nil if it failed (never silently weak).
    static func randomBytes(_ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        return RAND_bytes(&out, Int32(count)) == 1 ? out : nil
    }
}
