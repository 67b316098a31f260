import EventLoop
import Glibc
@testable import Supervisor
import XCTest

/// A supervisor restarting a child that exits at once, then giving up on it (the restart
/// intensity is the count), leaves no handle behind. Each start arms a ready watchdog, each
/// restart after the first waits on a backoff timer (1 ms), and each child is a process handle
/// plus a readiness pipe: all closed and freed as the child exits or the timer fires.
///
/// Every restart forks and execs a real process (about 4 ms here, 7 ms at 10,000 as the test
/// process grows), so the suite runs 1,000; SWITCHYARD_LIFECYCLE_RESTARTS=10000 runs the
/// issue's full count (about 75 s on a 2-core machine).
final class SupervisorRestartHandleTests: XCTestCase {
    func testRestartsLeaveNoHandle() throws {
        let restarts = Int(ProcessInfo.processInfo.environment["SWITCHYARD_LIFECYCLE_RESTARTS"] ?? "") ?? 1_000
        let policy = RestartPolicy(restart: .permanent, intensity: restarts, periodMs: 3_600_000,
                                   baseDelayMs: 1, maxDelayMs: 1, jitter: 0, stableAfterMs: 3_600_000)
        let spec = ChildSpec(name: "flapping", role: .executor, argv: ["/bin/true"], policy: policy)
        let supervisor = Supervisor(executors: [spec], fronts: [], options: .init(readyLine: "unused"))
        let loop = supervisor.loop
        let guardTimer = watchdog(loop, seconds: 300)
        let before = loop.openHandles
        var status: Int32 = -1
        let log = capturingStderr { status = supervisor.run() }

        XCTAssertEqual(status, 1, "the supervisor gives up once the child used its restarts")
        // One "restarting" line per restart, each with its delay.
        XCTAssertEqual(log.components(separatedBy: "afterMs").count - 1, restarts)
        XCTAssertTrue(log.contains("GIVING UP"))
        XCTAssertEqual(loop.openHandles, before, "restarts left handles open")
        guardTimer.close()
        loop.run()
        XCTAssertEqual(loop.registeredHandles, before - 1, "close callbacks still pending")
    }
}
