import MCPCore

/// A compact JWS (`header.payload.signature`, RFC 7515 §7.1) taken apart: the decoded header
/// members that matter here, the raw payload and the bytes the signature covers. No check of
/// the signature or the claims happens here.
struct CompactJWS {
    /// The header's `alg`, as written (the verifier decides whether it is allowed).
    let algorithmName: String
    let keyID: String?
    /// The decoded payload bytes (a JWT's claims set, for the RFC examples also plain text).
    let payload: [UInt8]
    /// ASCII `header.payload`, what the signature covers.
    let signingInput: [UInt8]
    let signature: [UInt8]

    /// Longer tokens are refused before any decoding: real access tokens are a few KB.
    static let maxLength = 16 * 1024

    static func parse(_ token: String) -> Result<CompactJWS, JWTRejection> {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxLength else { return .failure(.tooLarge) }
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else { return .failure(.malformed("segments")) }
        let headerText = String(decoding: bytes[..<dots[0]], as: UTF8.self)
        let payloadText = String(decoding: bytes[(dots[0] + 1)..<dots[1]], as: UTF8.self)
        let signatureText = String(decoding: bytes[(dots[1] + 1)...], as: UTF8.self)
        guard !headerText.isEmpty, let headerBytes = Base64URL.decode(headerText) else {
            return .failure(.malformed("header encoding"))
        }
        guard let payload = Base64URL.decode(payloadText) else { return .failure(.malformed("payload encoding")) }
        guard let signature = Base64URL.decode(signatureText) else { return .failure(.malformed("signature encoding")) }
        guard case .object(let header)? = try? JSONValue.parse(headerBytes) else {
            return .failure(.malformed("header JSON"))
        }
        guard case .string(let alg)? = header["alg"] else { return .failure(.malformed("alg")) }
        var keyID: String?
        switch header["kid"] {
        case nil: keyID = nil
        case .string(let kid)?: keyID = kid
        default: return .failure(.malformed("kid"))
        }
        // RFC 7515 §4.1.11: a recipient must refuse critical extensions it does not understand,
        // and it understands none. `jku`, `jwk`, `x5u`, `x5c` are ignored: keys come only from
        // the configured JWKS, never from the token.
        if header["crit"] != nil { return .failure(.unsupportedCriticalHeader) }
        return .success(CompactJWS(algorithmName: alg, keyID: keyID, payload: payload,
                                   signingInput: Array(bytes[..<dots[1]]), signature: signature))
    }
}
