import Glibc
import Redis
import XCTest
@testable import FrontTier

/// The idle timeout across hosts: the outbox of uses a front flushes, the question a front asks
/// before expiring a session idle here (with a fake of the Redis side), and how a flush is cut
/// into script calls.
final class SessionActivityOutboxTests: XCTestCase {
    func testOneEntryPerSessionWithItsAgeAndNothingAfterDraining() {
        let o = SessionActivityOutbox(limit: 10)
        o.add(1); o.add(2); o.add(1)
        XCTAssertEqual(o.count, 2)
        let seen: [UInt64: UInt64] = [1: 95, 2: 100]
        let entries = o.drain(now: 100, unknownAge: 7) { seen[$0] }.sorted { $0.key < $1.key }
        XCTAssertEqual(entries, [.init(key: 1, age: 5), .init(key: 2, age: 0)])
        XCTAssertTrue(o.isEmpty)
        o.add(3)
        XCTAssertEqual(o.drain(now: 100, unknownAge: 7) { _ in nil }, [.init(key: 3, age: 7)],
                       "a session the table evicted was used since the last flush")
    }

    func testFullOutboxAsksToBeEmptiedThenDropsWhatItCannotHold() {
        let o = SessionActivityOutbox(limit: 3)
        var flushed: [SessionActivityOutbox.Entry] = []
        var redisUp = true
        o.onFull = { if redisUp { flushed += o.drain(now: 10, unknownAge: 1) { _ in 10 } } }
        for k in 1...3 { o.add(UInt64(k)) }
        o.add(2)
        XCTAssertTrue(flushed.isEmpty, "a session already in a full outbox needs no room")
        o.add(4)
        XCTAssertEqual(flushed.count, 3, "full: flushed at once")
        XCTAssertEqual(o.count, 1)
        redisUp = false
        for k in 5...9 { o.add(UInt64(k)) }
        XCTAssertEqual(o.count, 3, "bounded while it cannot be emptied")
        XCTAssertEqual(o.dropped, 3)
        let back = o.drain(now: 10, unknownAge: 1) { _ in 10 }
        o.putBack(back + [.init(key: 42, age: 0)])
        XCTAssertEqual(o.count, 3, "what a failed flush puts back stays within the bound")
    }
}

final class SessionIdleAcrossHostsTests: XCTestCase {
    /// The Redis side, answering when told to.
    final class FakeSharing: SessionActivitySharing {
        var canAsk = true
        let recheckAfter: UInt64 = 2
        var questions: [[UInt64]] = []
        var pending: [([SharedLastUse]) -> Void] = []
        var localDecisions = 0
        func lastUse(_ keys: [UInt64], _ done: @escaping ([SharedLastUse]) -> Void) {
            questions.append(keys)
            pending.append(done)
        }
        func decidedLocally() { localDecisions += 1 }
        func answer(_ a: [SharedLastUse]) { pending.removeFirst()(a) }
    }

    /// The session when `lookup` finds it idle here, else nil.
    private func idleHere(_ t: SessionTokens, _ id: String, now: UInt64) -> SessionTokens.Session? {
        var idle = false
        let s = t.lookup(id, now: now, idleHere: &idle)
        return idle ? s : nil
    }

    private func tokens(_ sharing: FakeSharing) -> (SessionTokens, SessionActivityOutbox) {
        let t = SessionTokens(key: [UInt8](repeating: 7, count: 32), versions: ["2025-11-25"], runDir: nil,
                              idleTimeout: 10)
        return (t, t.share(activity: sharing))
    }

    func testUsesGoToTheOutboxOncePerSecondAndNotAtInitialize() {
        let (t, outbox) = tokens(FakeSharing())
        let s = t.issue(protocolVersion: "2025-11-25", now: 1_000)
        XCTAssertTrue(outbox.isEmpty, "every host knows when a session was made: from its id")
        _ = t.use(s.id, now: 1_001)
        _ = t.use(s.id, now: 1_001)
        XCTAssertEqual(outbox.count, 1)
        _ = outbox.drain(now: 1_001, unknownAge: 1) { _ in nil }
        _ = t.use(s.id, now: 1_001)
        XCTAssertTrue(outbox.isEmpty, "a second already recorded on this host is not told again")
        _ = t.use(s.id, now: 1_002)
        XCTAssertEqual(outbox.count, 1)
    }

    func testASessionIdleHereIsAskedAboutAndServedWhenAnotherHostUsedIt() {
        let sharing = FakeSharing()
        let (t, outbox) = tokens(sharing)
        let now = UInt64(time(nil))
        let s = t.issue(protocolVersion: "2025-11-25", now: UInt32(now - 60))
        guard let idle = idleHere(t, s.id, now: now) else { return XCTFail("idle here") }
        var got: [SessionTokens.Session?] = []
        XCTAssertTrue(t.confirm(idle, now: now) { got.append($0) })
        XCTAssertTrue(t.confirm(idle, now: now) { got.append($0) })
        XCTAssertEqual(sharing.questions, [[SessionActivity.key(s.id)]], "one question for both requests")
        XCTAssertTrue(got.isEmpty, "suspended until Redis answers")
        sharing.answer([.secondsAgo(3)])
        XCTAssertEqual(got, [s, s])
        XCTAssertEqual(outbox.count, 1, "served here: a use to tell of")
        var stillIdle = false
        XCTAssertEqual(t.lookup(s.id, idleHere: &stillIdle), s)
        XCTAssertFalse(stillIdle, "the use is recorded here")
    }

    func testASessionNoHostUsedIsRefusedAndNotAskedAgainAtOnce() {
        let sharing = FakeSharing()
        let (t, _) = tokens(sharing)
        let now = UInt64(time(nil))
        for answer in [SharedLastUse.none, .secondsAgo(11)] {
            let s = t.issue(protocolVersion: "2025-11-25", now: UInt32(now - 60))
            guard let idle = idleHere(t, s.id, now: now) else { return XCTFail("idle here") }
            var got: [SessionTokens.Session?] = [s]
            XCTAssertTrue(t.confirm(idle, now: now) { got = [$0] })
            sharing.answer([answer])
            XCTAssertEqual(got, [nil], "\(answer)")
            let asked = sharing.questions.count
            XCTAssertFalse(t.confirm(idle, now: now + 1) { _ in XCTFail("refused without asking") })
            XCTAssertEqual(sharing.questions.count, asked)
            XCTAssertTrue(t.confirm(idle, now: now + 5) { _ in }, "asked again after recheckAfter")
            sharing.answer([.none])
        }
    }

    func testRedisAwayDecidesLocallyAndAnErrorAnswerToo() {
        let sharing = FakeSharing()
        let (t, _) = tokens(sharing)
        let now = UInt64(time(nil))
        let s = t.issue(protocolVersion: "2025-11-25", now: UInt32(now - 60))
        guard let idle = idleHere(t, s.id, now: now) else { return XCTFail("idle here") }
        sharing.canAsk = false
        XCTAssertFalse(t.confirm(idle, now: now) { _ in XCTFail("not asked") })
        XCTAssertEqual(sharing.localDecisions, 1)
        sharing.canAsk = true
        var got: [SessionTokens.Session?] = [s]
        XCTAssertTrue(t.confirm(idle, now: now) { got = [$0] })
        sharing.answer([.unknown])
        XCTAssertEqual(got, [nil])
        XCTAssertEqual(sharing.localDecisions, 2)
        XCTAssertTrue(t.confirm(idle, now: now) { _ in }, "an unknown answer is not remembered as a refusal")
    }

    func testADeletionWhileAskingWins() {
        let sharing = FakeSharing()
        let (t, _) = tokens(sharing)
        let now = UInt64(time(nil))
        let s = t.issue(protocolVersion: "2025-11-25", now: UInt32(now - 60))
        guard let idle = idleHere(t, s.id, now: now) else { return XCTFail("idle here") }
        var got: [SessionTokens.Session?] = [s]
        XCTAssertTrue(t.confirm(idle, now: now) { got = [$0] })
        t.revoke(s.id)
        sharing.answer([.secondsAgo(1)])
        XCTAssertEqual(got, [nil])
    }

    func testWithoutSharingASessionIdleHereIsRefusedAtOnce() {
        let t = SessionTokens(key: [UInt8](repeating: 7, count: 32), versions: ["2025-11-25"], runDir: nil,
                              idleTimeout: 10)
        let s = t.issue(protocolVersion: "2025-11-25", now: 1_000)
        var idle = false
        XCTAssertNil(t.lookup(s.id, now: 1_011, idleHere: &idle))
        XCTAssertFalse(idle)
    }

    func testSweepKeepsTheLevelOfASessionAnotherHostUses() {
        let sharing = FakeSharing()
        let (t, _) = tokens(sharing)
        let now = UInt64(time(nil))
        let used = t.issue(protocolVersion: "2025-11-25", now: UInt32(now))
        let gone = t.issue(protocolVersion: "2025-11-25", now: UInt32(now))
        t.setLevel(used.id, "error")
        t.setLevel(gone.id, "error")
        t.sweep(now: now + 20)
        XCTAssertEqual(sharing.questions.count, 1)
        XCTAssertEqual(Set(sharing.questions[0]), [SessionActivity.key(used.id), SessionActivity.key(gone.id)])
        let answers = sharing.questions[0].map { $0 == SessionActivity.key(used.id) ? SharedLastUse.secondsAgo(4) : .none }
        sharing.answer(answers)
        XCTAssertEqual(t.level(used.id), "error")
        XCTAssertNil(t.level(gone.id))
    }
}

final class SharedActivityRedisTests: XCTestCase {
    func testFlushIsCutIntoOneCallPerSetOfAtMostAChunk() {
        let shards = UInt64(SharedActivityRedis.shards)
        var entries: [SessionActivityOutbox.Entry] = []
        for i in 0..<2_500 { entries.append(.init(key: UInt64(i) * shards + 3, age: 1)) }
        entries.append(.init(key: 5, age: 2))
        let calls = SharedActivityRedis.batches(entries)
        XCTAssertEqual(calls.map(\.shard), [3, 3, 3, 5])
        XCTAssertEqual(calls.map(\.entries.count), [1_000, 1_000, 500, 1])
        XCTAssertEqual(calls.flatMap(\.entries).count, entries.count)
        XCTAssertTrue(SharedActivityRedis.batches([]).isEmpty)
    }

    func testMembersFlushIntervalAndAnswers() {
        XCTAssertEqual(String(decoding: SharedActivityRedis.member(0x0123_4567_89ab_cdef), as: UTF8.self),
                       "0123456789abcdef")
        XCTAssertEqual(String(decoding: SharedActivityRedis.shardKey(15), as: UTF8.self), "sy:activity:15")
        XCTAssertEqual(SharedActivityRedis.flushInterval(idleTimeout: 4), 1)
        XCTAssertEqual(SharedActivityRedis.flushInterval(idleTimeout: 80), 10)
        XCTAssertEqual(SharedActivityRedis.flushInterval(idleTimeout: 3600), 60)
        XCTAssertEqual(SharedActivityRedis.ages(.array([.integer(3), .integer(-1)]), count: 2), [.secondsAgo(3), .none])
        XCTAssertNil(SharedActivityRedis.ages(.array([.integer(3)]), count: 2))
        XCTAssertNil(SharedActivityRedis.ages(.error("OOM command not allowed"), count: 1))
        XCTAssertNil(SharedActivityRedis.ages(.array([.bulk([0x31])]), count: 1))
    }
}
