@testable import FrontTier
import XCTest

/// `Last-Event-ID`: only the spelling this front gives its event ids names an event.
final class EventIdTests: XCTestCase {
    func testTheIdsAFrontSpellsParseBack() {
        for (key, seq) in [(UInt64(0), UInt64(0)), (1, 7), (.max, .max)] {
            let id = Listeners.eventId(front: 2, key: key, seq: seq)
            XCTAssertEqual(Listeners.parseEventId(id, front: 2).map { [$0.key, $0.seq] }, [key, seq])
            XCTAssertNil(Listeners.parseEventId(id, front: 1), "another front's id")
        }
    }

    func testOtherSpellingsAreRefused() {
        for id in ["", "0.1", "0.1.2.3", "0..1.2", ".0.1.2", "0.1.2.", "+0.1.2", "-0.1.2", "0.+1.2", "0.01.2", "00.1.2",
                   "0.1.02", " 0.1.2", "0.1.2 ", "0.1.18446744073709551616", "0.1.2\u{0}", "0.1.x", "٠.1.2"] {
            XCTAssertNil(Listeners.parseEventId(id, front: 0), id.debugDescription)
        }
    }
}
