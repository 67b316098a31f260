import MCPCore
import XCTest
@testable import Security

/// The registered claims: times with skew, issuer, audience, subject, scopes, client id.
final class JWTClaimsTests: XCTestCase {
    let now = Fixture.now

    func token(_ overrides: [String: JSONValue?]) -> String {
        TestToken.make(header: ["alg": .string("ES256"), "kid": .string("ec-1")], claims: Fixture.claims(overrides),
                       key: TestKey.ec)
    }

    func verify(_ token: String, now: UInt64? = nil, skew: UInt64 = 60) -> Result<Principal, JWTRejection> {
        Fixture.verifier(skew: skew).verify(token, keys: Fixture.keySet, now: now ?? self.now)
    }

    func rejection(_ token: String, now: UInt64? = nil, skew: UInt64 = 60) -> JWTRejection? {
        if case .failure(let r) = verify(token, now: now, skew: skew) { return r }
        return nil
    }

    func testExpiredWithSkew() {
        let t = token(["exp": .number(Double(now - 30))])
        XCTAssertNil(rejection(t), "30 s past exp is inside the default 60 s skew")
        XCTAssertEqual(rejection(t, skew: 0), .expired)
        XCTAssertEqual(rejection(t, skew: 29), .expired)
        XCTAssertNil(rejection(t, skew: 31))
        XCTAssertEqual(rejection(token(["exp": .number(Double(now - 61))])), .expired)
        XCTAssertEqual(rejection(token(["exp": .number(Double(now))]), skew: 0), .expired, "exp is exclusive")
    }

    func testNotBeforeInTheFuture() {
        XCTAssertEqual(rejection(token(["nbf": .number(Double(now + 120))])), .notYetValid)
        XCTAssertNil(rejection(token(["nbf": .number(Double(now + 50))])), "inside the skew")
        XCTAssertEqual(rejection(token(["nbf": .number(Double(now + 50))]), skew: 10), .notYetValid)
        XCTAssertNil(rejection(token(["nbf": .number(Double(now - 5))]), skew: 0))
        XCTAssertEqual(rejection(token(["iat": .number(Double(now + 3600))])), .issuedInFuture)
        XCTAssertEqual(rejection(token(["nbf": .string("soon")])), .invalidClaim("nbf"))
    }

    func testIssuerMustMatchExactly() {
        XCTAssertEqual(rejection(token(["iss": .string("https://evil.example.test")])), .issuerMismatch)
        XCTAssertEqual(rejection(token(["iss": .string(Fixture.issuer + "/")])), .issuerMismatch)
        XCTAssertEqual(rejection(token(["iss": nil])), .missingClaim("iss"))
        XCTAssertEqual(rejection(token(["iss": .array([.string(Fixture.issuer)])])), .invalidClaim("iss"))
    }

    func testAudienceStringOrArray() {
        XCTAssertEqual(rejection(token(["aud": .string("https://other.example.test")])), .audienceMismatch)
        XCTAssertNil(rejection(token(["aud": .array([.string("https://other.example.test"), .string(Fixture.audience)])])))
        XCTAssertEqual(rejection(token(["aud": .array([.string("https://other.example.test")])])), .audienceMismatch)
        XCTAssertEqual(rejection(token(["aud": .array([])])), .audienceMismatch)
        XCTAssertEqual(rejection(token(["aud": .array([.string(Fixture.audience), .number(1)])])), .invalidClaim("aud"))
        XCTAssertEqual(rejection(token(["aud": nil])), .missingClaim("aud"))
    }

    func testExpAndSubAreRequired() {
        XCTAssertEqual(rejection(token(["exp": nil])), .missingClaim("exp"))
        XCTAssertEqual(rejection(token(["exp": .string("1900000000")])), .invalidClaim("exp"))
        XCTAssertEqual(rejection(token(["exp": .number(-1)])), .invalidClaim("exp"))
        XCTAssertEqual(rejection(token(["sub": nil])), .missingClaim("sub"))
        XCTAssertEqual(rejection(token(["sub": .string("")])), .invalidClaim("sub"))
        XCTAssertEqual(rejection(token(["sub": .number(42)])), .invalidClaim("sub"))
    }

    func testScopeOrScpAndClientId() throws {
        let fromScope = try verify(token(["scope": .string("a  b a")])).get()
        XCTAssertEqual(fromScope.scopes, ["a", "b"])
        let fromScp = try verify(token(["scope": nil, "scp": .array([.string("x"), .string("y")])])).get()
        XCTAssertEqual(fromScp.scopes, ["x", "y"])
        let none = try verify(token(["scope": nil])).get()
        XCTAssertEqual(none.scopes, [])
        XCTAssertEqual(rejection(token(["scope": .array([.string("a")])])), .invalidClaim("scope"))
        XCTAssertEqual(rejection(token(["scope": nil, "scp": .array([.number(1)])])), .invalidClaim("scope"))
        XCTAssertEqual(fromScope.clientId, "cli-1")
        let azp = try verify(token(["client_id": nil, "azp": .string("web")])).get()
        XCTAssertEqual(azp.clientId, "web")
        XCTAssertNil(try verify(token(["client_id": nil])).get().clientId)
        XCTAssertEqual(try verify(token(["exp": .number(Double(now) + 99.7)])).get().expiresAt, now + 99)
    }

    func testFailureReasonsNeverContainTheToken() {
        let t = token(["iss": .string("https://evil.example.test")])
        guard case .failure(let r) = verify(t) else { return XCTFail("accepted") }
        let text = r.failure.description
        XCTAssertEqual(text, "invalid_token: issuer mismatch")
        for part in t.split(separator: ".") { XCTAssertFalse(text.contains(part)) }
    }
}
