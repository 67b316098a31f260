@testable import FrontTier
import MCPCore
import XCTest

final class CircuitBreakerTests: XCTestCase {
    func testOpensAfterConsecutiveFailuresThenProbesHalfOpen() {
        var b = CircuitBreaker(failureThreshold: 3, openMs: 1_000)
        for t: UInt64 in [0, 1, 2] {
            XCTAssertTrue(b.allow(now: t))
            b.recordFailure(now: t)
        }
        XCTAssertTrue(b.isOpen(now: 10))
        XCTAssertFalse(b.allow(now: 10), "open: shed")
        XCTAssertFalse(b.allow(now: 1_001))
        XCTAssertTrue(b.allow(now: 1_002), "half-open: one probe")
        XCTAssertFalse(b.allow(now: 1_003), "only one probe at a time")
        b.recordFailure(now: 1_010)
        XCTAssertFalse(b.allow(now: 1_500), "a failed probe opens it again")
        XCTAssertTrue(b.allow(now: 2_011))
        b.recordSuccess()
        XCTAssertEqual(b.name, "closed")
        XCTAssertTrue(b.allow(now: 2_012))
    }

    func testSuccessResetsTheFailureCount() {
        var b = CircuitBreaker(failureThreshold: 3, openMs: 1_000)
        b.recordFailure(now: 0)
        b.recordFailure(now: 0)
        b.recordSuccess()
        b.recordFailure(now: 0)
        b.recordFailure(now: 0)
        XCTAssertFalse(b.isOpen(now: 0))
    }

    func testStaleResultsAreBoundedAndFlagged() {
        var s = StaleResults(maxEntries: 2, maxBytes: 1 << 20)
        s.store("a", Array("{\"x\":1}".utf8))
        s.store("b", Array("{}".utf8))
        s.store("c", Array("{\"y\":2}".utf8))
        XCTAssertNil(s.lookup("a"), "oldest evicted")
        XCTAssertEqual(s.count, 2)
        XCTAssertEqual(String(decoding: StaleResults.flagged(s.lookup("c")!), as: UTF8.self),
                       "{\"_meta\":{\"io.switchyard/stale\":true},\"y\":2}")
        XCTAssertEqual(String(decoding: StaleResults.flagged(s.lookup("b")!), as: UTF8.self),
                       "{\"_meta\":{\"io.switchyard/stale\":true}}")
    }

    func testToolTraitsFromCatalog() {
        let catalogJSON = #"{"name":"x","annotations":{"idempotentHint":true},"#
            + #""_meta":{"io.switchyard/cacheable":true,"io.switchyard/timeoutMs":250}}"#
        let t = ToolTraits(catalogJSON: Array(catalogJSON.utf8))
        XCTAssertTrue(t.retryable)
        XCTAssertTrue(t.staleOnError)
        XCTAssertEqual(t.timeoutMs, 250)
        let u = ToolTraits(catalogJSON: Array(#"{"name":"y","annotations":{"readOnlyHint":false}}"#.utf8))
        XCTAssertFalse(u.retryable)
        XCTAssertFalse(u.staleOnError)
        let v = ToolTraits(catalogJSON: Array(#"{"name":"z","_meta":{"io.switchyard/staleOnError":true}}"#.utf8))
        XCTAssertTrue(v.staleOnError)
        XCTAssertNil(v.cacheTtlMs, "stale-on-error makes no result fresh")
        XCTAssertFalse(v.pure)
    }
}

/// The cancel key written into each CALL context equals the key a cross-front cancellation
/// computes from the session and request ids (else a cancel reaching another front is lost).
final class CancelKeyTests: XCTestCase {
    func testAppendedHashMatchesTheStringForm() {
        var rng = SystemRandomNumberGenerator()
        var shortForms = 0
        for i in 0..<3000 {
            let session = "v1." + String((0..<Int.random(in: 0...40, using: &rng)).map { _ in
                "abcXYZ019-_".randomElement(using: &rng)!
            })
            let id = Array((i % 3 == 0 ? "\"req-\(i)\"" : String(i)).utf8)
            var out: [UInt8] = []
            CallRouter.appendCancelHash(CallRouter.cancelHashValue(session, id), to: &out)
            let expected = CallRouter.cancelHash(session + "|" + String(decoding: id, as: UTF8.self))
            XCTAssertEqual(String(decoding: out, as: UTF8.self), expected)
            // The front's own table is keyed by the same value a notifications/cancelled key hashes to.
            XCTAssertEqual(CallRouter.cancelHashValue(session, id),
                           CallRouter.cancelHashValue((session + "|" + String(decoding: id, as: UTF8.self)).utf8))
            // A bridged or substring-backed String hashes the same as a native one.
            XCTAssertEqual(FNV1a.hash(String(Substring(session))), CallRouter.cancelHashValue(session.utf8))
            if expected.count < 16 { shortForms += 1 }
        }
        XCTAssertGreaterThan(shortForms, 0, "hashes with a leading zero nibble were covered")
    }
}
