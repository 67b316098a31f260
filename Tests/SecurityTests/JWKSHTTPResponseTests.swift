import XCTest
@testable import Security

/// The JWKS fetch's response parsing and URL parsing (pure).
final class JWKSHTTPResponseTests: XCTestCase {
    func parse(_ s: String) throws -> HTTPResponse { try HTTPResponse.parse(Array(s.utf8)) }

    func testContentLengthChunkedAndClose() throws {
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcdEXTRA").body, Array("abcd".utf8))
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").body,
                       Array("abcde".utf8))
        XCTAssertEqual(try parse("HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nrest").status, 404)
        XCTAssertEqual(try parse("HTTP/1.0 200 OK\r\n\r\nrest").body, Array("rest".utf8))
    }

    func testMalformedAnswers() {
        for bad in ["HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                    "SSH-2.0\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK"] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testHTTPSURL() throws {
        let u = try XCTUnwrap(HTTPSURL("https://IdP.example.test:8443/.well-known/jwks.json?v=1#frag"))
        XCTAssertEqual(u.host, "idp.example.test")
        XCTAssertEqual(u.port, 8443)
        XCTAssertEqual(u.target, "/.well-known/jwks.json?v=1")
        XCTAssertFalse(u.hostIsAddress)
        XCTAssertEqual(HTTPSURL("https://[::1]/k")?.host, "::1")
        XCTAssertEqual(HTTPSURL("https://[::1]/k")?.hostIsAddress, true)
        XCTAssertEqual(HTTPSURL("https://127.0.0.1")?.target, "/")
        XCTAssertEqual(HTTPSURL("https://127.0.0.1")?.hostIsAddress, true)
        for bad in ["http://idp.example.test/jwks", "https://", "https://user@idp.example.test/", "https://h:0/",
                    "https://h:99999/", "https:///path", "https://h/a b", "ftp://h/"] {
            XCTAssertNil(HTTPSURL(bad), bad)
        }
    }
}
