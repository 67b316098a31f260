/// The JWS `alg` values a token may carry. Anything else (`none`, RS384, ES512, ...) is refused
/// before any key is touched.
public enum JWSAlgorithm: String, Sendable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt as long as the hash (RFC 7518 §3.5).
    case ps256 = "PS256"
    /// ECDSA on P-256 with SHA-256, signature as JOSE's fixed-width r||s.
    case es256 = "ES256"
    /// Ed25519 (RFC 8037).
    case edDSA = "EdDSA"
    /// HMAC with SHA-2: only with a configured shared secret, never with a JWKS key.
    case hs256 = "HS256"
    case hs384 = "HS384"
    case hs512 = "HS512"

    /// The kind of public key that verifies this algorithm; nil for HMAC, which takes the
    /// shared secret and nothing else (the classic confusion: an RSA public key as HMAC key).
    public var keyType: PublicKey.KeyType? {
        switch self {
        case .rs256, .ps256: return .rsa
        case .es256: return .ecP256
        case .edDSA: return .ed25519
        case .hs256, .hs384, .hs512: return nil
        }
    }

    /// OpenSSL's digest name: the HMAC hash, or the hash signed by RSA and ECDSA; nil for
    /// Ed25519, which hashes internally.
    var digestName: String? {
        switch self {
        case .rs256, .ps256, .es256, .hs256: return "SHA256"
        case .hs384: return "SHA384"
        case .hs512: return "SHA512"
        case .edDSA: return nil
        }
    }

    /// The shortest HMAC key RFC 7518 §3.2 allows: as long as the hash output.
    var minimumSecretLength: Int {
        switch self {
        case .hs384: return 48
        case .hs512: return 64
        default: return 32
        }
    }
}
