@testable import FrontTier
import MCPCore
import XCTest

/// POSTs pipelined on one connection run through the real pipeline and are answered in the order
/// they arrived, however the bytes are cut into reads, and with a chunked body too.
final class PipelinePipeliningTests: XCTestCase {
    /// initialize, then requests of an existing session, in one write.
    private func pipelined(session: String) -> String {
        MCP.post(MCP.request(id: 1, method: "initialize", params: MCP.initializeParams("2025-11-25")))
            + MCP.post(MCP.request(id: 2, method: "ping"), headers: MCP.session(session))
            + MCP.post(MCP.request(id: "\"three\"", method: "tools/list"), headers: MCP.session(session))
            + MCP.post(MCP.request(id: 4, method: "ping"), headers: MCP.session(session, version: "2025-11-25"))
            + MCP.post(MCP.request(id: 5, method: "prompts/list"), headers: MCP.session(session))
    }

    private static let ids: [JSONValue] = [.number(1), .number(2), .string("three"), .number(4), .number(5)]

    private func assertInOrder(_ answers: [HTTPAnswer], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(answers.map(\.status), [200, 200, 200, 200, 200], file: file, line: line)
        XCTAssertEqual(answers.map { $0.message?["id"] }, Self.ids, file: file, line: line)
        guard answers.count == 5 else { return }
        XCTAssertEqual(answers[0].message?["result"]?["protocolVersion"], .string("2025-11-25"), file: file, line: line)
        XCTAssertNotNil(answers[0].headers["mcp-session-id"], file: file, line: line)
        XCTAssertEqual(answers[1].message?["result"], .object([:]), file: file, line: line)
        XCTAssertEqual(answers[2].message?["result"]?["tools"], .array([]), file: file, line: line)
        XCTAssertEqual(answers[3].message?["result"], .object([:]), file: file, line: line)
        XCTAssertEqual(answers[4].message?["result"]?["prompts"], .array([]), file: file, line: line)
    }

    func testPipelinedPostsAreAnsweredInOrder() {
        let h = PipelineHarness()
        let session = h.initialize()
        h.client.send(pipelined(session: session))
        assertInOrder(h.client.takeAnswers())
        XCTAssertFalse(h.client.stream.isClosing)
        XCTAssertEqual(h.client.connection.inFlight, 0)
    }

    /// The same bytes in two reads, cut at every position: the same answers every time.
    func testSplitAtEveryByteBoundary() {
        let h = PipelineHarness()
        let session = h.initialize()
        let bytes = Array(pipelined(session: session).utf8)
        let reference = h.client.exchangeAll(bytes)
        assertInOrder(reference)
        for cut in 1..<bytes.count {
            let c = h.connect()
            c.send(Array(bytes[..<cut]))
            c.send(Array(bytes[cut...]))
            let answers = c.takeAnswers()
            XCTAssertEqual(answers.map(\.status), reference.map(\.status), "cut at \(cut)")
            XCTAssertEqual(answers.map(\.message), reference.map(\.message), "cut at \(cut)")
            c.close()
            if answers.map(\.message) != reference.map(\.message) { break }
        }
        h.client.close()
        h.assertNoChunksOutstanding()
    }

    /// Every read delivers one byte.
    func testOneByteReads() {
        let h = PipelineHarness()
        let session = h.initialize()
        h.client.stream.maxReadLength = 1
        h.client.send(pipelined(session: session))
        assertInOrder(h.client.takeAnswers())
    }

    func testChunkedPostBody() {
        let h = PipelineHarness()
        let session = h.initialize()
        let body = MCP.request(id: 7, method: "tools/list")
        let cut1 = body.index(body.startIndex, offsetBy: 5), cut2 = body.index(body.startIndex, offsetBy: 30)
        let chunks = [String(body[..<cut1]), String(body[cut1..<cut2]), String(body[cut2...])]
        h.client.send(MCP.chunkedPost(chunks, headers: MCP.session(session))
                      + MCP.post(MCP.request(id: 8, method: "ping"), headers: MCP.session(session)))
        let answers = h.client.takeAnswers()
        XCTAssertEqual(answers.map(\.status), [200, 200])
        XCTAssertEqual(answers.map { $0.message?["id"] }, [.number(7), .number(8)])
        XCTAssertEqual(answers.first?.message?["result"]?["tools"], .array([]))
    }
}

extension PipelineClient {
    /// Sends `bytes` in one write and returns every answer.
    func exchangeAll(_ bytes: [UInt8]) -> [HTTPAnswer] {
        send(bytes)
        return takeAnswers()
    }
}
