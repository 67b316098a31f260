import EventLoopTesting
@testable import FrontTier
import XCTest

/// Every pooled chunk a connection used is back in the pool once it closed and the answers
/// holding slices of its read buffer are gone.
final class HTTPChunkPoolLeakTests: XCTestCase {
    func testNoChunkOutstandingAfterMixedTraffic() {
        let h = HTTPHarness()
        h.stream.maxReadLength = 700
        h.send(Req.get("/1") + Req.post("/2", body: String(repeating: "x", count: 100_000))
               + Req.chunked("/3", ["abc", String(repeating: "y", count: 5000)]))
        XCTAssertEqual(h.paths, ["/1", "/2", "/3"])
        h.send(Req.get("/4", headers: "Connection: close\r\n"))
        XCTAssertTrue(h.stream.isClosed)
        h.assertNoChunksOutstanding()
    }

    func testZeroCopyAnswersKeepTheirChunkUntilDropped() {
        let h = HTTPHarness(holdAnswers: true)
        h.handler.answerWithSlice = true
        // The answers hold slices of the read buffer while the rest of a large request arrives
        // into it and moves it: the sliced bytes must stay as they were.
        let big = Array(Req.post("/c", body: String(repeating: "z", count: 40_000)).utf8)
        h.stream.send(Array((Req.post("/a", body: "first body") + Req.post("/b", body: "second body")).utf8)
                      + big[..<12_000])
        h.stream.send(Array(big[12_000...]))
        XCTAssertEqual(h.paths, ["/a", "/b", "/c"])
        h.handler.answer(0)
        h.handler.answer(1)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.body), ["/a first body", "/b second body"])

        h.stream.sendEOF()
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertGreaterThan(h.loop.outstandingChunks, 0, "the held answer's slice lost its chunk")
        h.handler.dropHeld()
        h.assertNoChunksOutstanding()
    }

    func testPeerClosingMidRequestReleasesTheReadBuffer() {
        let h = HTTPHarness()
        h.send("POST /cut HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\npartial")
        XCTAssertGreaterThan(h.loop.outstandingChunks, 0)
        h.stream.sendEOF()
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.stream.closeStatus, MemoryStream.peerClosedStatus)
        XCTAssertEqual(h.closes, 1)
        h.assertNoChunksOutstanding()
    }

    func testErrorCloseReleasesEverything() {
        let h = HTTPHarness()
        h.send(Req.get("/ok") + "BROKEN\r\n\r\n")
        XCTAssertEqual(h.takeResponses().map(\.status), [200, 400])
        XCTAssertTrue(h.stream.isClosed)
        h.assertNoChunksOutstanding()
    }
}
