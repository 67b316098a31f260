@testable import FrontTier
import XCTest

final class TrustedProxiesTests: XCTestCase {
    private func source(_ p: TrustedProxies, peer: String?, _ header: String?) -> String? {
        guard let header else { return p.source(peer: peer, forwardedFor: nil) }
        return Array(header.utf8).withUnsafeBytes { p.source(peer: peer, forwardedFor: $0) }
    }

    func testCIDRMembership() throws {
        let p = try TrustedProxies(cidrs: ["10.0.0.0/8", "192.168.1.7", "fd00::/8"])
        XCTAssertTrue(p.contains("10.200.3.4"))
        XCTAssertFalse(p.contains("11.0.0.1"))
        XCTAssertTrue(p.contains("192.168.1.7"))
        XCTAssertFalse(p.contains("192.168.1.8"))
        XCTAssertTrue(p.contains("fd12::1"))
        XCTAssertFalse(p.contains("fe80::1"))
        XCTAssertFalse(p.contains("not an address"))
        // A dual-stack socket shows an IPv4 peer as IPv4-mapped IPv6.
        XCTAssertTrue(p.contains("::ffff:10.1.2.3"))
        XCTAssertFalse(p.contains("::ffff:11.1.2.3"))
        let odd = try TrustedProxies(cidrs: ["172.16.0.0/12"])
        XCTAssertTrue(odd.contains("172.31.255.255"))
        XCTAssertFalse(odd.contains("172.32.0.0"))
    }

    func testBadBlocksAreRefusedWithTheirText() {
        for bad in ["10.0.0.0/33", "bogus", "10.0.0.1/-1", "::1/129", ""] {
            XCTAssertThrowsError(try TrustedProxies(cidrs: [bad]), bad) { error in
                XCTAssertTrue("\(error)".contains("'\(bad)'"), "\(error)")
            }
        }
    }

    func testOnlyATrustedPeerIsBelieved() throws {
        let p = try TrustedProxies(cidrs: ["127.0.0.1"])
        XCTAssertEqual(source(p, peer: "127.0.0.1", "203.0.113.9"), "203.0.113.9")
        // Anyone else sending the header is not believed.
        XCTAssertEqual(source(p, peer: "127.0.0.2", "203.0.113.9"), "127.0.0.2")
        XCTAssertEqual(source(p, peer: "127.0.0.1", nil), "127.0.0.1")
    }

    func testTheRightmostUntrustedEntryWins() throws {
        let p = try TrustedProxies(cidrs: ["10.0.0.0/8"])
        // The client wrote 1.2.3.4 itself; the balancer appended what it saw, then an inner proxy.
        XCTAssertEqual(source(p, peer: "10.0.0.5", "1.2.3.4, 198.51.100.7, 10.1.1.1"), "198.51.100.7")
        XCTAssertEqual(source(p, peer: "10.0.0.5", "198.51.100.7:5123"), "198.51.100.7")
        XCTAssertEqual(source(p, peer: "10.0.0.5", "[2001:db8::1]:443"), "2001:db8::1")
        // Every entry trusted: the peer.
        XCTAssertEqual(source(p, peer: "10.0.0.5", "10.9.9.9"), "10.0.0.5")
        // Garbage in the chain: believe nobody.
        XCTAssertEqual(source(p, peer: "10.0.0.5", "1.2.3.4, <script>"), "10.0.0.5")
    }
}
