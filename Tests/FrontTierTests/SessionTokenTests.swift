@testable import FrontTier
import XCTest

final class SessionTokenTests: XCTestCase {
    let versions = ["2025-11-25", "2025-06-18", "2025-03-26"]

    func testIssuedTokensVerifyAcrossInstancesSharingTheKey() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let a = SessionTokens(key: key, versions: versions)
        let b = SessionTokens(key: key, versions: versions)
        let s = a.issue(protocolVersion: "2025-06-18", now: 1_700_000_000)
        XCTAssertTrue(s.id.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }, "visible ASCII only")
        let v = try XCTUnwrap(b.verify(s.id), "another front verifies it")
        XCTAssertEqual(v.protocolVersion, "2025-06-18")
        XCTAssertEqual(v.issuedAt, 1_700_000_000)
        XCTAssertNotEqual(a.issue(protocolVersion: "2025-11-25").id, s.id)
    }

    func testForgedTamperedAndOtherKeyTokensAreRejected() {
        let a = SessionTokens(key: [UInt8](repeating: 1, count: 32), versions: versions)
        let other = SessionTokens(key: [UInt8](repeating: 2, count: 32), versions: versions)
        let s = a.issue(protocolVersion: "2025-11-25")
        XCTAssertNil(other.verify(s.id))
        var chars = Array(s.id)
        let i = 5
        chars[i] = chars[i] == "A" ? "B" : "A"
        XCTAssertNil(SessionTokens(key: [UInt8](repeating: 1, count: 32), versions: versions).verify(String(chars)))
        for junk in ["", "v1..", "v1.abc.def", "v2." + s.id.dropFirst(3), String(repeating: "x", count: 500)] {
            XCTAssertNil(a.verify(junk), junk)
        }
    }

    func testRevokedTokensStayRevoked() {
        let a = SessionTokens(key: [UInt8](repeating: 1, count: 32), versions: versions)
        let s = a.issue(protocolVersion: "2025-11-25")
        a.revoke(s.id)
        XCTAssertNil(a.verify(s.id))
    }

    func testBase64URLRoundTripAndCanonical() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(($0 * 37 + n) & 0xFF) }
            let e = Base64URL.encode(bytes)
            XCTAssertFalse(e.contains("=") || e.contains("+") || e.contains("/"))
            XCTAssertEqual(Base64URL.decode(e), bytes)
        }
        XCTAssertNil(Base64URL.decode("AB"), "stray bits are not canonical")
        XCTAssertNil(Base64URL.decode("A"))
        XCTAssertNil(Base64URL.decode("a+b/"))
    }

    func testOriginRules() {
        XCTAssertTrue(isLoopbackURL("http://localhost:3000"))
        XCTAssertTrue(isLoopbackURL("https://127.0.0.1"))
        XCTAssertTrue(isLoopbackURL("http://[::1]:8080"))
        XCTAssertFalse(isLoopbackURL("http://evil.example"))
        XCTAssertFalse(isLoopbackURL("http://localhost.evil.example"))
        XCTAssertFalse(isLoopbackURL("localhost"))
        XCTAssertTrue(isLoopbackAuthority("localhost:8080"))
        XCTAssertFalse(isLoopbackAuthority("evil.example:8080"))
    }
}
