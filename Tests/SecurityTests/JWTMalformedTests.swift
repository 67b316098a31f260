import MCPCore
import XCTest
@testable import Security

/// Tokens that are not well-formed compact JWS, unknown key ids and critical headers.
final class JWTMalformedTests: XCTestCase {
    func rejection(_ token: String) -> JWTRejection? {
        if case .failure(let r) = Fixture.verifier().verify(token, keys: Fixture.keySet, now: Fixture.now) { return r }
        return nil
    }

    var valid: String {
        TestToken.make(header: ["alg": .string("EdDSA"), "kid": .string("ed-1")], claims: Fixture.claims(), key: TestKey.ed25519)
    }

    func testSegmentCount() {
        let parts = valid.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        XCTAssertNil(rejection(valid))
        XCTAssertEqual(rejection(parts[0] + "." + parts[1]), .malformed("segments"))
        XCTAssertEqual(rejection(valid + ".x"), .malformed("segments"))
        XCTAssertEqual(rejection(""), .malformed("segments"))
        XCTAssertEqual(rejection(".."), .malformed("header encoding"))
    }

    func testBadBase64() {
        let parts = valid.split(separator: ".").map(String.init)
        XCTAssertEqual(rejection("!" + parts[0] + "." + parts[1] + "." + parts[2]), .malformed("header encoding"))
        XCTAssertEqual(rejection(parts[0] + "." + parts[1] + "=." + parts[2]), .malformed("payload encoding"))
        XCTAssertEqual(rejection(parts[0] + "." + parts[1] + "." + parts[2] + "+"), .malformed("signature encoding"))
    }

    func testBadJSON() {
        let sig = valid.split(separator: ".")[2]
        let claims = TestToken.segment(Fixture.claims())
        XCTAssertEqual(rejection(Base64URL.encode(Array("{\"alg\":".utf8)) + ".\(claims).\(sig)"), .malformed("header JSON"))
        XCTAssertEqual(rejection(Base64URL.encode(Array("[1]".utf8)) + ".\(claims).\(sig)"), .malformed("header JSON"))
        XCTAssertEqual(rejection(TestToken.segment(.object(["kid": .string("ed-1")])) + ".\(claims).\(sig)"), .malformed("alg"))
        XCTAssertEqual(rejection(TestToken.segment(.object(["alg": .string("EdDSA"), "kid": .number(1)])) + ".\(claims).\(sig)"),
                       .malformed("kid"))
        // A payload that is not JSON, correctly signed: refused at the claims.
        let header = TestToken.segment(.object(["alg": .string("EdDSA"), "kid": .string("ed-1")]))
        let input = header + "." + Base64URL.encode(Array("not json".utf8))
        let signed = input + "." + Base64URL.encode(TestKey.ed25519.sign(Array(input.utf8), alg: "EdDSA"))
        XCTAssertEqual(rejection(signed), .malformed("claims JSON"))
    }

    func testUnknownKidAndCriticalHeader() {
        let unknown = TestToken.make(header: ["alg": .string("EdDSA"), "kid": .string("ed-2")], claims: Fixture.claims(),
                                     key: TestKey.ed25519)
        XCTAssertEqual(rejection(unknown), .unknownKeyID)
        XCTAssertEqual(JWTRejection.unknownKeyID.failure, AuthFailure(.invalidToken, "unknown key id"))
        let crit = TestToken.make(header: ["alg": .string("EdDSA"), "kid": .string("ed-1"), "crit": .array([.string("exp")]),
                                           "exp": .number(1)], claims: Fixture.claims(), key: TestKey.ed25519)
        XCTAssertEqual(rejection(crit), .unsupportedCriticalHeader)
    }

    /// A key embedded in the header (`jwk`) is never used: the forger's own key does not count.
    func testEmbeddedHeaderKeyIsIgnored() {
        let attacker = TestKey(.ed25519)
        let forged = TestToken.make(header: ["alg": .string("EdDSA"), "jwk": .object(attacker.jwk(kid: nil))],
                                    claims: Fixture.claims(), key: attacker)
        XCTAssertEqual(rejection(forged), .badSignature)
    }

    func testOversizedTokenIsRefusedUnread() {
        XCTAssertEqual(rejection(String(repeating: "a", count: CompactJWS.maxLength + 1)), .tooLarge)
    }
}
