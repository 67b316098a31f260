@testable import FrontTier
import XCTest

/// Chunked request bodies are decoded in place, however they are split across reads.
final class HTTPChunkedBodyTests: XCTestCase {
    /// Two chunks (one with an extension), a trailer, then a pipelined request.
    private let request = "POST /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n" + Req.get("/after")

    func testChunkedBodyIsDecoded() {
        let h = HTTPHarness()
        h.send(request)
        XCTAssertEqual(h.handler.seen, [SeenRequest(method: "POST", path: "/c", body: "hello world"),
                                        SeenRequest(method: "GET", path: "/after", body: "")])
        XCTAssertEqual(h.takeResponses().map(\.body), ["/c hello world", "/after "])
    }

    func testChunkedBodySplitAtEveryByteBoundary() {
        let bytes = Array(request.utf8)
        for cut in 1..<bytes.count {
            let h = HTTPHarness()
            h.stream.send(Array(bytes[..<cut]))
            h.stream.send(Array(bytes[cut...]))
            XCTAssertEqual(h.handler.seen.map(\.body), ["hello world", ""], "cut at \(cut)")
            XCTAssertEqual(h.takeResponses().map(\.body), ["/c hello world", "/after "], "cut at \(cut)")
        }
    }

    func testChunkedBodyOneByteAtATime() {
        let h = HTTPHarness()
        for b in request.utf8 { h.stream.send([b]) }
        XCTAssertEqual(h.handler.seen.map(\.body), ["hello world", ""])
    }

    func testLargeChunkedBodyGrowsTheReadBuffer() {
        let pieces = (0..<40).map { String(repeating: Character(UnicodeScalar(UInt8(97 + $0 % 26))), count: 3000) }
        let h = HTTPHarness()
        h.send(Req.chunked("/big", pieces))
        XCTAssertEqual(h.handler.seen.map(\.body), [pieces.joined()])
    }

    /// What a request in flight holds is its read chunk: the front's reads keep a typical request
    /// in the smallest chunk (4 KiB), also when it arrives in pieces, and a chunked body grows its
    /// buffer by doubling, not straight to a 256 KiB chunk.
    func testRequestsInPiecesStayInSmallChunks() {
        let body = String(repeating: "b", count: 3000)
        let head = "POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let plain = HTTPHarness()
        plain.send(head)
        plain.send(body)
        XCTAssertEqual(plain.handler.seen.map(\.body), [body])
        XCTAssertEqual(plain.handler.chunkCapacities, [4096])

        let pieces = (0..<3).map { _ in String(repeating: "c", count: 2000) }
        let text = Req.chunked("/c", pieces)
        let cut = text.utf8.count / 3
        let chunked = HTTPHarness()
        chunked.stream.send(Array(text.utf8.prefix(cut)))
        chunked.stream.send(Array(text.utf8.dropFirst(cut).prefix(cut)))
        chunked.stream.send(Array(text.utf8.dropFirst(2 * cut)))
        XCTAssertEqual(chunked.handler.seen.map(\.body), [pieces.joined()])
        XCTAssertLessThanOrEqual(chunked.handler.chunkCapacities.first ?? .max, 16 * 1024)
    }

    /// Trailers are bounded like a head: 64 lines and 16 KiB (431 beyond), and are otherwise ignored.
    func testTrailersAreBounded() {
        let head = "POST /t HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
        let ok = HTTPHarness()
        ok.send(head + (0..<64).map { "X-T\($0): v\r\n" }.joined() + "\r\n")
        XCTAssertEqual(ok.takeResponses().map(\.status), [200])
        let many = HTTPHarness()
        many.send(head + (0..<65).map { "X-T\($0): v\r\n" }.joined() + "\r\n")
        XCTAssertEqual(many.takeResponses().map(\.status), [431])
        XCTAssertTrue(many.stream.isClosed)
        let long = HTTPHarness()
        long.send(head + "X-Big: " + String(repeating: "a", count: 17 * 1024) + "\r\n\r\n")
        XCTAssertEqual(long.takeResponses().map(\.status), [431])
    }
}
