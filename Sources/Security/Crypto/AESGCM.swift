import COpenSSL

/// AES-256-GCM through OpenSSL's EVP interface: authenticated encryption of values kept
/// outside the process (tool results in Redis). A sealed box is `nonce (12) | ciphertext |
/// tag (16)`; the nonce is random per seal, the associated data binds a box to where it is
/// kept (a box moved under another key does not open).
/// Thread: any; a key holds no OpenSSL state between calls.
public struct AESGCMKey: Sendable {
    public static let nonceBytes = 12
    public static let tagBytes = 16
    /// Bytes a sealed box adds to its plaintext.
    public static let overhead = nonceBytes + tagBytes

    private let key: [UInt8]

    /// nil unless `bytes` is 32 bytes long.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        key = bytes
    }

    /// The plaintext sealed under this key with `associatedData`; nil only if OpenSSL fails
    /// (no random bytes), never a box that would not open.
    public func seal(_ plaintext: UnsafeRawBufferPointer, associatedData: [UInt8]) -> [UInt8]? {
        guard let nonce = Digest.randomBytes(Self.nonceBytes), let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: Self.nonceBytes + plaintext.count + Self.tagBytes)
        let ok = out.withUnsafeMutableBufferPointer { o -> Bool in
            let base = o.baseAddress!
            var n: Int32 = 0
            var total: Int32 = 0
            for i in 0..<Self.nonceBytes { base[i] = nonce[i] }
            guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceBytes), nil) == 1,
                  EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1,
                  associatedData.isEmpty || EVP_EncryptUpdate(ctx, nil, &n, associatedData,
                                                              Int32(associatedData.count)) == 1 else { return false }
            let body = base + Self.nonceBytes
            if plaintext.count > 0 {
                guard EVP_EncryptUpdate(ctx, body, &n, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                        Int32(plaintext.count)) == 1 else { return false }
                total = n
            }
            guard EVP_EncryptFinal_ex(ctx, body + Int(total), &n) == 1 else { return false }
            total += n
            return Int(total) == plaintext.count
                && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), body + Int(total)) == 1
        }
        return ok ? out : nil
    }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        plaintext.withUnsafeBytes { seal($0, associatedData: associatedData) }
    }

    /// The plaintext of a box sealed under this key with the same associated data; nil when the
    /// box is too short, was altered, or was sealed under another key or associated data.
    public func open(_ box: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        guard box.count >= Self.overhead, box.count - Self.overhead < Int(Int32.max),
              let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let length = box.count - Self.overhead
        var out = [UInt8](repeating: 0, count: length)
        let ok = box.withUnsafeBufferPointer { b -> Bool in
            out.withUnsafeMutableBufferPointer { o -> Bool in
                let nonce = b.baseAddress!
                let body = nonce + Self.nonceBytes
                var tag = Array(b[(Self.nonceBytes + length)...])
                var n: Int32 = 0
                guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
                      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceBytes), nil) == 1,
                      EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1,
                      associatedData.isEmpty || EVP_DecryptUpdate(ctx, nil, &n, associatedData,
                                                                  Int32(associatedData.count)) == 1 else { return false }
                var total: Int32 = 0
                if length > 0 {
                    guard EVP_DecryptUpdate(ctx, o.baseAddress, &n, body, Int32(length)) == 1 else { return false }
                    total = n
                }
                guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), &tag) == 1 else {
                    return false
                }
                // The tag is checked here: a final step that fails means the box was altered.
                var scratch = [UInt8](repeating: 0, count: 16)
                let final = length > 0 ? EVP_DecryptFinal_ex(ctx, o.baseAddress! + Int(total), &n)
                                       : EVP_DecryptFinal_ex(ctx, &scratch, &n)
                return final == 1 && Int(total + n) == length
            }
        }
        return ok ? out : nil
    }
}
