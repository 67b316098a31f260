import XCTest
@testable import Security

/// The verified-token cache: hits, expiry on lookup, bounds.
final class TokenCacheTests: XCTestCase {
    let p = Principal(subject: "alice", scopes: ["a"], method: .oauth, expiresAt: 1_000)

    func testHitUntilExpiryPlusSkew() {
        let cache = TokenCache(capacity: 10, clockSkew: 5)
        cache.insert("token-1", principal: p, now: 900)
        XCTAssertEqual(cache.principal(for: "token-1", now: 900), p)
        XCTAssertNil(cache.principal(for: "token-2", now: 900))
        XCTAssertEqual(cache.principal(for: "token-1", now: 1_004), p)
        XCTAssertNil(cache.principal(for: "token-1", now: 1_005))
        XCTAssertEqual(cache.count, 0, "an expired entry is dropped when found")
    }

    func testPrincipalsWithoutExpiryAreNotCached() {
        let cache = TokenCache(capacity: 10)
        cache.insert("k", principal: Principal(subject: "svc", method: .apiKey), now: 0)
        XCTAssertEqual(cache.count, 0)
    }

    func testBoundedExpiredFirstThenOldest() {
        let cache = TokenCache(capacity: 10, clockSkew: 0)
        let shortLived = Principal(subject: "s", method: .oauth, expiresAt: 100)
        for i in 0..<5 { cache.insert("old-\(i)", principal: shortLived, now: 50) }
        for i in 0..<5 { cache.insert("live-\(i)", principal: p, now: 50) }
        XCTAssertEqual(cache.count, 10)
        // Full at now=200: the five expired go, nothing live is lost.
        cache.insert("new", principal: p, now: 200)
        XCTAssertEqual(cache.count, 6)
        for i in 0..<5 { XCTAssertNotNil(cache.principal(for: "live-\(i)", now: 200)) }
        for i in 0..<4 { cache.insert("more-\(i)", principal: p, now: 200) }
        XCTAssertEqual(cache.count, 10)
        // Full of live entries: the oldest make room.
        cache.insert("latest", principal: p, now: 200)
        XCTAssertLessThanOrEqual(cache.count, 10)
        XCTAssertNil(cache.principal(for: "live-0", now: 200))
        XCTAssertNotNil(cache.principal(for: "latest", now: 200))
        XCTAssertNotNil(cache.principal(for: "more-3", now: 200))
    }
}
