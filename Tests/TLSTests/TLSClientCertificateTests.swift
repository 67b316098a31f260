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
