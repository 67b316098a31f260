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

    func testOpeningReadsEachEntrysTag() {
        let reply = RedisReply.array([.bulk(Array("9-0".utf8)), .array([
            .array([.bulk(Array("9-0".utf8)), .array([.bulk(Array("m".utf8)), .bulk(Array("c".utf8)),
                                                     .bulk(Array("o".utf8)), .bulk(Array("ab12.3".utf8))])]),
            .array([.bulk(Array("8-0".utf8)), .array([.bulk(Array("o".utf8)), .bulk(Array("{bad".utf8)),
                                                     .bulk(Array("m".utf8)), .bulk(Array("b".utf8))])]),
        ])])
        let o = SharedEventStore.opening(reply)
        XCTAssertEqual(o?.entries.map { $0.tag.map { String(decoding: $0, as: UTF8.self) } }, [nil, "ab12.3"])
    }

    func testChannelMessagesWithAndWithoutTag() throws {
        let tagged = try XCTUnwrap(SharedEventStore.channelMessage(Array("5-1 f00d.1a {\"method\":\"x\"}".utf8)))
        XCTAssertEqual(tagged.id, SharedEventId("5-1"))
        XCTAssertEqual(tagged.tag, Array("f00d.1a".utf8))
        XCTAssertEqual(tagged.payload, Array("{\"method\":\"x\"}".utf8))
        // An appender that sends no tag: the payload follows the id.
        let plain = try XCTUnwrap(SharedEventStore.channelMessage(Array("5-2 {\"method\":\"y z\"}".utf8)))
        XCTAssertNil(plain.tag)
        XCTAssertEqual(plain.payload, Array("{\"method\":\"y z\"}".utf8))
        for bad in ["", "5-1", "x-1 t {}", "05-1 t {}"] {
            XCTAssertNil(SharedEventStore.channelMessage(Array(bad.utf8)), bad)
        }
        XCTAssertFalse(SharedEventStore.isTag(Array(String(repeating: "a", count: 65).utf8)))
        XCTAssertFalse(SharedEventStore.isTag(Array("A".utf8)))
    }

    /// Front 0's appends: a lost reply is delivered once, whichever of the channel's copy and the
    /// failed answer comes first; the log's copy is skipped only for streams that had it.
    func testLedgerDeliversALostReplyOnce() {
        var ledger = SharedDeliveryLedger(maxLocal: 2, maxAgeMs: 1_000)
        let t1 = Array("p.1".utf8), t2 = Array("p.2".utf8), t3 = Array("p.3".utf8), t4 = Array("p.4".utf8)
        // Stored: the channel delivers, nothing local.
        ledger.appending(t1)
        XCTAssertFalse(ledger.appended(t1, stored: true, now: 10))
        XCTAssertTrue(ledger.arrived(t1))
        // The channel's copy first, then the reply is lost: delivered once, from the channel.
        ledger.appending(t2)
        XCTAssertTrue(ledger.arrived(t2))
        XCTAssertFalse(ledger.appended(t2, stored: false, now: 20))
        // The reply lost first: delivered locally; the channel's copy and the log's are not again.
        ledger.appending(t3)
        XCTAssertTrue(ledger.appended(t3, stored: false, now: 30))
        XCTAssertFalse(ledger.arrived(t3))
        XCTAssertEqual(ledger.localAt(t3), 30, "streams opened later never had it")
        XCTAssertNil(ledger.localAt(t1))
        XCTAssertEqual(ledger.pendingCount, 0)
        // Bounded by count and by age.
        ledger.appending(t4)
        XCTAssertTrue(ledger.appended(t4, stored: false, now: 40))
        ledger.appending(t1)
        XCTAssertTrue(ledger.appended(t1, stored: false, now: 50))
        XCTAssertEqual(ledger.localCount, 2)
        XCTAssertTrue(ledger.arrived(t3), "the oldest was dropped for the newest")
        ledger.trim(1_045)
        XCTAssertEqual(ledger.localCount, 1)
        XCTAssertTrue(ledger.arrived(t4))
        XCTAssertFalse(ledger.arrived(t1))
    }

    /// Fronts other than 0: each entry of the host pairs with one copy, by payload, oldest first,
    /// whichever came first; a copy delivered locally makes its entry reach only later streams.
    func testHostCopiesPairEachEntryWithOneCopy() {
        var copies = SharedHostCopies(maxCount: 2, maxAgeMs: 1_000, earlyMs: 100)
        let x = Array("x".utf8), y = Array("y".utf8)
        // The copy first, then its entry: delivered from the entry, once.
        XCTAssertNil(copies.copy(x, now: 0))
        XCTAssertEqual(copies.entry(x, now: 5), .deliver)
        XCTAssertTrue(copies.expire(olderThan: 0, now: 10).isEmpty, "settled, never delivered locally")
        // The copy waits too long: delivered locally; its entry then only reaches later streams.
        XCTAssertNil(copies.copy(y, now: 20))
        XCTAssertEqual(copies.expire(olderThan: 50, now: 60), [])
        XCTAssertEqual(copies.expire(olderThan: 50, now: 70), [y])
        XCTAssertEqual(copies.entry(y, now: 80), .deliveredLocally(at: 70))
        // Delivered locally while off the log, then the entry: the same.
        copies.deliveredLocally(x, now: 90)
        XCTAssertEqual(copies.entry(x, now: 95), .deliveredLocally(at: 90))
        // The entry before the copy: delivered from the entry; the copy is settled when it comes.
        XCTAssertEqual(copies.entry(y, now: 100), .deliver)
        XCTAssertNil(copies.copy(y, now: 101))
        XCTAssertTrue(copies.waiting.isEmpty)
        // ...but not after the early window.
        XCTAssertEqual(copies.entry(y, now: 200), .deliver)
        XCTAssertNil(copies.copy(y, now: 400))
        XCTAssertEqual(copies.waiting.count, 1)
        // Bounded: a full list delivers its oldest copy at once.
        XCTAssertNil(copies.copy(x, now: 401))
        XCTAssertEqual(copies.copy(x, now: 402), y)
        XCTAssertEqual(copies.local.last?.payload, y)
        // Local deliveries are forgotten after the log's age bound.
        copies.trim(1_402)
        XCTAssertEqual(copies.local.map { $0.payload }, [y])
        copies.trim(1_403)
        XCTAssertTrue(copies.local.isEmpty)
    }
}
