import EventLoop
import EventLoopTesting
import TLS
import XCTest

final class TLSHandshakeTests: XCTestCase {
    let certs = TestCertificates.shared

    func serverContext(min: TLSSettings.MinimumVersion = .tls12, clientCA: String? = nil) throws -> TLSContext {
        try TLSContext.server(TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                          clientCAFile: clientCA, minimumVersion: min,
                                          ticketSecret: Array(repeating: 7, count: 32)))
    }

    func testHandshakeNegotiatesTLS13AndHTTP11ThenCarriesBytesBothWays() throws {
        let pair = TLSPair(server: try serverContext(), client: try TLSContext.client(trusting: certs.caFile))
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertEqual(pair.server.protocolVersion, "TLSv1.3")
        XCTAssertEqual(pair.server.negotiatedProtocol, "http/1.1")
        XCTAssertEqual(pair.client.negotiatedProtocol, "http/1.1")
        XCTAssertNil(pair.server.peerCertificateSubject)

        pair.client.write("GET /mcp HTTP/1.1\r\nHost: x\r\n\r\n")
        pair.pump()
        XCTAssertEqual(pair.serverSide.text, "GET /mcp HTTP/1.1\r\nHost: x\r\n\r\n")
        // Several writes of one turn leave as one encryption.
        pair.server.write("HTTP/1.1 200 OK\r\n")
        pair.server.write("Content-Length: 2\r\n\r\n")
        pair.server.write("ok")
        pair.pump()
        XCTAssertEqual(pair.clientSide.text, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        XCTAssertFalse(pair.serverWire.written.contains(Array("HTTP/1.1".utf8)), "plaintext on the wire")
    }

    func testTLS12ClientIsServedWithTheDefaultFloor() throws {
        let client = try TLSContext.client(trusting: certs.caFile, maximumVersion: .tls12)
        let pair = TLSPair(server: try serverContext(), client: client)
        XCTAssertEqual(pair.server.protocolVersion, "TLSv1.2")
        pair.client.write("ping")
        pair.pump()
        XCTAssertEqual(pair.serverSide.text, "ping")
    }

    func testRecordsSplitAtEveryFewBytesAndLargeWritesArriveWhole() throws {
        let pair = TLSPair(server: try serverContext(), client: try TLSContext.client(trusting: certs.caFile),
                           maxReadLength: 7)
        XCTAssertFalse(pair.server.isHandshaking)
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        pair.server.write(big)
        pair.client.write(Array(big.prefix(50_000)))
        pair.pump()
        XCTAssertEqual(pair.clientSide.received, big)
        XCTAssertEqual(pair.serverSide.received, Array(big.prefix(50_000)))
    }

    func testCloseWhenFlushedSendsCloseNotifyAndGivesEveryChunkBack() throws {
        let pair = TLSPair(server: try serverContext(), client: try TLSContext.client(trusting: certs.caFile))
        pair.server.write("bye")
        pair.server.closeWhenFlushed()
        pair.pump()
        XCTAssertEqual(pair.clientSide.text, "bye")
        XCTAssertTrue(pair.server.isClosed)
        XCTAssertEqual(pair.clientSide.closedStatus, MemoryStream.peerClosedStatus, "close_notify reads as the peer's EOF")
        XCTAssertTrue(pair.client.isClosed)
        XCTAssertEqual(pair.loop.outstandingChunks, 0)
    }
}
