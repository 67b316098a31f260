import Glibc
import MCPCore
import XCTest
@testable import Security

/// Not a test: the cost of a full JWT verification against a cache hit and an API key lookup,
/// printed in µs per operation. Runs only with SWITCHYARD_BENCH=1, best in a release build
/// (see docs-auth-section.md, "Cost"); asserts nothing.
final class AuthBenchmarkTests: XCTestCase {
    func testPrintVerificationAndCacheCosts() throws {
        guard getenv("SWITCHYARD_BENCH") != nil else { throw XCTSkip("set SWITCHYARD_BENCH=1 to run") }
        let dir = TempDirectory()
        defer { dir.remove() }
        let key = APIKey.generate()!
        try APIKeysFile.save([APIKeyRecord(name: "bot", scopes: ["a"], hash: APIKey.hash(key), created: 1)], to: dir.file("keys"))
        let set = JWKSet(keys: [Fixture.jwk(TestKey.rsa, kid: "rsa-1"), Fixture.jwk(TestKey.ec, kid: "ec-1"),
                                Fixture.jwk(TestKey.ed25519, kid: "ed-1")])
        let verifier = Fixture.verifier(secret: Fixture.secret)
        let now = Fixture.now
        func token(_ alg: String, _ kid: String, _ key: TestKey) -> String {
            TestToken.make(header: ["alg": .string(alg), "kid": .string(kid)], claims: Fixture.claims(), key: key)
        }
        let tokens = [("RS256", token("RS256", "rsa-1", TestKey.rsa)), ("PS256", token("PS256", "rsa-1", TestKey.rsa)),
                      ("ES256", token("ES256", "ec-1", TestKey.ec)), ("EdDSA", token("EdDSA", "ed-1", TestKey.ed25519)),
                      ("HS256", TestToken.hmac(header: ["alg": .string("HS256")], claims: Fixture.claims(), secret: Fixture.secret))]
        func measure(_ label: String, _ n: Int, _ body: () -> Void) {
            for _ in 0..<min(n, 100) { body() } // warm up
            var t0 = timespec(), t1 = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t0)
            for _ in 0..<n { body() }
            clock_gettime(CLOCK_MONOTONIC, &t1)
            let ns = Double(t1.tv_sec - t0.tv_sec) * 1e9 + Double(t1.tv_nsec - t0.tv_nsec)
            print("bench \(label): \(String(format: "%.2f", ns / Double(n) / 1000)) µs/op (n=\(n))")
        }
        for (alg, t) in tokens {
            precondition((try? verifier.verify(t, keys: set, now: now).get()) != nil)
            measure("verify \(alg) (\(t.utf8.count) B token)", 2_000) { _ = verifier.verify(t, keys: set, now: now) }
        }
        dir.write("jwks.json", JSONValue.object(["keys": .array([.object(TestKey.rsa.jwk(kid: "rsa-1"))])]).compactJSON())
        let config = try AuthConfiguration(issuer: Fixture.issuer, audience: Fixture.audience, jwks: dir.file("jwks.json"),
                                           apiKeysFile: dir.file("keys"))
        let auth = try BearerAuthentication(configuration: config)
        let rs = tokens[0].1
        precondition((try? auth.authenticate(bearer: rs, now: now).get()) != nil)
        measure("authenticate RS256, cache hit (SHA-256 + lookup)", 200_000) { _ = auth.authenticate(bearer: rs, now: now) }
        measure("authenticate api key (SHA-256 + lookup)", 200_000) { _ = auth.authenticate(bearer: key, now: now) }
    }
}
