import CTLS
import TLS
import XCTest

/// Session tickets: keys derived from the server's shared secret and the time epoch, so a
/// ticket one front issued resumes on another, across one rotation and not two.
final class TLSTicketTests: XCTestCase {
    let certs = TestCertificates.shared
    let secret = Array(repeating: UInt8(42), count: 32)
    let t0: Int64 = 1_800_000_000

    /// A front: its own context built from the shared secret, its ticket clock at `now`.
    func front(secret: [UInt8], now: Int64, min: TLSSettings.MinimumVersion = .tls12) throws -> TLSContext {
        let ctx = try TLSContext.server(TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                                    minimumVersion: min, ticketSecret: secret,
                                                    ticketPeriodSeconds: 3600))
        ctx.setTicketClock(now)
        return ctx
    }

    /// A full handshake on `issuer` and one request (TLS 1.3 tickets come after the handshake).
    func ticket(from issuer: TLSContext, client: TLSContext) -> TLSSession? {
        let first = TLSPair(server: issuer, client: client)
        XCTAssertFalse(first.client.sessionReused)
        first.client.write("x")
        first.server.write("y")
        first.pump()
        let session = first.client.session
        // OpenSSL marks a client session not resumable when its connection is freed without
        // close_notify: end it as a well-behaved client does.
        first.client.closeWhenFlushed()
        first.pump()
        return session
    }

    func resumes(_ session: TLSSession, on server: TLSContext, client: TLSContext) -> Bool {
        let pair = TLSPair(server: server, client: client, session: session)
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertEqual(pair.client.sessionReused, pair.server.sessionReused)
        return pair.server.sessionReused
    }

    func testTicketFromOneFrontResumesOnAnotherWithTheSameSecret() throws {
        for maximum in [TLSSettings.MinimumVersion.tls12, .tls13] {
            let client = try TLSContext.client(trusting: certs.caFile, maximumVersion: maximum)
            let session = try XCTUnwrap(ticket(from: try front(secret: secret, now: t0), client: client))
            XCTAssertTrue(resumes(session, on: try front(secret: secret, now: t0 + 10), client: client), "\(maximum)")
            XCTAssertFalse(resumes(session, on: try front(secret: Array(repeating: 1, count: 32), now: t0 + 10),
                                   client: client), "another server's front must not open it")
        }
    }

    /// A secret longer than the state holds is hashed first: fronts still agree, and a secret that
    /// differs only past the 64th byte is another server's.
    func testLongSecretsAreHashedNotTruncated() throws {
        let client = try TLSContext.client(trusting: certs.caFile)
        let long = Array(repeating: UInt8(5), count: 100)
        var other = long
        other[99] = 6
        let session = try XCTUnwrap(ticket(from: try front(secret: long, now: t0), client: client))
        XCTAssertTrue(resumes(session, on: try front(secret: long, now: t0), client: client))
        XCTAssertFalse(resumes(session, on: try front(secret: other, now: t0), client: client))
    }

    func testTicketSurvivesOneRotationNotTwo() throws {
        let client = try TLSContext.client(trusting: certs.caFile)
        let start = t0 - t0 % 3600 + 100
        let session = try XCTUnwrap(ticket(from: try front(secret: secret, now: start), client: client))
        XCTAssertTrue(resumes(session, on: try front(secret: secret, now: start + 3600), client: client))
        XCTAssertFalse(resumes(session, on: try front(secret: secret, now: start + 7200), client: client))
    }

    func testKeysDifferPerEpochAndSecret() {
        func keys(_ s: [UInt8], _ epoch: UInt64) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 80)
            XCTAssertEqual(sy_tls_ticket_keys(s, s.count, epoch, &out), 0)
            return out
        }
        XCTAssertEqual(keys(secret, 5), keys(secret, 5))
        XCTAssertNotEqual(keys(secret, 5), keys(secret, 6))
        XCTAssertNotEqual(keys(secret, 5), keys(Array(repeating: 1, count: 32), 5))
        XCTAssertNotEqual(Array(keys(secret, 5).prefix(16)), Array(keys(secret, 6).prefix(16)), "key names")
    }
}
