/// Verifies a JWT access token completely: structure, algorithm, key, signature, then claims.
/// Holds no keys itself: the current `JWKSet` is passed in, so a rotation never races a
/// verification. Pure apart from OpenSSL; any thread.
public struct JWTVerifier: Sendable {
    /// The exact `iss` required.
    public let issuer: String
    /// The value `aud` must be or contain.
    public let audience: String
    public let clockSkew: UInt64
    /// The HMAC key; without it HS256/384/512 are refused.
    let sharedSecret: SharedSecret?

    public init(issuer: String, audience: String, clockSkew: UInt64 = 60, sharedSecret: SharedSecret? = nil) {
        self.issuer = issuer
        self.audience = audience
        self.clockSkew = clockSkew
        self.sharedSecret = sharedSecret
    }

    public func verify(_ token: String, keys: JWKSet, now: UInt64) -> Result<Principal, JWTRejection> {
        let jws: CompactJWS
        switch CompactJWS.parse(token) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let parsed): jws = parsed
        }
        switch verifySignature(jws, keys: keys) {
        case .failure(let rejection): return .failure(rejection)
        case .success: break
        }
        return JWTClaims(issuer: issuer, audience: audience, clockSkew: clockSkew).principal(from: jws.payload, now: now)
    }

    /// The signature check alone (the RFC examples sign payloads that are no claims set).
    func verifySignature(_ jws: CompactJWS, keys: JWKSet) -> Result<Void, JWTRejection> {
        guard let alg = JWSAlgorithm(rawValue: jws.algorithmName) else { return .failure(.algorithmNotAllowed) }
        if alg.keyType == nil {
            guard let secret = sharedSecret, secret.count >= alg.minimumSecretLength else {
                return .failure(.algorithmNotAllowed)
            }
            let ok = SignatureVerifier.verifyHMAC(alg, secret: secret.bytes, input: jws.signingInput, signature: jws.signature)
            return ok ? .success(()) : .failure(.badSignature)
        }
        switch keys.candidates(keyID: jws.keyID, algorithm: alg) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let candidates):
            for key in candidates
            where SignatureVerifier.verify(alg, key: key, input: jws.signingInput, signature: jws.signature) {
                return .success(())
            }
            return .failure(.badSignature)
        }
    }
}
