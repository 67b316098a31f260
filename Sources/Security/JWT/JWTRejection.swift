/// Why a JWT was refused, one case per check so tests and logs can tell them apart. Every
/// case maps to `invalid_token` (RFC 6750 §3.1); none carries any part of the token.
public enum JWTRejection: Error, Sendable, Equatable {
    case tooLarge
    /// Not three base64url segments, a header or payload that is not a JSON object, a
    /// header member of the wrong type. The associated text says which part.
    case malformed(String)
    /// `none`, an unsupported algorithm, or HMAC without a configured shared secret.
    case algorithmNotAllowed
    /// The header lists a critical extension (`crit`); none is understood here.
    case unsupportedCriticalHeader
    /// The `kid` is in no key of the current set (starts a JWKS refetch).
    case unknownKeyID
    /// The key named by `kid` cannot verify the token's algorithm (alg confusion).
    case keyTypeMismatch
    /// No `kid` and no key of the algorithm's type.
    case noKeyForAlgorithm
    case badSignature
    case expired
    case notYetValid
    case issuedInFuture
    case issuerMismatch
    case audienceMismatch
    /// A required claim (`exp`, `sub`, `iss`, `aud`) is absent.
    case missingClaim(String)
    /// A claim of the wrong JSON type or out of range.
    case invalidClaim(String)

    /// The short reason for the challenge's `error_description` and the audit log.
    public var reason: String {
        switch self {
        case .tooLarge: return "token too large"
        case .malformed(let part): return "malformed token (\(part))"
        case .algorithmNotAllowed: return "algorithm not allowed"
        case .unsupportedCriticalHeader: return "unsupported critical header"
        case .unknownKeyID: return "unknown key id"
        case .keyTypeMismatch: return "key type does not match algorithm"
        case .noKeyForAlgorithm: return "no key for algorithm"
        case .badSignature: return "signature invalid"
        case .expired: return "token expired"
        case .notYetValid: return "token not yet valid"
        case .issuedInFuture: return "token issued in the future"
        case .issuerMismatch: return "issuer mismatch"
        case .audienceMismatch: return "audience mismatch"
        case .missingClaim(let name): return "missing \(name) claim"
        case .invalidClaim(let name): return "invalid \(name) claim"
        }
    }

    public var failure: AuthFailure { AuthFailure(.invalidToken, reason) }
}
