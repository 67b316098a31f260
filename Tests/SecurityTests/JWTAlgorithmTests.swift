import MCPCore
import XCTest
@testable import Security

/// Each accepted algorithm, and each way a signature or an algorithm is refused.
final class JWTAlgorithmTests: XCTestCase {
    let verifier = Fixture.verifier()

    func token(_ alg: String, kid: String?, key: TestKey, claims: JSONValue = Fixture.claims()) -> String {
        var header: [String: JSONValue] = ["alg": .string(alg), "typ": .string("at+jwt")]
        if let kid { header["kid"] = .string(kid) }
        return TestToken.make(header: header, claims: claims, key: key)
    }

    func testEachAlgorithmVerifies() throws {
        for (alg, kid, key) in [("RS256", "rsa-1", TestKey.rsa), ("PS256", "rsa-1", TestKey.rsa),
                                ("ES256", "ec-1", TestKey.ec), ("EdDSA", "ed-1", TestKey.ed25519)] {
            let p = try verifier.verify(token(alg, kid: kid, key: key), keys: Fixture.keySet, now: Fixture.now).get()
            XCTAssertEqual(p, Principal(subject: "alice", clientId: "cli-1", scopes: ["tools:read", "tools:call"],
                                        method: .oauth, expiresAt: Fixture.now + 600), alg)
        }
    }

    func testWithoutKidTheKeysOfTheAlgorithmAreTried() throws {
        let set = JWKSet(keys: [Fixture.jwk(TestKey.rsa2, kid: nil), Fixture.jwk(TestKey.rsa, kid: nil)])
        XCTAssertNoThrow(try verifier.verify(token("RS256", kid: nil, key: TestKey.rsa), keys: set, now: Fixture.now).get())
        let noRSA = JWKSet(keys: [Fixture.jwk(TestKey.ec, kid: nil)])
        XCTAssertEqual(reject(token("RS256", kid: nil, key: TestKey.rsa), keys: noRSA), .noKeyForAlgorithm)
    }

    func testWrongSignatureIsRefused() {
        // Signed by another RSA key under the expected kid.
        XCTAssertEqual(reject(token("RS256", kid: "rsa-1", key: TestKey.rsa2)), .badSignature)
        // A flipped bit in a valid signature, for each algorithm.
        for (alg, kid, key) in [("RS256", "rsa-1", TestKey.rsa), ("PS256", "rsa-1", TestKey.rsa),
                                ("ES256", "ec-1", TestKey.ec), ("EdDSA", "ed-1", TestKey.ed25519)] {
            let good = token(alg, kid: kid, key: key)
            let parts = good.split(separator: ".").map(String.init)
            var sig = Base64URL.decode(parts[2])!
            sig[sig.count / 2] ^= 0x01
            XCTAssertEqual(reject(parts[0] + "." + parts[1] + "." + Base64URL.encode(sig)), .badSignature, alg)
        }
        // A valid signature moved onto other claims.
        let a = token("ES256", kid: "ec-1", key: TestKey.ec).split(separator: ".")
        let b = token("ES256", kid: "ec-1", key: TestKey.ec, claims: Fixture.claims(["sub": .string("root")])).split(separator: ".")
        XCTAssertEqual(reject("\(b[0]).\(b[1]).\(a[2])"), .badSignature)
    }

    /// RFC 7518 §3.5: the PSS salt is as long as the hash; a signature with another salt
    /// length is refused even though PSS itself could recover it.
    func testPS256SaltMustBeTheHashLength() {
        let header = TestToken.segment(.object(["alg": .string("PS256"), "kid": .string("rsa-1")]))
        let input = header + "." + TestToken.segment(Fixture.claims())
        let longSalt = TestKey.rsa.sign(Array(input.utf8), alg: "PS256", pssSaltLength: 64)
        XCTAssertEqual(reject(input + "." + Base64URL.encode(longSalt)), .badSignature)
        let hashLength = TestKey.rsa.sign(Array(input.utf8), alg: "PS256", pssSaltLength: 32)
        XCTAssertNil(reject(input + "." + Base64URL.encode(hashLength)))
    }

    func testAlgNoneIsRefused() {
        for alg in ["none", "None", "NONE"] {
            let t = TestToken.unsigned(header: ["alg": .string(alg)], claims: Fixture.claims())
            XCTAssertEqual(reject(t), .algorithmNotAllowed, alg)
            XCTAssertEqual(reject(t, secret: Fixture.secret), .algorithmNotAllowed, alg)
        }
        for alg in ["RS384", "ES512", "HS1", "Ed25519", ""] {
            let t = TestToken.make(header: ["alg": .string(alg), "kid": .string("rsa-1")], claims: Fixture.claims(), key: TestKey.rsa)
            XCTAssertEqual(reject(t), .algorithmNotAllowed, alg)
        }
    }

    func testHMACOnlyWithASharedSecret() throws {
        let t = TestToken.hmac(header: ["alg": .string("HS256")], claims: Fixture.claims(), secret: Fixture.secret)
        XCTAssertEqual(reject(t), .algorithmNotAllowed)
        let p = try Fixture.verifier(secret: Fixture.secret).verify(t, keys: .empty, now: Fixture.now).get()
        XCTAssertEqual(p.subject, "alice")
        let other = TestToken.hmac(header: ["alg": .string("HS256")], claims: Fixture.claims(),
                                   secret: Array("another-secret-another-secret-xx!".utf8))
        XCTAssertEqual(reject(other, secret: Fixture.secret), .badSignature)
        // HS512 needs a 64-byte key (RFC 7518 §3.2): a 32-byte secret does not verify it.
        let hs512 = TestToken.hmac(header: ["alg": .string("HS512")], claims: Fixture.claims(), secret: Fixture.secret)
        XCTAssertEqual(reject(hs512, secret: Fixture.secret), .algorithmNotAllowed)
        let long = Fixture.secret + Fixture.secret
        XCTAssertNoThrow(try Fixture.verifier(secret: long).verify(
            TestToken.hmac(header: ["alg": .string("HS512")], claims: Fixture.claims(), secret: long), keys: .empty,
            now: Fixture.now).get())
    }

    func testAlgorithmAndKeyTypeMustMatch() {
        // An RS256 header naming the EC key: never handed to OpenSSL as RSA.
        let rsOnEC = TestToken.make(header: ["alg": .string("RS256"), "kid": .string("ec-1")], claims: Fixture.claims(), key: TestKey.rsa)
        XCTAssertEqual(reject(rsOnEC), .keyTypeMismatch)
        let esOnRSA = TestToken.make(header: ["alg": .string("ES256"), "kid": .string("rsa-1")], claims: Fixture.claims(), key: TestKey.ec)
        XCTAssertEqual(reject(esOnRSA), .keyTypeMismatch)
        // A key's own alg restricts it: an RSA key marked RS256 does not verify PS256.
        let restricted = JWKSet(keys: [Fixture.jwk(TestKey.rsa, kid: "rsa-1", alg: "RS256")])
        XCTAssertEqual(reject(token("PS256", kid: "rsa-1", key: TestKey.rsa), keys: restricted), .keyTypeMismatch)
        XCTAssertNoThrow(try verifier.verify(token("RS256", kid: "rsa-1", key: TestKey.rsa), keys: restricted, now: Fixture.now).get())
    }

    /// The classic attack: HS256 "signed" with the server's RSA public key as the HMAC secret.
    func testHS256WithTheRSAPublicKeyAsSecretIsRefused() {
        let pem = TestKey.rsa.publicKeyPEM
        XCTAssertGreaterThan(pem.count, 64)
        for header: [String: JSONValue] in [["alg": .string("HS256"), "kid": .string("rsa-1")], ["alg": .string("HS256")]] {
            let forged = TestToken.hmac(header: header, claims: Fixture.claims(), secret: pem)
            XCTAssertEqual(reject(forged), .algorithmNotAllowed)
            // With a shared secret configured the forgery is checked against that secret only.
            XCTAssertEqual(reject(forged, secret: Fixture.secret), .badSignature)
        }
    }

    func reject(_ token: String, keys: JWKSet = Fixture.keySet, secret: [UInt8]? = nil) -> JWTRejection? {
        if case .failure(let r) = Fixture.verifier(secret: secret).verify(token, keys: keys, now: Fixture.now) { return r }
        return nil
    }
}
