import EventLoop
import XCTest

/// One-shot timers, fired or cancelled 10,000 times each, leave no handle on the loop: a timer
/// closes itself after firing once, closing cancels it, and every handle is freed (and its
/// `Timer` released) in the close callback.
final class TimerHandleTests: XCTestCase {
    func testTenThousandFiredAndTenThousandCancelledOneShotsLeaveNoHandle() {
        let loop = Loop()
        let before = loop.openHandles
        var fired = 0
        var samples: [WeakRef<EventLoop.Timer>] = []
        for i in 0..<lifecycleRounds {
            let t = Timer(loop: loop) { fired += 1 }
            t.start(after: UInt64(i % 3))
            if i % 100 == 0 { samples.append(WeakRef(t)) }
        }
        var cancelled: [EventLoop.Timer] = []
        for _ in 0..<lifecycleRounds {
            let t = Timer(loop: loop) { XCTFail("a cancelled timer fired") }
            t.start(after: 600_000)
            cancelled.append(t)
        }
        XCTAssertEqual(loop.openHandles, before + 2 * lifecycleRounds)
        for t in cancelled { t.close() }
        for t in cancelled.prefix(100) { t.close() } // cancelling twice is harmless
        samples += cancelled.enumerated().filter { $0.offset % 100 == 0 }.map { WeakRef($0.element) }
        cancelled.removeAll()

        loop.run() // returns once no timer is active: every one-shot has fired
        XCTAssertEqual(fired, lifecycleRounds)
        XCTAssertEqual(loop.openHandles, before, "fired or cancelled one-shot timers still hold handles")
        XCTAssertEqual(loop.registeredHandles, before, "close callbacks still pending")
        XCTAssertEqual(samples.filter { $0.object != nil }.count, 0, "timers kept alive by their handles")
    }

    /// A one-shot that arms itself again from its callback stays open until its last firing;
    /// one closed from its own callback closes once.
    func testRearmedAndSelfClosedOneShots() {
        let loop = Loop()
        let before = loop.openHandles
        var firings = 0, selfClosed = 0
        var samples: [WeakRef<EventLoop.Timer>] = []
        do {
            // The callbacks reach their timer through a holder only they keep: nothing but the
            // handle keeps the timers alive once this block ends.
            let rearming = Holder(), selfClosing = Holder()
            rearming.timer = Timer(loop: loop) {
                firings += 1
                if firings < 3 { rearming.timer?.start(after: 1) }
            }
            selfClosing.timer = Timer(loop: loop) {
                selfClosed += 1
                selfClosing.timer?.close()
                selfClosing.timer?.close()
            }
            rearming.timer?.start(after: 1)
            selfClosing.timer?.start(after: 1)
            samples = [WeakRef(rearming.timer!), WeakRef(selfClosing.timer!)]
        }
        loop.run()
        XCTAssertEqual(firings, 3)
        XCTAssertEqual(selfClosed, 1)
        XCTAssertEqual(loop.registeredHandles, before)
        XCTAssertNil(samples[0].object)
        XCTAssertNil(samples[1].object)
    }
}

private final class Holder {
    var timer: EventLoop.Timer?
}
