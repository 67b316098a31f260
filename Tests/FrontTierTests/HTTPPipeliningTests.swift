@testable import FrontTier
import XCTest

/// Pipelined requests are answered in the order they arrived, whatever order they finish in.
final class HTTPPipeliningTests: XCTestCase {
    func testPipelinedRequestsAreAnsweredInOrder() {
        let h = HTTPHarness()
        h.send(Req.get("/1") + Req.post("/2", body: "two") + Req.get("/3"))
        XCTAssertEqual(h.handler.seen, [SeenRequest(method: "GET", path: "/1", body: ""),
                                        SeenRequest(method: "POST", path: "/2", body: "two"),
                                        SeenRequest(method: "GET", path: "/3", body: "")])
        XCTAssertEqual(h.takeResponses().map(\.body), ["/1 ", "/2 two", "/3 "])
        XCTAssertFalse(h.stream.isClosing)
    }

    func testALaterAnswerWaitsForAnEarlierOne() {
        let h = HTTPHarness(holdAnswers: true)
        h.send(Req.get("/1") + Req.get("/2") + Req.get("/3"))
        XCTAssertEqual(h.paths, ["/1", "/2", "/3"])
        XCTAssertEqual(h.connection.inFlight, 3)

        h.handler.answer(1)
        h.settle()
        XCTAssertEqual(h.stream.writtenText, "", "the second answer went out before the first")

        h.handler.answer(0)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.body), ["/1 ", "/2 "])
        XCTAssertEqual(h.connection.inFlight, 1)

        h.handler.answer(2)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.body), ["/3 "])
        XCTAssertEqual(h.connection.inFlight, 0)
    }

    func testReadingPausesAtThePipelineLimitAndResumes() {
        var limits = HTTPConnection.Limits()
        limits.maxPipelined = 2
        let h = HTTPHarness(limits: limits, holdAnswers: true)
        h.send(Req.get("/1") + Req.get("/2") + Req.get("/3"))
        XCTAssertEqual(h.paths, ["/1", "/2"], "read past the pipeline limit")
        XCTAssertFalse(h.stream.isReading)

        h.handler.answer(0)
        h.settle()
        XCTAssertEqual(h.paths, ["/1", "/2", "/3"])
        h.handler.answer(1)
        h.handler.answer(2)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.body), ["/1 ", "/2 ", "/3 "])
    }
}
