@testable import FrontTier
import XCTest

/// A request head is parsed the same however the bytes are split across reads.
final class HTTPSplitHeadTests: XCTestCase {
    private let request = Req.get("/split?q=1", headers: "Accept: application/json, text/event-stream\r\n"
                                                + "X-Long-Header: " + String(repeating: "v", count: 40) + "\r\n")

    func testHeadSplitAtEveryByteBoundary() {
        let bytes = Array(request.utf8)
        for cut in 1..<bytes.count {
            let h = HTTPHarness()
            h.stream.send(Array(bytes[..<cut]))
            XCTAssertEqual(h.paths, [], "a request handled from \(cut) of \(bytes.count) bytes")
            h.stream.send(Array(bytes[cut...]))
            XCTAssertEqual(h.paths, ["/split"], "cut at \(cut)")
            XCTAssertEqual(h.takeResponses().map(\.body), ["/split "], "cut at \(cut)")
            XCTAssertEqual(h.stream.readable.count, 0, "cut at \(cut): bytes left unconsumed")
        }
    }

    func testHeadOneByteAtATime() {
        let h = HTTPHarness()
        let bytes = Array((request + Req.get("/next")).utf8)
        let firstEnd = request.utf8.count
        for (i, b) in bytes.enumerated() {
            h.stream.send([b])
            XCTAssertEqual(h.paths.count, i + 1 >= bytes.count ? 2 : i + 1 >= firstEnd ? 1 : 0, "after byte \(i)")
        }
        XCTAssertEqual(h.paths, ["/split", "/next"])
        XCTAssertEqual(h.takeResponses().map(\.body), ["/split ", "/next "])
    }
}
