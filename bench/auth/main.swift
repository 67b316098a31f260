// The cost of authenticating a bearer token: a full JWT verification per algorithm against a
// cache hit and an API key lookup, in µs per operation. Built against a release build of the
// Security target by run.sh; keys are made here with OpenSSL. Thread CPU time, not wall time:
// the cost stays readable on a machine shared with other work.
import COpenSSL
import Glibc
import MCPCore
import Security

func keygen(_ name: String, _ configure: (OpaquePointer) -> Void = { _ in }) -> OpaquePointer {
    let ctx = EVP_PKEY_CTX_new_from_name(nil, name, nil)!
    defer { EVP_PKEY_CTX_free(ctx) }
    precondition(EVP_PKEY_keygen_init(ctx) == 1)
    configure(ctx)
    var key: OpaquePointer?
    precondition(EVP_PKEY_generate(ctx, &key) == 1)
    return key!
}

func bignum(_ pkey: OpaquePointer, _ name: String) -> [UInt8] {
    var bn: OpaquePointer?
    precondition(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1)
    defer { BN_free(bn) }
    var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
    BN_bn2bin(bn, &out)
    return out
}

func sign(_ pkey: OpaquePointer, _ input: [UInt8], alg: String) -> [UInt8] {
    let ctx = EVP_MD_CTX_new()!
    defer { EVP_MD_CTX_free(ctx) }
    var pctx: OpaquePointer?
    precondition(EVP_DigestSignInit(ctx, &pctx, alg == "EdDSA" ? nil : EVP_sha256(), nil, pkey) == 1)
    if alg == "PS256" {
        precondition(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1)
        precondition(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)
    }
    var length = 0
    precondition(EVP_DigestSign(ctx, nil, &length, input, input.count) == 1)
    var sig = [UInt8](repeating: 0, count: length)
    precondition(EVP_DigestSign(ctx, &sig, &length, input, input.count) == 1)
    sig.removeSubrange(length...)
    guard alg == "ES256" else { return sig }
    let ecdsa = sig.withUnsafeBufferPointer { buf -> OpaquePointer? in
        var p: UnsafePointer<UInt8>? = buf.baseAddress
        return d2i_ECDSA_SIG(nil, &p, buf.count)
    }!
    defer { ECDSA_SIG_free(ecdsa) }
    var out = [UInt8](repeating: 0, count: 64)
    out.withUnsafeMutableBufferPointer { b in
        _ = BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), b.baseAddress, 32)
        _ = BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), b.baseAddress! + 32, 32)
    }
    return out
}

let rsa = keygen("RSA") { precondition(EVP_PKEY_CTX_set_rsa_keygen_bits($0, 2048) == 1) }
let ec = keygen("EC") { precondition(EVP_PKEY_CTX_set_group_name($0, "P-256") == 1) }
let ed = keygen("ED25519")
var point = [UInt8](repeating: 0, count: 65), length = 0
precondition(EVP_PKEY_get_octet_string_param(ec, "encoded-pub-key", &point, 65, &length) == 1)
var edRaw = [UInt8](repeating: 0, count: 32), edLength = 32
precondition(EVP_PKEY_get_raw_public_key(ed, &edRaw, &edLength) == 1)
let b64 = Base64URL.encode
let jwks = JSONValue.object(["keys": .array([
    .object(["kty": .string("RSA"), "kid": .string("rsa"), "n": .string(b64(bignum(rsa, "n"))), "e": .string(b64(bignum(rsa, "e")))]),
    .object(["kty": .string("EC"), "kid": .string("ec"), "crv": .string("P-256"), "x": .string(b64(Array(point[1..<33]))),
             "y": .string(b64(Array(point[33...])))]),
    .object(["kty": .string("OKP"), "kid": .string("ed"), "crv": .string("Ed25519"), "x": .string(b64(edRaw))]),
])])
let keys = try JWKSet.parse(jwks.compactJSONBytes())

let now: UInt64 = 1_800_000_000
let claims = JSONValue.object(["iss": .string("https://auth.example.test"), "aud": .string("https://mcp.example.test/mcp"),
                               "sub": .string("alice"), "exp": .number(Double(now + 600)), "iat": .number(Double(now)),
                               "scope": .string("tools:read tools:call"), "client_id": .string("cli-1")])
func token(_ alg: String, kid: String?, _ signer: ([UInt8]) -> [UInt8]) -> String {
    var header: [String: JSONValue] = ["alg": .string(alg), "typ": .string("at+jwt")]
    if let kid { header["kid"] = .string(kid) }
    let input = b64(JSONValue.object(header).compactJSONBytes()) + "." + b64(claims.compactJSONBytes())
    return input + "." + b64(signer(Array(input.utf8)))
}
let secret = Array("0123456789abcdef0123456789abcdef".utf8)
var mac = [UInt8](repeating: 0, count: 32), macLength: UInt32 = 0
let tokens: [(String, String)] = [
    ("RS256", token("RS256", kid: "rsa") { sign(rsa, $0, alg: "RS256") }),
    ("PS256", token("PS256", kid: "rsa") { sign(rsa, $0, alg: "PS256") }),
    ("ES256", token("ES256", kid: "ec") { sign(ec, $0, alg: "ES256") }),
    ("EdDSA", token("EdDSA", kid: "ed") { sign(ed, $0, alg: "EdDSA") }),
    ("HS256", token("HS256", kid: nil) { input in
        HMAC(EVP_sha256(), secret, Int32(secret.count), input, input.count, &mac, &macLength)
        return mac
    }),
]

func measure(_ label: String, _ n: Int, _ body: () -> Void) {
    for _ in 0..<min(n, 200) { body() }
    var t0 = timespec(), t1 = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0)
    for _ in 0..<n { body() }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1)
    let ns = Double(t1.tv_sec - t0.tv_sec) * 1e9 + Double(t1.tv_nsec - t0.tv_nsec)
    let us = ns / Double(n) / 1000
    let hundredths = Int((us * 100).rounded())
    let value = "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
    print(label + String(repeating: " ", count: max(1, 52 - label.count)) + value + " µs/op")
}

let verifier = JWTVerifier(issuer: "https://auth.example.test", audience: "https://mcp.example.test/mcp",
                           sharedSecret: SharedSecret(secret))
for (alg, t) in tokens {
    guard (try? verifier.verify(t, keys: keys, now: now).get()) != nil else { fatalError("\(alg) did not verify") }
    measure("full verification \(alg) (\(t.utf8.count) B token)", 5_000) { _ = verifier.verify(t, keys: keys, now: now) }
}

// The hot path as the front calls it: BearerAuthentication with a warm cache, and an API key.
var template = Array("/tmp/sy-auth-bench-XXXXXX".utf8CString)
let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
defer { unlink(dir + "/jwks.json"); unlink(dir + "/keys.json"); rmdir(dir) }
try ProtectedFile.write(jwks.compactJSONBytes(), to: dir + "/jwks.json", what: "JWKS")
let apiKey = APIKey.generate()!
try APIKeysFile.save([APIKeyRecord(name: "bot", scopes: ["a"], hash: APIKey.hash(apiKey), created: 1)], to: dir + "/keys.json")
let auth = try BearerAuthentication(configuration: AuthConfiguration(
    issuer: "https://auth.example.test", audience: "https://mcp.example.test/mcp", jwks: dir + "/jwks.json",
    apiKeysFile: dir + "/keys.json"))
let rs256 = tokens[0].1
precondition((try? auth.authenticate(bearer: rs256, now: now).get()) != nil)
measure("authenticate RS256, cache hit", 500_000) { _ = auth.authenticate(bearer: rs256, now: now) }
measure("authenticate API key", 500_000) { _ = auth.authenticate(bearer: apiKey, now: now) }
