import DemoTools
import EventLoop
@testable import FrontTier
import Glibc
import MCPCore
@testable import ToolSDK
import XCTest

/// 10,000 cancelled tools/calls leave no handle behind, on either side of the link. The front
/// (`CallRouter.cancel` → `FrontLink.cancel`: a CANCEL frame) and a real executor (its
/// `ExecutorLink` cancels the task and arms a cancel-grace timer) share one loop and talk over
/// the executor's Unix socket. Every call is started, cancelled and answered; the count of
/// open handles is taken once every answer is back and must equal the count before the first
/// call. Then the executor drains and stops, and must leave nothing open at all.
final class CancellationHandleTests: XCTestCase {
    func testTenThousandCancelledCallsLeaveNoHandle() throws {
        let dir = try TempDirectory("sy-cancel")
        defer { dir.remove() }
        let executors = dir.path + "/executors"
        mkdir(executors, 0o700)
        let emptyLoop = Loop().registeredHandles
        // A grace far longer than the test: a cancel-grace timer that outlives its call shows.
        let runtime = ExecutorRuntime(options: .init(name: "lifecycle-0", socketPath: executors + "/lifecycle-0.sock",
                                                     cancelGraceMs: 600_000),
                                      pack: ToolPack(DemoPack.tools))
        let loop = runtime.loop
        let front = FrontCalls(loop: loop, executorDirectory: executors, arguments: #"{"ms":600000}"#)
        let guardTimer = watchdog(loop, seconds: 120)
        let wave = 100
        var baseline = -1, afterCancellations = -1, cancelled = 0, linked = false, done = false

        let poll = Timer(loop: loop) {
            if !linked {
                // The executor listens once `run()` has started: link to it when it does.
                if front.pool.readyLinks.count == 1 {
                    linked = true
                    baseline = loop.openHandles
                } else if front.pool.allLinks.isEmpty {
                    front.pool.scan()
                }
                return
            }
            // The next wave once every call of the last one has its answer (READY + one each).
            guard !done, front.framesIn == 1 + UInt64(cancelled) else { return }
            if cancelled == lifecycleRounds {
                done = true
                afterCancellations = loop.openHandles
                front.pool.shutdown() // GOODBYE: the executor closes its end of the link
                raise(SIGTERM)        // the executor drains and stops its loop
                return
            }
            for _ in 0..<wave {
                let call = front.submit("sleep_ms")
                front.router.cancel(call, reason: "lifecycle test")
            }
            cancelled += wave
        }
        poll.start(after: 1, repeat: 1)
        poll.unref()

        let log = try capturingStderr {
            XCTAssertEqual(try runtime.run(), 0)
        }
        poll.close()
        guardTimer.close()
        loop.run() // the close callbacks of what closed as the loop stopped

        XCTAssertTrue(done, "stopped after \(cancelled) cancellations")
        XCTAssertEqual(front.failed.count, lifecycleRounds)
        XCTAssertTrue(front.failed.allSatisfy { $0.message.hasPrefix("request cancelled") })
        XCTAssertEqual(front.answered, 0)
        XCTAssertEqual(log.components(separatedBy: "request cancelled").count - 1, lifecycleRounds,
                       "every call ran in the executor and was cancelled there")
        XCTAssertGreaterThan(baseline, 0)
        XCTAssertEqual(afterCancellations, baseline, "cancelled calls left handles open")
        XCTAssertEqual(loop.registeredHandles, emptyLoop, "the stopped executor left handles on its loop")
    }
}
