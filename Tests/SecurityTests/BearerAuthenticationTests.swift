import MCPCore
import XCTest
@testable import Security

/// The authenticator as the pipeline uses it: API keys vs JWTs, the cache on the hot path,
/// an unknown kid starting a refetch from a JWKS file.
final class BearerAuthenticationTests: XCTestCase {
    var dir: TempDirectory!
    override func setUp() { dir = TempDirectory() }
    override func tearDown() { dir.remove() }

    func jwks(_ entries: [[String: JSONValue]]) -> String {
        JSONValue.object(["keys": .array(entries.map(JSONValue.object))]).compactJSON()
    }

    func makeAuth(onJWKSFetch: (@Sendable (Result<JWKSet, JWKSFetchError>) -> Void)? = nil) throws -> BearerAuthentication {
        dir.write("jwks.json", jwks([TestKey.ec.jwk(kid: "ec-1")]), mode: 0o644)
        let key = APIKey.generate()!
        dir.write("key", key)
        try APIKeysFile.save([APIKeyRecord(name: "bot", scopes: ["tools:call"], hash: APIKey.hash(key), created: 1)],
                             to: dir.file("keys.json"))
        let config = try AuthConfiguration(issuer: Fixture.issuer, audience: Fixture.audience, jwks: dir.file("jwks.json"),
                                           apiKeysFile: dir.file("keys.json"))
        return try BearerAuthentication(configuration: config, onJWKSFetch: onJWKSFetch)
    }

    func testAPIKeysAndJWTsAreRoutedByForm() throws {
        let auth = try makeAuth()
        let key = String(decoding: try ProtectedFile.read(dir.file("key"), what: "key"), as: UTF8.self)
        XCTAssertEqual(try auth.authenticate(bearer: key, now: Fixture.now).get(),
                       Principal(subject: "bot", scopes: ["tools:call"], method: .apiKey))
        let jwt = TestToken.make(header: ["alg": .string("ES256"), "kid": .string("ec-1")], claims: Fixture.claims(), key: TestKey.ec)
        XCTAssertEqual(try auth.authenticate(bearer: jwt, now: Fixture.now).get().method, .oauth)
        XCTAssertEqual(auth.authenticate(bearer: "", now: Fixture.now).failureValue?.kind, .invalidToken)
        XCTAssertEqual(auth.authenticate(bearer: "sy_nope", now: Fixture.now).failureValue?.reason, "malformed api key")
    }

    func testCacheHitReturnsTheSamePrincipalAndExpiryStillHolds() throws {
        let auth = try makeAuth()
        let exp = Fixture.now + 100
        let jwt = TestToken.make(header: ["alg": .string("ES256"), "kid": .string("ec-1")],
                                 claims: Fixture.claims(["exp": .number(Double(exp))]), key: TestKey.ec)
        let first = try auth.authenticate(bearer: jwt, now: Fixture.now).get()
        XCTAssertEqual(auth.cache.count, 1)
        XCTAssertEqual(try auth.authenticate(bearer: jwt, now: Fixture.now + 10).get(), first)
        // Past exp + skew the cached entry is refused and dropped.
        XCTAssertEqual(auth.authenticate(bearer: jwt, now: exp + 60).failureValue, AuthFailure(.invalidToken, "token expired"))
        XCTAssertEqual(auth.cache.count, 0)
    }

    /// The cache is consulted before any verification: a token only the cache knows (its
    /// signature is garbage) is answered from it; a new key set empties it.
    func testCacheAnswersBeforeVerification() throws {
        let auth = try makeAuth()
        let parts = TestToken.make(header: ["alg": .string("ES256"), "kid": .string("ec-1")], claims: Fixture.claims(),
                                   key: TestKey.ec).split(separator: ".")
        let unverifiable = parts[0] + "." + parts[1] + "." + Base64URL.encode([UInt8](repeating: 7, count: 64))
        XCTAssertEqual(auth.authenticate(bearer: unverifiable, now: Fixture.now).failureValue?.reason, "signature invalid")
        let p = Principal(subject: "cached", method: .oauth, expiresAt: Fixture.now + 5)
        auth.cache.insert(unverifiable, principal: p, now: Fixture.now)
        XCTAssertEqual(try auth.authenticate(bearer: unverifiable, now: Fixture.now).get(), p)
        auth.install(JWKSet(keys: [Fixture.jwk(TestKey.ec, kid: "ec-1")]))
        XCTAssertEqual(auth.cache.count, 0)
        XCTAssertNil(try? auth.authenticate(bearer: unverifiable, now: Fixture.now).get())
    }

    func testUnknownKidRefetchesTheFileAtMostOncePerInterval() throws {
        let results = Results()
        let auth = try makeAuth { results.append($0) }
        let rotated = TestToken.make(header: ["alg": .string("EdDSA"), "kid": .string("ed-new")], claims: Fixture.claims(),
                                     key: TestKey.ed25519)
        dir.write("jwks.json", jwks([TestKey.ec.jwk(kid: "ec-1"), TestKey.ed25519.jwk(kid: "ed-new")]), mode: 0o644)
        XCTAssertEqual(auth.authenticate(bearer: rotated, now: Fixture.now).failureValue?.reason, "unknown key id")
        let set = try XCTUnwrap(results.wait(count: 1).last).get()
        XCTAssertFalse(auth.jwksSource!.refetch(now: Fixture.now + 29), "rate limited")
        auth.install(set)
        XCTAssertEqual(try auth.authenticate(bearer: rotated, now: Fixture.now).get().subject, "alice")
        XCTAssertTrue(auth.jwksSource!.refetch(now: Fixture.now + 30))
        XCTAssertEqual(results.wait(count: 2).count, 2)
    }
}
