@testable import FrontTier
import Redis
import Security
import XCTest

/// The pure parts of the Redis-backed shared state: what goes on `sy:sessions` and back, hostile
/// messages from Redis, the rate-limit script's answers, and the sharing seam of SessionTokens.
final class SharedStateRedisTests: XCTestCase {
    typealias Wire = SharedRevocationsRedis.Wire
    let session = "v1.rZA4Pd4bPRWGPfH1z2X0ZQBrFwKWAAAAAAAAAAAA.QwGdFDDKYLE3AoS4aA2M8g"

    func testEveryEventRoundTrips() throws {
        let events: [SessionEvent] = [.revoked(session), .level(session, "debug"),
                                      .subscription(session, uri: "file:///a%20b", on: true),
                                      .subscription(session, uri: "file:///x", on: false)]
        for e in events {
            for ack: UInt64? in [nil, 42] {
                let w = try XCTUnwrap(Wire.decode(Wire.encode(e, origin: "0a1b-77", ack: ack)), "\(e)")
                XCTAssertEqual(w, Wire(event: e, origin: "0a1b-77", ack: ack))
            }
        }
    }

    func testMalformedOrHostileMessagesAreDropped() {
        let bad = ["", "R", "R o - ", "R o x \(session)", "X o - \(session)", "L o - \(session) loud",
                   "L o - \(session)", "S o - \(session)", "R o - \(session) extra",
                   "R o - bad{session}", "R o - " + String(repeating: "a", count: 129),
                   "R o\u{1} - \(session)", "S o - \(session) " + String(repeating: "u", count: 9000)]
        for text in bad { XCTAssertNil(Wire.decode(Array(text.utf8)), text) }
        XCTAssertNil(Wire.decode([UInt8](repeating: 0xFF, count: 64)))
    }

    func testStoredFieldsReadBackAsEvents() {
        XCTAssertEqual(Wire.field(session: session, field: Array("rev".utf8), value: Array("1".utf8)),
                       .revoked(session))
        XCTAssertEqual(Wire.field(session: session, field: Array("level".utf8), value: Array("error".utf8)),
                       .level(session, "error"))
        XCTAssertEqual(Wire.field(session: session, field: Array("sub:file:///x".utf8), value: Array("1".utf8)),
                       .subscription(session, uri: "file:///x", on: true))
        XCTAssertNil(Wire.field(session: session, field: Array("level".utf8), value: Array("loud".utf8)))
        XCTAssertNil(Wire.field(session: session, field: Array("other".utf8), value: []))
        XCTAssertEqual(SharedRevocationsRedis.stateKey(session), Array("sy:{\(session)}:s".utf8))
    }

    func testRateLimitScriptAnswers() {
        XCTAssertEqual(SharedRateLimitsRedis.decision(.array([.integer(1), .integer(0)])), .allowed)
        XCTAssertEqual(SharedRateLimitsRedis.decision(.array([.integer(0), .integer(1)])),
                       .limited(retryAfterSeconds: 1))
        XCTAssertEqual(SharedRateLimitsRedis.decision(.array([.integer(0), .integer(2_000_001)])),
                       .limited(retryAfterSeconds: 3))
        for junk: RedisReply in [.error("OOM command not allowed"), .error("DOWN"), .null, .integer(1),
                                 .array([.integer(1)]), .array([.bulk([49]), .integer(0)])] {
            XCTAssertNil(SharedRateLimitsRedis.decision(junk), "\(junk)")
        }
        let a = SharedRateLimitsRedis.bucketKey(RateLimitKey(principal: .anonymous, sourceAddress: "10.0.0.1"),
                                                tool: "echo")
        XCTAssertEqual(a, Array("sy:rl:echo\u{0}a:10.0.0.1".utf8))
    }

    /// A sharing that answers deletions later, like Redis waiting for acknowledgements.
    final class SlowSharing: SessionEventSharing {
        var deliver: ((SessionEvent) -> Void)?
        var published: [SessionEvent] = []
        var waiting: [() -> Void] = []
        func publish(_ event: SessionEvent, applied: @escaping () -> Void) {
            published.append(event)
            if case .revoked = event { waiting.append(applied) } else { applied() }
        }
        func refresh() {}
    }

    func testDeletionIsAppliedWhenEverySharingApplied() {
        let tokens = SessionTokens(key: [UInt8](repeating: 3, count: 32), versions: ["2025-11-25"])
        let slow = SlowSharing()
        tokens.share(through: slow)
        let s = tokens.issue(protocolVersion: "2025-11-25")
        var answered = false
        tokens.revoke(s.id) { answered = true }
        XCTAssertNil(tokens.verify(s.id), "refused here at once")
        XCTAssertFalse(answered, "answered only once the other hosts applied it")
        slow.waiting.removeFirst()()
        XCTAssertTrue(answered)
        tokens.setLevel(s.id, "info")
        XCTAssertEqual(slow.published, [.revoked(s.id), .level(s.id, "info")])
        let other = tokens.issue(protocolVersion: "2025-11-25")
        XCTAssertNotNil(tokens.verify(other.id))
        slow.deliver?(.revoked(other.id))
        XCTAssertNil(tokens.verify(other.id), "a deletion from another host applies")
        slow.deliver?(.level(other.id, "error"))
        XCTAssertEqual(tokens.level(other.id), "error")
    }
}
