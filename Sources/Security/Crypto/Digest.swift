import COpenSSL

/// SHA-256 and HMAC through OpenSSL, and the constant-time comparison every secret check uses.
enum Digest {
    /// SHA-256 of `bytes` (32 bytes).
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            // EVP_Digest with the pre-fetched digest: SHA256() would fetch it again each call.
            var length: UInt32 = 0
            let ok = EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, FetchedDigest.sha256, nil)
            precondition(ok == 1 && length == 32, "SHA-256 failed")
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
        guard let md = FetchedDigest.named(hash) else { return nil }
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

/// SHA-2 digests fetched from the default provider once. OpenSSL 3 resolves a digest named by
/// `EVP_get_digestbyname` again on every use (an "implicit fetch", with locks); a fetched one
/// skips that.
/// Ownership: fetched once per process and never freed (EVP_MD_free would only drop the count).
enum FetchedDigest {
    nonisolated(unsafe) static let sha256 = EVP_MD_fetch(nil, "SHA256", nil)
    nonisolated(unsafe) static let sha384 = EVP_MD_fetch(nil, "SHA384", nil)
    nonisolated(unsafe) static let sha512 = EVP_MD_fetch(nil, "SHA512", nil)

    static func named(_ name: String) -> OpaquePointer? {
        switch name {
        case "SHA256": return sha256
        case "SHA384": return sha384
        case "SHA512": return sha512
        default: return nil
        }
    }
}
