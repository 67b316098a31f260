import TLS
import XCTest

final class TLSClientCertificateTests: XCTestCase {
    let certs = TestCertificates.shared

    func server(clientCA: String?) throws -> TLSContext {
        try TLSContext.server(TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                          clientCAFile: clientCA))
    }

    func testVerifiedCertificateSubjectIsExposedInRFC2253() throws {
        let client = try TLSContext.client(trusting: certs.caFile, certificateFile: certs.clientCert,
                                           keyFile: certs.clientKey)
        let pair = TLSPair(server: try server(clientCA: certs.caFile), client: client)
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertEqual(pair.server.peerCertificateSubject, "CN=alice,O=Example")
    }

    /// A resumed session carries the certificate verified in the full handshake: a connection
    /// resumed on another front (another context, the same ticket secret) keeps its subject.
    func testResumedSessionKeepsTheVerifiedSubject() throws {
        let secret = Array(repeating: UInt8(9), count: 32)
        func front() throws -> TLSContext {
            try TLSContext.server(TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                              clientCAFile: certs.caFile, ticketSecret: secret))
        }
        let client = try TLSContext.client(trusting: certs.caFile, certificateFile: certs.clientCert,
                                           keyFile: certs.clientKey)
        let first = TLSPair(server: try front(), client: client)
        first.client.write("x")
        first.server.write("y")
        first.pump()
        let session = try XCTUnwrap(first.client.session)
        first.client.closeWhenFlushed()
        first.pump()
        let second = TLSPair(server: try front(), client: client, session: session)
        XCTAssertTrue(second.server.sessionReused)
        XCTAssertEqual(second.server.peerCertificateSubject, "CN=alice,O=Example")
    }

    func testClientWithoutCertificateIsServedAnonymously() throws {
        let pair = TLSPair(server: try server(clientCA: certs.caFile), client: try TLSContext.client(trusting: certs.caFile))
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertNil(pair.server.peerCertificateSubject)
        pair.client.write("hi")
        pair.pump()
        XCTAssertEqual(pair.serverSide.text, "hi")
    }

    func testCertificateFromAnotherCAFailsTheHandshake() throws {
        let client = try TLSContext.client(trusting: certs.caFile, certificateFile: certs.strangerCert,
                                           keyFile: certs.strangerKey)
        let pair = TLSPair(server: try server(clientCA: certs.caFile), client: client)
        XCTAssertTrue(pair.server.isClosed)
        XCTAssertNil(pair.server.peerCertificateSubject)
        XCTAssertNotNil(pair.server.failureReason)
        XCTAssertEqual(pair.loop.outstandingChunks, 0)
    }

    func testWithoutClientCAAPresentedCertificateIsNotRead() throws {
        let client = try TLSContext.client(trusting: certs.caFile, certificateFile: certs.clientCert,
                                           keyFile: certs.clientKey)
        let pair = TLSPair(server: try server(clientCA: nil), client: client)
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertNil(pair.server.peerCertificateSubject)
    }
}
