import COpenSSL
import Glibc
import MCPCore

/// Turns one JWK (RFC 7517) into a `PublicKey`: RSA (`n`, `e`, at least 2048 bits), EC P-256
/// (`x`, `y`, a point on the curve) and OKP Ed25519 (`x`). Private members are ignored; a key
/// for encryption (`use: enc`) or of another type is skipped with a reason.
enum JWK {
    /// The key, or why it was skipped (for the log; never key material).
    static func publicKey(_ jwk: [String: JSONValue]) -> Result<PublicKey, JWKSkip> {
        guard case .string(let kty)? = jwk["kty"] else { return .failure(JWKSkip("no kty")) }
        var keyID: String?
        if let kid = jwk["kid"] {
            guard case .string(let s) = kid else { return .failure(JWKSkip("kid is not a string")) }
            keyID = s
        }
        if case .string(let use)? = jwk["use"], use != "sig" { return .failure(JWKSkip("use is \(use)", keyID)) }
        if case .array(let ops)? = jwk["key_ops"], !ops.contains(.string("verify")) {
            return .failure(JWKSkip("key_ops lacks verify", keyID))
        }
        var algorithm: JWSAlgorithm?
        if let alg = jwk["alg"] {
            guard case .string(let name) = alg, let a = JWSAlgorithm(rawValue: name), a.keyType != nil else {
                return .failure(JWKSkip("unsupported alg", keyID))
            }
            algorithm = a
        }
        let made: Result<(PublicKey.KeyType, OpaquePointer), JWKSkip>
        switch kty {
        case "RSA": made = rsa(jwk).map { (.rsa, $0) }
        case "EC": made = ecP256(jwk).map { (.ecP256, $0) }
        case "OKP": made = ed25519(jwk).map { (.ed25519, $0) }
        default: made = .failure(JWKSkip("unsupported kty \(kty)"))
        }
        switch made {
        case .failure(let skip): return .failure(JWKSkip(skip.reason, keyID))
        case .success(let (type, pkey)):
            let key = PublicKey(type: type, keyID: keyID, algorithm: algorithm, pkey: pkey)
            guard algorithm.map(key.allows) ?? true else {
                return .failure(JWKSkip("alg \(algorithm!.rawValue) does not fit kty \(kty)", keyID))
            }
            return .success(key)
        }
    }

    static func member(_ jwk: [String: JSONValue], _ name: String) -> [UInt8]? {
        guard case .string(let s)? = jwk[name] else { return nil }
        return Base64URL.decode(s)
    }

    static func rsa(_ jwk: [String: JSONValue]) -> Result<OpaquePointer, JWKSkip> {
        guard let n = member(jwk, "n"), let e = member(jwk, "e"), !n.isEmpty, !e.isEmpty else {
            return .failure(JWKSkip("RSA key without n or e"))
        }
        // Ownership: both BIGNUMs, the builder and the params are freed on every path below;
        // OSSL_PARAM_BLD_push_BN copies the numbers into the params.
        let bn = BN_bin2bn(n, Int32(n.count), nil), be = BN_bin2bn(e, Int32(e.count), nil)
        defer { BN_free(bn); BN_free(be) }
        guard let bn, let be, let bld = OSSL_PARAM_BLD_new() else { return .failure(JWKSkip("out of memory")) }
        defer { OSSL_PARAM_BLD_free(bld) }
        guard OSSL_PARAM_BLD_push_BN(bld, ParamName.n, bn) == 1, OSSL_PARAM_BLD_push_BN(bld, ParamName.e, be) == 1,
              let params = OSSL_PARAM_BLD_to_param(bld) else { return .failure(JWKSkip("out of memory")) }
        defer { OSSL_PARAM_free(params) }
        guard let pkey = fromData(type: "RSA", params) else { return .failure(JWKSkip("RSA key refused by OpenSSL")) }
        guard EVP_PKEY_get_bits(pkey) >= 2048 else {
            EVP_PKEY_free(pkey)
            return .failure(JWKSkip("RSA key shorter than 2048 bits"))
        }
        return .success(pkey)
    }

    static func ecP256(_ jwk: [String: JSONValue]) -> Result<OpaquePointer, JWKSkip> {
        guard case .string("P-256")? = jwk["crv"] else { return .failure(JWKSkip("unsupported EC curve")) }
        guard let x = member(jwk, "x"), let y = member(jwk, "y"), x.count == 32, y.count == 32 else {
            return .failure(JWKSkip("P-256 key without 32-byte x and y"))
        }
        let point = [0x04] + x + y // SEC 1 uncompressed point
        guard let bld = OSSL_PARAM_BLD_new() else { return .failure(JWKSkip("out of memory")) }
        defer { OSSL_PARAM_BLD_free(bld) }
        // The builder keeps the point's address until `to_param` copies it: both happen
        // inside this closure, where the buffer is valid.
        let made = point.withUnsafeBytes { buf -> OpaquePointer? in
            guard OSSL_PARAM_BLD_push_utf8_string(bld, ParamName.group, ParamName.p256, 0) == 1,
                  OSSL_PARAM_BLD_push_octet_string(bld, ParamName.pub, buf.baseAddress, buf.count) == 1,
                  let params = OSSL_PARAM_BLD_to_param(bld) else { return nil }
            defer { OSSL_PARAM_free(params) }
            return fromData(type: "EC", params)
        }
        guard let pkey = made else { return .failure(JWKSkip("EC key refused by OpenSSL")) }
        // An off-curve point invites invalid-curve attacks. OpenSSL 3.0 already refuses one in
        // EVP_PKEY_fromdata (tested); the explicit check keeps that true whatever the provider.
        let check = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil)
        defer { EVP_PKEY_CTX_free(check) }
        guard let check, EVP_PKEY_public_check(check) == 1 else {
            EVP_PKEY_free(pkey)
            ERR_clear_error()
            return .failure(JWKSkip("EC point not on P-256"))
        }
        return .success(pkey)
    }

    static func ed25519(_ jwk: [String: JSONValue]) -> Result<OpaquePointer, JWKSkip> {
        guard case .string("Ed25519")? = jwk["crv"] else { return .failure(JWKSkip("unsupported OKP curve")) }
        guard let x = member(jwk, "x"), x.count == 32 else { return .failure(JWKSkip("Ed25519 key without 32-byte x")) }
        guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, x, 32) else {
            ERR_clear_error()
            return .failure(JWKSkip("Ed25519 key refused by OpenSSL"))
        }
        return .success(pkey)
    }

    /// A public key from OpenSSL params. Ownership: the caller frees the returned EVP_PKEY.
    static func fromData(type: String, _ params: UnsafeMutablePointer<OSSL_PARAM>) -> OpaquePointer? {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil)
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard let ctx, EVP_PKEY_fromdata_init(ctx) == 1,
              EVP_PKEY_fromdata(ctx, &pkey, publicKeySelection, params) == 1 else {
            ERR_clear_error()
            return nil
        }
        return pkey
    }

    /// EVP_PKEY_PUBLIC_KEY: the public key and its domain parameters (the C macro is an
    /// expression Swift does not import).
    static let publicKeySelection = OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS
        | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS
}

/// OSSL_PARAM names and values: the builder stores these pointers (not copies) until
/// `OSSL_PARAM_BLD_to_param`, so they must outlive the call that pushes them; a Swift string
/// argument's C string does not. Ownership: allocated once, never freed.
enum ParamName {
    nonisolated(unsafe) static let n = strdup("n")!
    nonisolated(unsafe) static let e = strdup("e")!
    nonisolated(unsafe) static let group = strdup("group")!
    nonisolated(unsafe) static let pub = strdup("pub")!
    nonisolated(unsafe) static let p256 = strdup("prime256v1")!
}

/// Why a JWK was left out of the set.
public struct JWKSkip: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public let keyID: String?
    init(_ reason: String, _ keyID: String? = nil) {
        self.reason = reason
        self.keyID = keyID
    }
    public var description: String { keyID.map { "key \($0): \(reason)" } ?? reason }
}
