import HTTPClient
import XCTest

/// The event-stream decoder fed whole and one byte at a time, with every kind of line end.
final class SSEParserTests: XCTestCase {
    func events(_ text: String, byteAtATime: Bool) throws -> [SSEEvent] {
        var parser = SSEParser(maxEvent: 1024)
        var out: [SSEEvent] = []
        let bytes = Array(text.utf8)
        if byteAtATime {
            for b in bytes { try [b].withUnsafeBytes { try parser.feed($0) { out.append($0) } } }
        } else {
            try bytes.withUnsafeBytes { try parser.feed($0) { out.append($0) } }
        }
        return out
    }

    func both(_ text: String) throws -> [SSEEvent] {
        let whole = try events(text, byteAtATime: false)
        XCTAssertEqual(whole, try events(text, byteAtATime: true), text)
        return whole
    }

    func testDataLinesJoinAndBlankLineDispatches() throws {
        let e = try both("event: message\ndata: {\"a\":1}\n\ndata: one\ndata: two\n\n")
        XCTAssertEqual(e.map { String(decoding: $0.data, as: UTF8.self) }, ["{\"a\":1}", "one\ntwo"])
        XCTAssertEqual(e.map(\.event), ["message", "message"])
    }

    func testLineEndingsCRLFAndCR() throws {
        let e = try both("data: a\r\n\r\ndata: b\r\rdata:c\n\n")
        XCTAssertEqual(e.map { String(decoding: $0.data, as: UTF8.self) }, ["a", "b", "c"])
    }

    func testCommentsIdsAndEventTypes() throws {
        let e = try both(": keep-alive\n\nid: 7\ndata:\n\nevent: ping\nid: 8\ndata: x\nretry: 100\n\n")
        // An event whose only data line is empty still dispatches (data ""); a comment alone does not.
        XCTAssertEqual(e.count, 2)
        XCTAssertEqual(e[0].id, "7")
        XCTAssertEqual(e[0].data, [])
        XCTAssertEqual(e[1].event, "ping")
        XCTAssertEqual(e[1].id, "8")
    }

    func testIncompleteEventIsNotDispatched() throws {
        XCTAssertEqual(try both("data: half"), [])
        XCTAssertEqual(try both("data: half\n"), [])
    }

    func testOversizedEventIsRefused() {
        let big = "data: " + String(repeating: "x", count: 2000) + "\n\n"
        XCTAssertThrowsError(try events(big, byteAtATime: false))
    }
}
