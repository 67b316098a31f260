@testable import EventLoop
import XCTest

/// Log lines stay one line and quote what needs quoting, in both formats.
final class LogTests: XCTestCase {
    func testLogfmtQuotesOnlyWhatNeedsIt() {
        XCTAssertEqual(Log.quote("plain"), "plain")
        XCTAssertEqual(Log.quote(""), #""""#)
        XCTAssertEqual(Log.quote("two words"), #""two words""#)
        XCTAssertEqual(Log.quote("k=v"), #""k=v""#)
        XCTAssertEqual(Log.quote("say \"hi\" \\ bye"), #""say \"hi\" \\ bye""#)
        XCTAssertEqual(Log.quote("a\nb\r\tc\u{1}\u{7f}"), #""a\nb\r\tc\u0001\u007f""#)
        XCTAssertEqual(Log.quote("héllo"), #""héllo""#, "non-ASCII is quoted, not escaped")
    }

    func testLinesInBothFormats() {
        let fields = [("tool", "echo"), ("error", "a \"b\"\nc")]
        XCTAssertEqual(Log.format(level: .warning, component: "front", pid: 12, message: "call failed",
                                  fields: fields, time: "2026-01-02T03:04:05.006Z"),
                       #"ts=2026-01-02T03:04:05.006Z level=warn component=front pid=12 msg="call failed" "#
                           + #"tool=echo error="a \"b\"\nc""#)
        XCTAssertEqual(Log.json(level: .info, component: "executor", pid: 7, message: "m", fields: fields),
                       #"{"level":"info","component":"executor","pid":7,"msg":"m","tool":"echo","#
                           + #""error":"a \"b\"\nc"}"#)
    }

    func testTimestampIsRFC3339UTCWithMilliseconds() {
        let t = Log.timestamp()
        XCTAssertEqual(t.count, 24, t)
        XCTAssertTrue(t.hasSuffix("Z") && t.dropFirst(10).hasPrefix("T") && t.dropFirst(19).hasPrefix("."), t)
    }
}
