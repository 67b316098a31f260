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

    func testOriginRules() {
        XCTAssertTrue(isLoopbackURL("http://localhost:3000"))
        XCTAssertTrue(isLoopbackURL("https://127.0.0.1"))
        XCTAssertTrue(isLoopbackURL("http://[::1]:8080"))
        XCTAssertFalse(isLoopbackURL("http://evil.example"))
        XCTAssertFalse(isLoopbackURL("http://localhost.evil.example"))
        XCTAssertFalse(isLoopbackURL("localhost"))
        XCTAssertTrue(isLoopbackAuthority("localhost:8080"))
        XCTAssertFalse(isLoopbackAuthority("evil.example:8080"))
        XCTAssertFalse(isLoopbackAuthority("127.0.0.1.evil.example"), "a DNS name starting 127. is not loopback")
        XCTAssertFalse(isLoopbackURL("http://127.0.0.1.evil.example:80"))
        // The byte matcher agrees with the String rules on usual and unusual Host values.
        for host in ["127.0.0.1", "127.0.0.1:8080", "127.1.2.3:1", "localhost", "localhost:80", "LOCALHOST:80",
                     "[::1]", "[::1]:9000", "127.0.0.1.evil.example", "127.0.0.1:", "127.0.0.1:80x", "localhostx",
                     "evil.example", "[::2]:80", "", "10.0.0.1:80"] {
            let bytes = Array(host.utf8)
            XCTAssertEqual(bytes.withUnsafeBytes { isLoopbackAuthority(bytes: $0) }, isLoopbackAuthority(host), host)
        }
    }
}

final class SessionIdleTests: XCTestCase {
    func testSessionsExpireAfterSilenceAndUseKeepsThemAlive() {
        let s = SessionTokens(key: [UInt8](repeating: 3, count: 32), versions: ["2025-11-25"], runDir: nil,
                              idleTimeout: 10)
        let a = s.issue(protocolVersion: "2025-11-25", now: 1_000)
        XCTAssertNotNil(s.use(a.id, now: 1_005))
        XCTAssertNotNil(s.use(a.id, now: 1_014), "used at 1005: still alive at 1014")
        XCTAssertNil(s.use(a.id, now: 1_025), "silent for 11 s")
        let b = s.issue(protocolVersion: "2025-11-25", now: 2_000)
        XCTAssertNil(s.use(b.id, now: 2_011), "never used after initialize")
    }

    func testSweepForgetsExpiredSessionsAndOldDeletions() {
        let s = SessionTokens(key: [UInt8](repeating: 4, count: 32), versions: ["2025-11-25"], runDir: nil,
                              idleTimeout: 10)
        let now = UInt64(time(nil))
        var ids: [String] = []
        for _ in 0..<100 { ids.append(s.issue(protocolVersion: "2025-11-25", now: UInt32(now)).id) }
        XCTAssertEqual(s.cachedCount, 100)
        s.sweep(now: now + 5)
        XCTAssertEqual(s.cachedCount, 100, "nothing idle yet")
        s.sweep(now: now + 11)
        XCTAssertEqual(s.cachedCount, 0)
        XCTAssertNil(s.use(ids[0], now: now + 11))
    }
}
