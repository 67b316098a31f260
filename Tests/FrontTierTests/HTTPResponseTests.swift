@testable import FrontTier
import XCTest

final class HTTPResponseTests: XCTestCase {
    func testHeadCarriesLengthAndCloseWhenAsked() {
        let h = HTTPResponse.head(status: 413, contentType: "application/json", contentLength: 12, keepAlive: false,
                                  extra: [("Retry-After", "1")])
        XCTAssertEqual(h, "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
                          + "Retry-After: 1\r\nConnection: close\r\n\r\n")
        XCTAssertFalse(HTTPResponse.head(status: 202, contentType: nil, contentLength: 0, keepAlive: true)
                       .contains("Connection"))
    }
}
