@testable import FrontTier
import MCPCore
import XCTest

/// A POST sends JSON (415 otherwise) and accepts JSON or SSE answers (406 otherwise); the
/// answer's framing follows what it accepts.
final class PipelineMediaTypeTests: XCTestCase {
    private func ping(_ h: PipelineHarness, id: Int, accept: String?, contentType: String? = "application/json",
                      file: StaticString = #filePath, line: UInt = #line) -> HTTPAnswer? {
        let session = h.initialize(file: file, line: line)
        return h.client.exchange(MCP.post(MCP.request(id: id, method: "ping"), headers: MCP.session(session),
                                          accept: accept, contentType: contentType), file: file, line: line)
    }

    func testPostWithoutAcceptIs406WithTheRequestsId() {
        let h = PipelineHarness()
        let a = ping(h, id: 21, accept: nil)
        XCTAssertEqual(a?.status, 406)
        XCTAssertEqual(a?.headers["content-type"], "application/json")
        XCTAssertEqual(a?.message?["id"], .number(21), a?.text ?? "")
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue)
    }

    func testAcceptOfNeitherIs406() {
        let h = PipelineHarness()
        XCTAssertEqual(ping(h, id: 1, accept: "text/html")?.status, 406)
    }

    func testAcceptJSONAloneIsServedAsJSON() {
        let h = PipelineHarness()
        let a = ping(h, id: 22, accept: "application/json")
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.headers["content-type"], "application/json")
        XCTAssertEqual(a?.message?["id"], .number(22))
        XCTAssertEqual(a?.message?["result"], .object([:]))
    }

    func testAcceptSSEAloneIsServedAsOneEvent() {
        let h = PipelineHarness()
        let a = ping(h, id: 23, accept: "text/event-stream")
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.isSSE, true)
        XCTAssertEqual(a?.events.count, 1)
        XCTAssertEqual(a?.events.first?.event, "message")
        XCTAssertEqual(a?.events.first?.message?["id"], .number(23))
        XCTAssertEqual(a?.events.first?.message?["result"], .object([:]))
    }

    func testJSONSeqIs415() {
        let h = PipelineHarness()
        let a = ping(h, id: 24, accept: MCP.both, contentType: "application/json-seq")
        XCTAssertEqual(a?.status, 415)
        XCTAssertEqual(a?.message?["id"], .number(24), a?.text ?? "")
    }

    func testMissingContentTypeIs415() {
        let h = PipelineHarness()
        XCTAssertEqual(ping(h, id: 25, accept: MCP.both, contentType: nil)?.status, 415)
    }

    func testJSONWithCharsetIsServed() {
        let h = PipelineHarness()
        for type in ["application/json; charset=utf-8", "Application/JSON;charset=UTF-8"] {
            let a = ping(h, id: 26, accept: MCP.both, contentType: type)
            XCTAssertEqual(a?.status, 200, type)
            XCTAssertEqual(a?.message?["result"], .object([:]), type)
        }
    }
}
