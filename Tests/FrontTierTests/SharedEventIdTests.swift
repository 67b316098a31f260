@testable import FrontTier
import Redis
import XCTest

/// The shared event log's ids (Redis stream ids) as SSE event ids, and the open script's reply.
final class SharedEventIdTests: XCTestCase {
    func testRedisIdsParseBackAndOrder() {
        for (ms, seq) in [(UInt64(0), UInt64(0)), (1_733_600_000_000, 7), (.max, .max)] {
            let id = SharedEventId(ms: ms, seq: seq)
            XCTAssertEqual(SharedEventId(id.description), id)
        }
        XCTAssertLessThan(SharedEventId("5-9")!, SharedEventId("6-0")!)
        XCTAssertLessThan(SharedEventId("6-0")!, SharedEventId("6-1")!)
    }

    func testOtherSpellingsAreRefused() {
        for id in ["", "1", "1-", "-1", "1-2-3", "01-2", "1-02", "+1-2", "1-+2", " 1-2", "1-2 ", "0.1.2",
                   "18446744073709551616-0", "1-x", "١-2", "1_2"] {
            XCTAssertNil(SharedEventId(id), id.debugDescription)
        }
    }

    func testOpeningTakesTheNewestAndTheEntriesOldestFirst() {
        func entry(_ id: String, _ m: String) -> RedisReply {
            .array([.bulk(Array(id.utf8)), .array([.bulk(Array("m".utf8)), .bulk(Array(m.utf8))])])
        }
        let reply = RedisReply.array([.bulk(Array("9-0".utf8)),
                                      .array([entry("9-0", "c"), entry("8-1", "b"), .bulk([1]), entry("bad", "x"),
                                              entry("8-0", "a")])])
        let o = SharedEventStore.opening(reply)
        XCTAssertEqual(o?.newest, SharedEventId("9-0"))
        XCTAssertEqual(o?.entries.map { String(decoding: $0.payload, as: UTF8.self) }, ["a", "b", "c"])
        XCTAssertEqual(SharedEventStore.opening(.array([.bulk(Array("0-0".utf8))]))?.entries.count, 0)
        XCTAssertNil(SharedEventStore.opening(.error("DOWN")))
        XCTAssertNil(SharedEventStore.opening(.array([.bulk(Array("nope".utf8))])))
    }
}
