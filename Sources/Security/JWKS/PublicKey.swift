import COpenSSL

/// One verification key from a JWK Set, as an OpenSSL `EVP_PKEY`.
///
/// Ownership: `pkey` is created by `JWK.publicKey` (EVP_PKEY_fromdata or
/// EVP_PKEY_new_raw_public_key), owned by this object alone and freed in `deinit`.
/// Thread: immutable after creation; OpenSSL 3 allows concurrent verifications with one
/// EVP_PKEY, so a key may be used from any thread.
public final class PublicKey: @unchecked Sendable {
    public enum KeyType: String, Sendable {
        case rsa = "RSA"
        case ecP256 = "EC P-256"
        case ed25519 = "Ed25519"
    }

    public let type: KeyType
    /// The JWK's `kid`.
    public let keyID: String?
    /// The JWK's `alg`: when present, the key verifies that algorithm only.
    public let algorithm: JWSAlgorithm?
    let pkey: OpaquePointer

    /// Takes ownership of `pkey`.
    init(type: KeyType, keyID: String?, algorithm: JWSAlgorithm?, pkey: OpaquePointer) {
        self.type = type
        self.keyID = keyID
        self.algorithm = algorithm
        self.pkey = pkey
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Whether this key may verify `alg`: the key type must be the algorithm's, and a key's
    /// own `alg` restricts it further (an RSA key marked RS256 does not verify PS256).
    public func allows(_ alg: JWSAlgorithm) -> Bool {
        guard alg.keyType == type else { return false }
        return algorithm == nil || algorithm == alg
    }
}
