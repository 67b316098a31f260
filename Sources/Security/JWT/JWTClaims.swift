import MCPCore

/// The registered claims of an access token checked against the configuration (RFC 7519 §4.1,
/// RFC 9068), and the principal they describe. Pure: the clock is a parameter.
struct JWTClaims {
    let issuer: String
    let audience: String
    /// Seconds of tolerance for clocks that disagree, applied to `exp`, `nbf` and `iat`.
    let clockSkew: UInt64

    func principal(from payload: [UInt8], now: UInt64) -> Result<Principal, JWTRejection> {
        guard case .object(let claims)? = try? JSONValue.parse(payload) else { return .failure(.malformed("claims JSON")) }
        // Times first: an expired token from the right issuer is the common case worth naming.
        guard let expValue = claims["exp"] else { return .failure(.missingClaim("exp")) }
        guard let exp = Self.numericDate(expValue) else { return .failure(.invalidClaim("exp")) }
        guard now < exp &+ clockSkew else { return .failure(.expired) }
        if let value = claims["nbf"] {
            guard let nbf = Self.numericDate(value) else { return .failure(.invalidClaim("nbf")) }
            guard nbf <= now &+ clockSkew else { return .failure(.notYetValid) }
        }
        if let value = claims["iat"] {
            guard let iat = Self.numericDate(value) else { return .failure(.invalidClaim("iat")) }
            guard iat <= now &+ clockSkew else { return .failure(.issuedInFuture) }
        }
        switch claims["iss"] {
        case nil: return .failure(.missingClaim("iss"))
        case .string(let iss)?: guard iss == issuer else { return .failure(.issuerMismatch) }
        default: return .failure(.invalidClaim("iss"))
        }
        switch claims["aud"] {
        case nil: return .failure(.missingClaim("aud"))
        case .string(let aud)?: guard aud == audience else { return .failure(.audienceMismatch) }
        case .array(let list)?:
            guard list.allSatisfy({ $0.stringValue != nil }) else { return .failure(.invalidClaim("aud")) }
            guard list.contains(.string(audience)) else { return .failure(.audienceMismatch) }
        default: return .failure(.invalidClaim("aud"))
        }
        guard let subValue = claims["sub"] else { return .failure(.missingClaim("sub")) }
        guard case .string(let sub) = subValue, !sub.isEmpty else { return .failure(.invalidClaim("sub")) }
        guard let scopes = Self.scopes(claims) else { return .failure(.invalidClaim("scope")) }
        var clientId: String?
        for name in ["client_id", "azp"] where clientId == nil {
            if let value = claims[name] {
                guard case .string(let s) = value else { return .failure(.invalidClaim(name)) }
                clientId = s
            }
        }
        return .success(Principal(subject: sub, clientId: clientId, scopes: scopes, method: .oauth, expiresAt: exp))
    }

    /// RFC 8693 `scope` (space-separated) or the `scp` array some servers send (a string
    /// there is read like `scope`); nil when the claim has the wrong type.
    static func scopes(_ claims: [String: JSONValue]) -> [String]? {
        func split(_ s: String) -> [String] { s.split(separator: " ").map(String.init) }
        if let value = claims["scope"] {
            guard case .string(let s) = value else { return nil }
            return split(s)
        }
        switch claims["scp"] {
        case nil: return []
        case .string(let s)?: return split(s)
        case .array(let list)?:
            let names = list.compactMap(\.stringValue)
            return names.count == list.count ? names : nil
        default: return nil
        }
    }

    /// A NumericDate (seconds since the epoch, fractions allowed) as whole seconds; nil for
    /// anything but a finite number in range.
    static func numericDate(_ value: JSONValue) -> UInt64? {
        guard case .number(let n) = value, n.isFinite, n >= 0, n < 1e15 else { return nil }
        return UInt64(n)
    }
}
