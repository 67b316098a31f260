import EventLoopTesting
import TLS
import XCTest

/// What a TLS port does with what is not a welcome TLS client: it closes cleanly, never crashes,
/// and gives every buffer back.
final class TLSRefusalTests: XCTestCase {
    let certs = TestCertificates.shared

    func server(min: TLSSettings.MinimumVersion = .tls12) throws -> TLSContext {
        try TLSContext.server(TLSSettings(certificateFile: certs.serverCert, keyFile: certs.serverKey,
                                          minimumVersion: min))
    }

    /// A server stream on its own wire, fed raw bytes.
    func rawServer() throws -> (ManualLoop, MemoryStream, TLSStream, Recorder) {
        let loop = ManualLoop()
        let wire = MemoryStream(loop: loop)
        let tls = TLSStream(transport: wire, context: try server(),
                            turn: TLSTurn(pool: loop.pool, schedule: { [loop] in loop.enqueue($0) }))
        let recorder = Recorder()
        tls.delegate = recorder
        tls.startReading()
        loop.run()
        return (loop, wire, tls, recorder)
    }

    func testPlainHTTPGetsAPlain400AndTheConnectionCloses() throws {
        let (loop, wire, tls, recorder) = try rawServer()
        wire.send("POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}")
        loop.run()
        XCTAssertTrue(wire.writtenText.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), wire.writtenText)
        XCTAssertTrue(wire.writtenText.hasSuffix("This port speaks HTTPS, not HTTP.\n"))
        XCTAssertTrue(tls.isClosed)
        XCTAssertNotNil(recorder.closedStatus)
        XCTAssertTrue(recorder.received.isEmpty)
        XCTAssertEqual(loop.outstandingChunks, 0)
    }

    func testGarbageClosesWithoutPlaintext() throws {
        let (loop, wire, tls, recorder) = try rawServer()
        var rng = SystemRandomNumberGenerator()
        var garbage = [UInt8](repeating: 0, count: 3000)
        for i in garbage.indices { garbage[i] = rng.next() }
        garbage[0] = 0x16 // looks like a handshake record, then is not
        wire.send(garbage)
        loop.run()
        XCTAssertTrue(tls.isClosed)
        XCTAssertTrue(recorder.received.isEmpty)
        XCTAssertNotNil(tls.failureReason)
        XCTAssertEqual(loop.outstandingChunks, 0)
    }

    func testMinimumVersion13RefusesATLS12Client() throws {
        let client = try TLSContext.client(trusting: certs.caFile, maximumVersion: .tls12)
        let pair = TLSPair(server: try server(min: .tls13), client: client)
        XCTAssertTrue(pair.server.isClosed)
        XCTAssertTrue(pair.client.isClosed)
        XCTAssertNotNil(pair.server.failureReason)
    }

    func testClientOfferingOnlyH2IsRefused() throws {
        let pair = TLSPair(server: try server(), client: try TLSContext.client(trusting: certs.caFile), alpn: ["h2"])
        XCTAssertTrue(pair.server.isClosed)
        XCTAssertNil(pair.server.negotiatedProtocol)
    }

    func testClientWithoutALPNIsServed() throws {
        let pair = TLSPair(server: try server(), client: try TLSContext.client(trusting: certs.caFile), alpn: [])
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertNil(pair.server.negotiatedProtocol)
    }
}
