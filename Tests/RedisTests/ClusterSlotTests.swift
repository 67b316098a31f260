@testable import Redis
import XCTest

/// Key slots as the Redis Cluster specification computes them, redirections parsed, and the
/// backoff's bounds.
final class ClusterSlotTests: XCTestCase {
    func testCRC16XModemCheckValue() {
        let input = Array("123456789".utf8)
        let crc = input.withUnsafeBufferPointer { ClusterSlot.crc16($0[...]) }
        XCTAssertEqual(crc, 0x31C3)
    }

    func testSlotsOfKnownKeysAndHashTags() {
        // Values from `CLUSTER KEYSLOT`.
        XCTAssertEqual(ClusterSlot.of(Array("foo".utf8)), 12182)
        XCTAssertEqual(ClusterSlot.of(Array("bar".utf8)), 5061)
        XCTAssertEqual(ClusterSlot.of(Array("{user1000}.following".utf8)), ClusterSlot.of(Array("{user1000}.followers".utf8)))
        XCTAssertEqual(ClusterSlot.of(Array("{user1000}.following".utf8)), ClusterSlot.of(Array("user1000".utf8)))
        // An empty tag does not count: the whole key is hashed.
        XCTAssertEqual(ClusterSlot.of(Array("foo{}{bar}".utf8)), Int(Array("foo{}{bar}".utf8).withUnsafeBufferPointer { ClusterSlot.crc16($0[...]) } & 0x3FFF))
        // The tag ends at the first '}' after the first '{'.
        XCTAssertEqual(ClusterSlot.of(Array("foo{{bar}}zap".utf8)), ClusterSlot.of(Array("{bar".utf8)))
        XCTAssertEqual(ClusterSlot.of(Array("foo{bar}{zap}".utf8)), ClusterSlot.of(Array("bar".utf8)))
        XCTAssertEqual(ClusterSlot.of(Array("sy:{s1}:rev".utf8)), ClusterSlot.of(Array("sy:{s1}:events".utf8)))
    }

    func testRedirectionsParsed() {
        XCTAssertEqual(Redirection("MOVED 3999 127.0.0.1:6381"), .moved(slot: 3999, to: RedisEndpoint(host: "127.0.0.1", port: 6381)))
        XCTAssertEqual(Redirection("ASK 3999 ::1:6381"), .ask(slot: 3999, to: RedisEndpoint(host: "::1", port: 6381)))
        XCTAssertNil(Redirection("MOVED 99999 127.0.0.1:6381"))
        XCTAssertNil(Redirection("MOVED 1 127.0.0.1"))
        XCTAssertNil(Redirection("ERR MOVED 1 h:1"))
    }

    func testBackoffGrowsIsCappedAndJittered() {
        var b = Backoff(base: 50, cap: 2000)
        var delays: [UInt64] = []
        for _ in 0..<10 { delays.append(b.next(random: { $0.upperBound })) }
        XCTAssertEqual(delays, [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000, 2000])
        var low = Backoff(base: 50, cap: 2000)
        XCTAssertEqual(low.next(random: { $0.lowerBound }), 25)
        low.reset()
        XCTAssertEqual(low.attempt, 0)
    }
}
