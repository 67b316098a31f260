import EventLoop
import EventLoopTesting
import Foundation
@testable import FrontTier
import TLS
import XCTest

/// HTTPConnection over a TLSStream, in memory: requests are parsed from decrypted bytes, the
/// verified client subject is on the connection, and the handshake has the head's deadline.
final class HTTPOverTLSTests: XCTestCase {
    static let pki = TLSTestPKI()

    final class Sides {
        let loop = ManualLoop()
        let serverWire: MemoryStream
        let clientWire: MemoryStream
        let handler = FixedAnswerHandler()
        let connection: HTTPConnection
        let tls: TLSStream
        let turn: TLSTurn
        var client: TLSStream?
        var received: [UInt8] = []
        private var carried = (0, 0)

        init(clientCA: String?) throws {
            turn = TLSTurn(pool: loop.pool, schedule: { [loop] in loop.enqueue($0) })
            serverWire = MemoryStream(loop: loop)
            clientWire = MemoryStream(loop: loop)
            let context = try TLSContext.server(TLSSettings(certificateFile: pki.serverCert, keyFile: pki.serverKey,
                                                            clientCAFile: clientCA))
            tls = TLSStream(transport: serverWire, context: context, turn: turn)
            connection = HTTPConnection(conn: tls, handler: handler, limits: .init())
            connection.start()
            loop.run()
        }

        func connectClient(certificate: (String, String)?) throws {
            let ctx = try TLSContext.client(trusting: pki.ca, certificateFile: certificate?.0, keyFile: certificate?.1)
            let c = TLSStream(transport: clientWire, context: ctx, turn: turn)
            let collector = Collector(self)
            self.collector = collector // the delegate is held weakly
            c.delegate = collector
            c.startReading()
            c.connect()
            client = c
            pump()
        }
        private var collector: Collector?

        final class Collector: ByteStreamDelegate {
            unowned let sides: Sides
            init(_ s: Sides) { sides = s }
            func streamReadable(_ stream: any ByteStream) {
                sides.received += stream.readable
                stream.consume(stream.readable.count)
            }
            func streamClosed(_ stream: any ByteStream, status: Int32) {}
        }

        func pump() {
            for _ in 0..<1000 {
                loop.run()
                let toClient = Array(serverWire.written[carried.0...]), toServer = Array(clientWire.written[carried.1...])
                carried = (serverWire.written.count, clientWire.written.count)
                if toClient.isEmpty && toServer.isEmpty { return }
                if !toClient.isEmpty && !clientWire.isClosing { clientWire.send(toClient) }
                if !toServer.isEmpty && !serverWire.isClosing { serverWire.send(toServer) }
            }
        }
    }

    func testRequestIsAnsweredAndTheVerifiedSubjectIsOnTheConnection() throws {
        let s = try Sides(clientCA: Self.pki.ca)
        try s.connectClient(certificate: (Self.pki.clientCert, Self.pki.clientKey))
        s.client?.write("POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        s.pump()
        XCTAssertEqual(s.handler.seen, [SeenRequest(method: "POST", path: "/mcp", body: "hello")])
        XCTAssertEqual(s.connection.peerCertificateSubject, "CN=alice,O=Example")
        let answers = ParsedResponse.parseAll(String(decoding: s.received, as: UTF8.self))
        XCTAssertEqual(answers.map(\.status), [200])
        XCTAssertEqual(answers.first?.body, "/mcp hello")
    }

    func testWithoutClientCANoSubjectIsExposed() throws {
        let s = try Sides(clientCA: nil)
        try s.connectClient(certificate: (Self.pki.clientCert, Self.pki.clientKey))
        s.client?.write("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
        s.pump()
        XCTAssertEqual(s.handler.seen.map(\.path), ["/x"])
        XCTAssertNil(s.connection.peerCertificateSubject)
    }

    func testAStalledHandshakeIsClosedAtTheHeadTimeout() throws {
        let s = try Sides(clientCA: nil)
        s.serverWire.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]) // a ClientHello that never finishes
        s.loop.advance(by: 10_000)
        s.connection.checkTimeouts(now: s.loop.now)
        s.loop.run()
        XCTAssertFalse(s.serverWire.isClosing, "closed before the deadline")
        s.loop.advance(by: 1)
        s.connection.checkTimeouts(now: s.loop.now)
        s.loop.run()
        XCTAssertTrue(s.serverWire.isClosed)
        XCTAssertEqual(s.serverWire.writtenText, "", "no HTTP answer before the handshake")
        XCTAssertEqual(s.loop.outstandingChunks, 0)
    }

    func testASilentTLSConnectionIsClosedAtTheHeadTimeoutNotTheIdleOne() throws {
        let s = try Sides(clientCA: nil)
        s.loop.advance(by: 10_001)
        s.connection.checkTimeouts(now: s.loop.now)
        s.loop.run()
        XCTAssertTrue(s.serverWire.isClosed)
    }
}

/// A CA, a server certificate and a client certificate (O=Example, CN=alice), made with the openssl
/// CLI in a temporary directory when first used; keys chmod 600. Nothing private is committed.
final class TLSTestPKI: @unchecked Sendable {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sy-front-tls-\(getpid())").path
    var ca: String { dir + "/ca.pem" }
    var serverCert: String { dir + "/server.pem" }
    var serverKey: String { dir + "/server.key" }
    var clientCert: String { dir + "/alice.pem" }
    var clientKey: String { dir + "/alice.key" }

    init() {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        run(["req", "-x509"] + ec + ["-keyout", dir + "/ca.key", "-out", ca, "-days", "2", "-subj", "/CN=Test CA"])
        for (name, subject) in [("server", "/CN=localhost"), ("alice", "/O=Example/CN=alice")] {
            run(["req"] + ec + ["-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", subject])
            run(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", ca, "-CAkey", dir + "/ca.key", "-CAcreateserial",
                 "-out", "\(dir)/\(name).pem", "-days", "2"])
            chmod("\(dir)/\(name).key", 0o600)
        }
    }

    private func run(_ args: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "openssl \(args.joined(separator: " ")) failed")
    }
}
