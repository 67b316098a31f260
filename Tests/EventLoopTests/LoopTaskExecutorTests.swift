@testable import EventLoop
import MCPCore
import XCTest

/// What a test saw, from whichever thread saw it.
private final class Record: @unchecked Sendable {
    private let lines = Locked<[String]>([])
    /// Read only on the loop thread (the test's own).
    let loop: Loop
    init(loop: Loop) { self.loop = loop }
    func add(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Tasks that prefer a loop's executor run on the loop thread, including after a suspension
/// resumed from another thread, and end-of-turn work runs before the loop sleeps again.
/// (Each test runs its loop on the test's own thread.)
final class LoopTaskExecutorTests: XCTestCase {
    func testTasksRunOnTheLoopThreadBeforeAndAfterSuspending() {
        let loop = Loop()
        let record = Record(loop: loop)
        let executor = LoopTaskExecutor(loop: loop)
        let watchdog = Timer(loop: loop) { record.add("watchdog"); loop.stop() }
        watchdog.start(after: 10_000) // keeps the loop alive while the task sleeps
        let kick = Timer(loop: loop) {
            record.add("kick")
            Task(executorPreference: executor) {
                record.add(record.loop.isCurrentThread ? "start on loop" : "start elsewhere")
                try? await Task.sleep(nanoseconds: 2_000_000) // resumed through the mailbox
                record.add(record.loop.isCurrentThread ? "resume on loop" : "resume elsewhere")
                record.loop.stop()
            }
            // Enqueued from the loop thread: runs at the end of this turn, not now.
            record.add("kick returns")
        }
        kick.start(after: 1)
        loop.run()
        XCTAssertEqual(record.all, ["kick", "kick returns", "start on loop", "resume on loop"])
    }

    func testEndOfTurnWorkRunsBeforeTheLoopWaitsAgain() {
        let loop = Loop()
        let record = Record(loop: loop)
        let t = Timer(loop: loop) {
            loop.runAtEndOfTurn {
                record.add("2")
                loop.runAtEndOfTurn { record.add("3") } // queued while draining
            }
            record.add("1")
        }
        t.start(after: 1)
        loop.run() // ends when the timer has fired and nothing else is active
        XCTAssertEqual(record.all, ["1", "2", "3"])
    }
}

/// Work that keeps queueing more work runs a bounded number of rounds per turn: timers (and
/// with them cancellations and heartbeats) still get their turn.
final class EndOfTurnFairnessTests: XCTestCase {
    func testSelfRequeueingWorkDoesNotStarveTimers() {
        let loop = Loop()
        let record = Record(loop: loop)
        nonisolated(unsafe) var rounds = 0
        nonisolated(unsafe) var roundsWhenTimerFired = -1
        func again() {
            rounds += 1
            if rounds < 2_000_000 && roundsWhenTimerFired < 0 { loop.runAtEndOfTurn(again) }
        }
        let stopper = Timer(loop: loop) {
            roundsWhenTimerFired = rounds
            record.add("timer")
            loop.stop()
        }
        stopper.start(after: 20)
        let kick = Timer(loop: loop) { loop.runAtEndOfTurn(again) }
        kick.start(after: 1)
        loop.run()
        XCTAssertEqual(record.all, ["timer"])
        XCTAssertGreaterThan(roundsWhenTimerFired, 8, "work ran across turns")
        XCTAssertLessThan(roundsWhenTimerFired, 2_000_000, "the timer fired while the work was still queueing more")
    }
}
