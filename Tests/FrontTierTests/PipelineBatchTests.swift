@testable import FrontTier
import MCPCore
import XCTest

/// JSON-RPC batches: served for sessions that negotiated 2025-03-26 (one array, member order),
/// refused on later revisions and in the stateless era.
final class PipelineBatchTests: XCTestCase {
    private func batch(_ h: PipelineHarness, _ members: [String], session: String,
                       file: StaticString = #filePath, line: UInt = #line) -> HTTPAnswer? {
        h.client.exchange(MCP.post("[" + members.joined(separator: ",") + "]", headers: MCP.session(session)),
                          file: file, line: line)
    }

    func testMixedBatchIsAnsweredAsOneArrayInMemberOrder() {
        let h = PipelineHarness()
        let session = h.initialize(version: "2025-03-26")
        let a = batch(h, [MCP.request(id: 1, method: "ping"), MCP.notification("notifications/initialized"),
                          MCP.request(id: "\"u\"", method: "no/such/method"), "5"], session: session)
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.headers["content-type"], "application/json")
        guard case .array(let answers)? = a?.message else { return XCTFail("not an array: \(a?.text ?? "")") }
        XCTAssertEqual(answers.count, 3, a?.text ?? "")
        guard answers.count == 3 else { return }
        XCTAssertEqual(answers[0]["id"], .number(1))
        XCTAssertEqual(answers[0]["result"], .object([:]))
        XCTAssertEqual(answers[1]["id"], .string("u"))
        XCTAssertEqual(answers[1]["error"]?["code"], .number(Double(ErrorCode.methodNotFound.rawValue)))
        XCTAssertEqual(answers[2]["id"], .null)
        XCTAssertEqual(answers[2]["error"]?["code"], .number(Double(ErrorCode.invalidRequest.rawValue)))
    }

    func testBatchInTheStreamPreferringClientIsStillOneJSONArray() {
        let h = PipelineHarness()
        let session = h.initialize(version: "2025-03-26")
        let a = h.client.exchange(MCP.post("[" + MCP.request(id: 1, method: "tools/list") + "]",
                                           headers: MCP.session(session), accept: "text/event-stream"))
        XCTAssertEqual(a?.status, 200)
        guard case .array(let answers)? = a?.message else { return XCTFail("not an array: \(a?.text ?? "")") }
        XCTAssertEqual(answers.first?["result"]?["tools"], .array([]))
    }

    func testBatchOfNotificationsIs202() {
        let h = PipelineHarness()
        let session = h.initialize(version: "2025-03-26")
        let a = batch(h, [MCP.notification("notifications/initialized"), MCP.notification("notifications/progress")],
                      session: session)
        XCTAssertEqual(a?.status, 202)
        XCTAssertEqual(a?.body, [])
    }

    func testEmptyBatchIsAnInvalidRequest() {
        let h = PipelineHarness()
        let session = h.initialize(version: "2025-03-26")
        let a = batch(h, [], session: session)
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue, a?.text ?? "")
        XCTAssertEqual(a?.message?["id"], .null)
    }

    func testBatchedInitializeIsAnInvalidRequestMember() {
        let h = PipelineHarness()
        let session = h.initialize(version: "2025-03-26")
        let a = batch(h, [MCP.request(id: 1, method: "ping"),
                          MCP.request(id: 2, method: "initialize", params: MCP.initializeParams("2025-03-26"))],
                      session: session)
        XCTAssertEqual(a?.status, 200)
        guard case .array(let answers)? = a?.message, answers.count == 2 else {
            return XCTFail("not a two-member array: \(a?.text ?? "")")
        }
        XCTAssertEqual(answers[0]["result"], .object([:]))
        XCTAssertEqual(answers[1]["id"], .number(2))
        XCTAssertEqual(answers[1]["error"]?["code"], .number(Double(ErrorCode.invalidRequest.rawValue)))
        XCTAssertNil(a?.headers["mcp-session-id"], "the batched initialize issued a session")
    }

    func testBatchOnA20251125SessionIs400() {
        let h = PipelineHarness()
        let session = h.initialize(version: "2025-11-25")
        let a = batch(h, [MCP.request(id: 1, method: "ping")], session: session)
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue, a?.text ?? "")
    }

    func testBatchInTheStatelessEraIs400() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.post("[" + MCP.statelessRequest(id: 1, method: "tools/list") + "]",
                                           headers: MCP.statelessHeaders(method: "tools/list")))
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue, a?.text ?? "")
        XCTAssertTrue(a?.message?["error"]?["message"]?.stringValue?.contains("batch") ?? false, a?.text ?? "")
    }
}
