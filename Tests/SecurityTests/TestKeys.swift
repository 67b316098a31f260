import COpenSSL
import MCPCore
@testable import Security

/// A private key made with OpenSSL in the test, its public half as a JWK, and a signer that
/// produces compact JWS the way an authorization server would. Test code only.
/// Ownership: `pkey` is freed in deinit.
final class TestKey: @unchecked Sendable {
    enum Kind { case rsa, ec, ed25519 }
    let kind: Kind
    let pkey: OpaquePointer

    init(_ kind: Kind, rsaBits: Int32 = 2048) {
        self.kind = kind
        let name: String
        switch kind {
        case .rsa: name = "RSA"
        case .ec: name = "EC"
        case .ed25519: name = "ED25519"
        }
        let ctx = EVP_PKEY_CTX_new_from_name(nil, name, nil)!
        defer { EVP_PKEY_CTX_free(ctx) }
        precondition(EVP_PKEY_keygen_init(ctx) == 1)
        if kind == .rsa { precondition(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, rsaBits) == 1) }
        if kind == .ec { precondition(EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1) }
        var key: OpaquePointer?
        precondition(EVP_PKEY_generate(ctx, &key) == 1)
        pkey = key!
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Shared across tests: RSA key generation takes a noticeable moment.
    static let rsa = TestKey(.rsa)
    static let rsa2 = TestKey(.rsa)
    static let ec = TestKey(.ec)
    static let ed25519 = TestKey(.ed25519)

    /// The public JWK members (kty and key material).
    func jwk(kid: String?, alg: String? = nil, use: String? = nil) -> [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        switch kind {
        case .rsa:
            o["kty"] = .string("RSA")
            o["n"] = .string(Base64URL.encode(bignum("n")))
            o["e"] = .string(Base64URL.encode(bignum("e")))
        case .ec:
            var point = [UInt8](repeating: 0, count: 65)
            var length = 0
            precondition(EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", &point, 65, &length) == 1 && length == 65)
            o["kty"] = .string("EC")
            o["crv"] = .string("P-256")
            o["x"] = .string(Base64URL.encode(Array(point[1..<33])))
            o["y"] = .string(Base64URL.encode(Array(point[33..<65])))
        case .ed25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            precondition(EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1)
            o["kty"] = .string("OKP")
            o["crv"] = .string("Ed25519")
            o["x"] = .string(Base64URL.encode(raw))
        }
        if let kid { o["kid"] = .string(kid) }
        if let alg { o["alg"] = .string(alg) }
        if let use { o["use"] = .string(use) }
        return o
    }

    func bignum(_ name: String) -> [UInt8] {
        var bn: OpaquePointer?
        precondition(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1)
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        BN_bn2bin(bn, &out)
        return out
    }

    /// The SubjectPublicKeyInfo PEM text (what the confusion attack uses as an HMAC key).
    var publicKeyPEM: [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_PUBKEY(bio, pkey) == 1)
        var out = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        precondition(BIO_read(bio, &out, Int32(out.count)) == Int32(out.count))
        return out
    }

    /// A JWS signature over `input` with `alg` (RS256, PS256, ES256 as JOSE r||s, EdDSA).
    func sign(_ input: [UInt8], alg: String, pssSaltLength: Int32 = RSA_PSS_SALTLEN_DIGEST) -> [UInt8] {
        let ctx = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        let md = alg == "EdDSA" ? nil : EVP_sha256()
        precondition(EVP_DigestSignInit(ctx, &pctx, md, nil, pkey) == 1)
        if alg == "PS256" {
            precondition(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1)
            precondition(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pssSaltLength) == 1)
        }
        var length = 0
        precondition(EVP_DigestSign(ctx, nil, &length, input, input.count) == 1)
        var sig = [UInt8](repeating: 0, count: length)
        precondition(EVP_DigestSign(ctx, &sig, &length, input, input.count) == 1)
        sig.removeSubrange(length...)
        guard alg == "ES256" else { return sig }
        // DER → JOSE r||s through OpenSSL's own decoder (independent of the code under test).
        let ecdsa = sig.withUnsafeBufferPointer { buf -> OpaquePointer? in
            var q: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_ECDSA_SIG(nil, &q, buf.count)
        }!
        defer { ECDSA_SIG_free(ecdsa) }
        var out = [UInt8](repeating: 0, count: 64)
        out.withUnsafeMutableBufferPointer { b in
            _ = BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), b.baseAddress, 32)
            _ = BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), b.baseAddress! + 32, 32)
        }
        return out
    }
}

/// Builds compact JWS tokens from header and claims values, signed by a test key, an HMAC
/// secret, or not at all.
enum TestToken {
    static func segment(_ value: JSONValue) -> String { Base64URL.encode(value.compactJSONBytes()) }

    static func make(header: [String: JSONValue], claims: JSONValue, key: TestKey) -> String {
        let input = segment(.object(header)) + "." + segment(claims)
        let alg = header["alg"]!.stringValue!
        return input + "." + Base64URL.encode(key.sign(Array(input.utf8), alg: alg))
    }

    static func hmac(header: [String: JSONValue], claims: JSONValue, secret: [UInt8]) -> String {
        let input = segment(.object(header)) + "." + segment(claims)
        let hash = ["HS256": "SHA256", "HS384": "SHA384", "HS512": "SHA512"][header["alg"]!.stringValue!]!
        let mac = Array(input.utf8).withUnsafeBytes { Digest.hmac(hash: hash, key: secret, message: $0)! }
        return input + "." + Base64URL.encode(mac)
    }

    static func unsigned(header: [String: JSONValue], claims: JSONValue) -> String {
        segment(.object(header)) + "." + segment(claims) + "."
    }
}

/// The configuration most tests use.
enum Fixture {
    static let issuer = "https://auth.example.test"
    static let audience = "https://mcp.example.test/mcp"
    static let now: UInt64 = 1_800_000_000
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)

    static func claims(_ overrides: [String: JSONValue?] = [:]) -> JSONValue {
        var c: [String: JSONValue] = ["iss": .string(issuer), "aud": .string(audience), "sub": .string("alice"),
                                      "exp": .number(Double(now + 600)), "iat": .number(Double(now - 10)),
                                      "scope": .string("tools:read tools:call"), "client_id": .string("cli-1")]
        for (k, v) in overrides { c[k] = v }
        return .object(c)
    }

    static let keySet = JWKSet(keys: [
        jwk(TestKey.rsa, kid: "rsa-1"), jwk(TestKey.ec, kid: "ec-1"), jwk(TestKey.ed25519, kid: "ed-1"),
    ])

    static func jwk(_ key: TestKey, kid: String?, alg: String? = nil) -> PublicKey {
        try! JWK.publicKey(key.jwk(kid: kid, alg: alg)).get()
    }

    static func verifier(secret: [UInt8]? = nil, skew: UInt64 = 60) -> JWTVerifier {
        JWTVerifier(issuer: issuer, audience: audience, clockSkew: skew, sharedSecret: secret.map(SharedSecret.init))
    }
}
