import EventLoop
@testable import FrontTier
import XCTest

/// The two tiers together on a real loop, with a fake shared tier: a shared hit fills memory, a
/// store that does not answer is a miss after `remoteWaitMs`, answers out of order go to their own
/// lookups, a late answer is dropped, a store that is down is not asked, and values are sealed.
final class ResultCacheTierTests: XCTestCase {
    final class FakeStore: RemoteResultStore {
        var isUp = true
        var values: [[UInt8]: [UInt8]] = [:]
        var pending: [(key: [UInt8], done: ([UInt8]?) -> Void)] = []
        var answerAtOnce = true
        var gets = 0

        func get(_ key: [UInt8], _ done: @escaping ([UInt8]?) -> Void) {
            gets += 1
            if answerAtOnce { done(values[key]) } else { pending.append((key, done)) }
        }

        func set(_ key: [UInt8], _ value: [UInt8], ttlMs: UInt64) { values[key] = value }
    }

    private func key(_ args: String) -> ResultKey {
        Array(args.utf8).withUnsafeBytes {
            ResultKey.make(tool: "t", era: "handshake", version: "2025-11-25", owner: nil, arguments: $0)!
        }
    }

    /// Runs the loop until `done` or `ms` pass.
    private func spin(_ loop: Loop, ms: UInt64, until done: @escaping () -> Bool) {
        let poll = Timer(loop: loop) { if done() { loop.stop() } }
        poll.start(after: 1, repeat: 1)
        let stop = Timer.once(loop: loop, after: ms) { loop.stop() }
        loop.run()
        poll.close()
        stop.close()
        loop.run() // let the closes finish
    }

    func testSharedTier() {
        let loop = Loop()
        let baseline = loop.openHandles
        let cache = ResultCache(loop: loop, log: Log("test"), maxBytes: 1 << 20, sessionKey: [UInt8](repeating: 9, count: 32))
        let store = FakeStore()
        cache.remote = store
        let k = key(#"{"a":1}"#), result = Array(#"{"content":[],"x":1}"#.utf8)

        // A host stores: memory and, sealed, the shared tier.
        cache.store(k, ttlMs: 60_000, result)
        XCTAssertEqual(store.values.count, 1)
        XCTAssertNotEqual(store.values.first?.value, result, "sealed, not the plaintext")

        // Another front (same session key) finds it in the shared tier, then in its memory.
        let other = ResultCache(loop: loop, log: Log("test"), maxBytes: 1 << 20, sessionKey: [UInt8](repeating: 9, count: 32))
        other.remote = store
        XCTAssertNil(other.lookupMemory(k))
        var got: [UInt8]?? = .none
        XCTAssertTrue(other.lookupRemote(k) { got = .some($0) })
        XCTAssertEqual(got, .some(result))
        XCTAssertEqual(other.lookupMemory(k), result, "a shared hit fills memory")

        // Another server key: the sealed value does not open, a miss.
        let stranger = ResultCache(loop: loop, log: Log("test"), maxBytes: 1 << 20, sessionKey: [UInt8](repeating: 8, count: 32))
        stranger.remote = store
        got = .none
        XCTAssertTrue(stranger.lookupRemote(k) { got = .some($0) })
        XCTAssertEqual(got, .some(nil))

        // Down: not asked at all.
        store.isUp = false
        let gets = store.gets
        XCTAssertFalse(stranger.lookupRemote(k) { _ in XCTFail("not called when down") })
        XCTAssertEqual(store.gets, gets)

        // A store that does not answer: a miss once remoteWaitMs have passed, and its late
        // answer is dropped.
        store.isUp = true
        store.answerAtOnce = false
        var waited: [UInt8]?? = .none
        let started = loop.now
        XCTAssertTrue(other.lookupRemote(key(#"{"slow":1}"#)) { waited = .some($0) })
        spin(loop, ms: 2_000) { waited != nil }
        XCTAssertEqual(waited, .some(nil))
        XCTAssertGreaterThanOrEqual(loop.now - started, ResultCache.remoteWaitMs)
        XCTAssertLessThan(loop.now - started, 1_000)
        store.pending.removeFirst().done(store.values.first?.value) // too late: nothing happens

        // Answers out of order reach their own lookups.
        var first: [UInt8]?? = .none, second: [UInt8]?? = .none
        XCTAssertTrue(stranger.lookupRemote(key(#"{"n":1}"#)) { first = .some($0) })
        XCTAssertTrue(other.lookupRemote(k) { second = .some($0) })
        XCTAssertTrue(other.lookupRemote(key(#"{"n":2}"#)) { _ in })
        let answers = store.pending
        store.pending.removeAll()
        answers[1].done(store.values[answers[1].key])
        XCTAssertEqual(second, .some(result))
        XCTAssertEqual(first, .none)
        answers[0].done(nil)
        XCTAssertEqual(first, .some(nil))
        other.close()
        stranger.close()
        cache.close()
        answers[2].done(nil) // after close: dropped
        loop.run()
        XCTAssertEqual(loop.openHandles, baseline, "the sweep timers are closed")
    }
}
