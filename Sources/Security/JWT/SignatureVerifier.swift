import COpenSSL

/// Checks one JWS signature with OpenSSL. Pure apart from OpenSSL; any thread.
enum SignatureVerifier {
    /// Whether `signature` over `input` verifies under `key` with `alg` (which the caller has
    /// matched to the key's type already).
    static func verify(_ alg: JWSAlgorithm, key: PublicKey, input: [UInt8], signature: [UInt8]) -> Bool {
        guard key.allows(alg) else { return false }
        var sig = signature
        if alg == .es256 {
            // JOSE sends r||s, 32 bytes each; OpenSSL verifies DER.
            guard let der = ECDSASignature.der(fromJOSE: signature, width: 32) else { return false }
            sig = der
        }
        // Ownership: the MD context is freed here; `pctx` belongs to it and goes with it.
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        let md = alg.digestName.flatMap(FetchedDigest.named)
        guard EVP_DigestVerifyInit(ctx, &pctx, md, nil, key.pkey) == 1 else {
            ERR_clear_error()
            return false
        }
        if alg == .ps256 {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 else {
                ERR_clear_error()
                return false
            }
        }
        let ok = EVP_DigestVerify(ctx, sig, sig.count, input, input.count) == 1
        // A failed verification leaves entries on this thread's error queue.
        if !ok { ERR_clear_error() }
        return ok
    }

    /// HMAC check against the shared secret, compared in constant time.
    static func verifyHMAC(_ alg: JWSAlgorithm, secret: [UInt8], input: [UInt8], signature: [UInt8]) -> Bool {
        guard let name = alg.digestName, alg.keyType == nil,
              let mac = input.withUnsafeBytes({ Digest.hmac(hash: name, key: secret, message: $0) }) else { return false }
        return Digest.constantTimeEqual(mac, signature)
    }
}

/// JOSE ECDSA signatures (RFC 7518 §3.4: r and s as fixed-width big-endian) to DER
/// (`SEQUENCE { INTEGER r, INTEGER s }`), the form OpenSSL verifies.
enum ECDSASignature {
    /// nil unless `jose` is exactly two `width`-byte integers. Widths up to 32 keep every
    /// length in DER's short form.
    static func der(fromJOSE jose: [UInt8], width: Int) -> [UInt8]? {
        guard width <= 32, jose.count == 2 * width else { return nil }
        let r = integer(jose[0..<width]), s = integer(jose[width...])
        return [0x30, UInt8(r.count + s.count)] + r + s
    }

    /// A DER INTEGER of the unsigned big-endian `bytes`: leading zeros dropped, one zero added
    /// when the top bit is set (DER integers are signed).
    static func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var value = Array(bytes.drop(while: { $0 == 0 }))
        if value.isEmpty { value = [0] }
        if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
        return [0x02, UInt8(value.count)] + value
    }
}
