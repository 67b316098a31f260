import Supervisor
import XCTest

/// The restart policy against a fake clock: times are plain numbers.
final class RestartPolicyTests: XCTestCase {
    func testFirstRestartIsImmediateThenBacksOffExponentially() {
        var p = RestartPolicy(intensity: 100, periodMs: 1_000_000, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0)
        var now: UInt64 = 0
        var delays: [UInt64] = []
        for _ in 0..<7 {
            guard case .restart(let d) = p.onExit(clean: false, upForMs: 5, now: now, random: 0.5) else {
                return XCTFail()
            }
            delays.append(d)
            now += d + 5
        }
        XCTAssertEqual(delays, [0, 100, 200, 400, 800, 1000, 1000])
    }

    func testGivesUpWhenIntensityIsExceededWithinThePeriod() {
        var p = RestartPolicy(intensity: 3, periodMs: 10_000, jitter: 0)
        XCTAssertEqual(p.onExit(clean: false, upForMs: 1, now: 0, random: 0), .restart(afterMs: 0))
        XCTAssertNotEqual(p.onExit(clean: false, upForMs: 1, now: 100, random: 0),
                          .giveUp(restarts: 2, periodMs: 10_000))
        _ = p.onExit(clean: false, upForMs: 1, now: 400, random: 0)
        XCTAssertEqual(p.onExit(clean: false, upForMs: 1, now: 900, random: 0), .giveUp(restarts: 3, periodMs: 10_000))
    }

    func testOldRestartsLeaveTheWindowAndStableRunsResetBackoff() {
        var p = RestartPolicy(intensity: 2, periodMs: 1_000, baseDelayMs: 100, jitter: 0, stableAfterMs: 5_000)
        _ = p.onExit(clean: false, upForMs: 1, now: 0, random: 0)
        _ = p.onExit(clean: false, upForMs: 1, now: 500, random: 0)
        // 2 s later both are outside the 1 s window; the child ran 6 s, so backoff restarts at 0.
        XCTAssertEqual(p.onExit(clean: false, upForMs: 6_000, now: 8_000, random: 0), .restart(afterMs: 0))
    }

    func testJitterStaysWithinItsFraction() {
        for r in [0.0, 0.25, 0.999] {
            var p = RestartPolicy(intensity: 10, baseDelayMs: 1_000, maxDelayMs: 10_000, jitter: 0.2)
            _ = p.onExit(clean: false, upForMs: 1, now: 0, random: r)
            guard case .restart(let d) = p.onExit(clean: false, upForMs: 1, now: 10, random: r) else {
                return XCTFail()
            }
            XCTAssertTrue((800...1200).contains(d), "\(d)")
        }
    }

    func testTransientChildThatExitsCleanlyStaysDown() {
        var p = RestartPolicy(restart: .transient)
        XCTAssertEqual(p.onExit(clean: true, upForMs: 1, now: 0, random: 0), .stop)
        XCTAssertEqual(p.onExit(clean: false, upForMs: 1, now: 0, random: 0), .restart(afterMs: 0))
        var q = RestartPolicy(restart: .permanent)
        XCTAssertEqual(q.onExit(clean: true, upForMs: 1, now: 0, random: 0), .restart(afterMs: 0))
    }
}
