import CLibUV
import EventLoop
import XCTest
@testable import BenchClient

final class PreciseTimerTests: XCTestCase {
    /// Fires once, not before its instant; re-arming for an earlier instant takes effect;
    /// closing leaves no handle on the loop.
    func testFiresOnceAtItsInstantAndCloses() throws {
        let loop = Loop()
        let before = loop.openHandles
        var firedAt: [UInt64] = []
        var timer: PreciseTimer?
        timer = try XCTUnwrap(PreciseTimer(loop: loop) { firedAt.append(uv_hrtime()) })
        let start = uv_hrtime()
        timer?.arm(at: start + 50_000_000)
        timer?.arm(at: start + 3_000_000) // the later call wins, as timerfd_settime does
        // A libuv timer keeps the loop alive (the precise timer does not) and ends the test.
        let stop = Timer(loop: loop) { timer?.close(); loop.stop() }
        stop.start(after: 100, repeat: 0)
        loop.run()
        stop.close()
        loop.run() // close callbacks
        XCTAssertEqual(firedAt.count, 1)
        XCTAssertGreaterThanOrEqual(firedAt[0], start + 3_000_000)
        XCTAssertLessThan(firedAt[0], start + 50_000_000)
        XCTAssertEqual(loop.openHandles, before)
    }
}
