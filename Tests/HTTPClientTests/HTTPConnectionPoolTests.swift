import EventLoop
import Glibc
import HTTPClient
import XCTest

/// The pool against a small HTTP server on loopback (real sockets): the connection bound and
/// keep-alive reuse, a request sent again after a reused connection closed unanswered, refused
/// connects, cancellation; every handle closed and every buffer chunk returned at the end.
final class HTTPConnectionPoolTests: XCTestCase {
    /// Reads requests (head + Content-Length body) and answers each as `answer` says:
    /// bytes to write, or nil to close the connection without answering.
    final class TinyServer {
        let loop: Loop
        let port: Int
        var listener: Listener!
        var connections: [ObjectIdentifier: StreamConnection] = [:]
        private(set) var accepted = 0
        private(set) var requests = 0
        var answer: (_ request: Int, _ perConnection: Int, _ head: String) -> [UInt8]? = { _, _, _ in
            Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        }

        init(loop: Loop) throws {
            self.loop = loop
            var found: (Listener, Int)?
            for _ in 0..<20 where found == nil {
                let p = Int.random(in: 20_000..<60_000)
                if let l = try? Listener.tcp(loop: loop, host: "127.0.0.1", port: p, onAccept: { _ in }) { l.close(); found = (l, p) }
            }
            port = found!.1
            listener = try Listener.tcp(loop: loop, host: "127.0.0.1", port: port) { [unowned self] conn in
                self.accepted += 1
                let reader = Reader(server: self)
                conn.context = reader
                conn.delegate = reader
                self.connections[ObjectIdentifier(conn)] = conn
                conn.startReading()
            }
        }

        func close() {
            listener.close()
            for c in connections.values { c.close() }
            connections.removeAll()
        }

        final class Reader: EventLoop.StreamDelegate {
            unowned let server: TinyServer
            var served = 0
            init(server: TinyServer) { self.server = server }
            func streamReadable(_ stream: StreamConnection) {
                while true {
                    let bytes = Array(stream.readable)
                    guard let end = find(bytes) else { return }
                    let head = String(decoding: bytes[..<end], as: UTF8.self)
                    let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    guard bytes.count >= end + 4 + length else { return }
                    stream.consume(end + 4 + length)
                    server.requests += 1
                    served += 1
                    guard let out = server.answer(server.requests, served, head) else { stream.close(); return }
                    stream.write(out)
                }
            }
            func streamClosed(_ stream: StreamConnection, status: Int32) {
                server.connections[ObjectIdentifier(stream)] = nil
            }
            private func find(_ b: [UInt8]) -> Int? {
                guard b.count >= 4 else { return nil }
                for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
                return nil
            }
        }
    }

    /// Collects one response.
    final class Collector: HTTPResponseHandler {
        var status = 0
        var body: [UInt8] = []
        var ended = false
        var error: HTTPClientError?
        let done: (Collector) -> Void
        init(_ done: @escaping (Collector) -> Void = { _ in }) { self.done = done }
        func responseHead(_ head: HTTPResponseHead) { status = head.status }
        func responseBody(_ bytes: UnsafeRawBufferPointer) { body += bytes }
        func responseEnd() { ended = true; done(self) }
        func responseFailed(_ error: HTTPClientError) { self.error = error; done(self) }
    }

    func watchdog(_ loop: Loop) -> EventLoop.Timer {
        EventLoop.Timer.once(loop: loop, after: 20_000) { XCTFail("watchdog"); loop.stop() }
    }

    /// Runs the loop until every handle but the watchdog closed, then checks nothing leaked.
    func finish(_ loop: Loop, _ dog: EventLoop.Timer, before: Int, file: StaticString = #filePath, line: UInt = #line) {
        let poll = EventLoop.Timer(loop: loop) { if loop.openHandles <= before + 2 { loop.stop() } }
        poll.start(after: 5, repeat: 5)
        loop.run()
        poll.close()
        dog.close()
        loop.run()
        XCTAssertEqual(loop.openHandles, before, "handles left open", file: file, line: line)
        XCTAssertEqual(loop.outstandingChunks, 0, "buffer chunks not returned", file: file, line: line)
    }

    func testTwentyRequestsShareAtMostThreeKeptAliveConnections() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let server = try TinyServer(loop: loop)
        server.answer = { n, _, _ in Array("HTTP/1.1 200 OK\r\nContent-Length: \(String(n).count)\r\n\r\n\(n)".utf8) }
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: server.port),
                                      tlsContext: nil, limit: 3)
        var answers: [Collector] = []
        var open = 20
        for _ in 0..<20 {
            let c = Collector { _ in open -= 1; if open == 0 { loop.stop() } }
            answers.append(c)
            pool.send(HTTPRequest(method: "POST", target: "/mcp", body: Array("{}".utf8)), handler: c)
        }
        XCTAssertLessThanOrEqual(pool.connectionCount, 3)
        loop.run()
        XCTAssertEqual(answers.filter(\.ended).count, 20)
        XCTAssertEqual(Set(answers.map { String(decoding: $0.body, as: UTF8.self) }).count, 20, "each its own answer")
        XCTAssertEqual(server.accepted, 3)
        XCTAssertEqual(pool.connectionsOpened, 3)
        // Later requests reuse the idle connections.
        var later = 5
        for _ in 0..<5 {
            pool.send(HTTPRequest(method: "GET", target: "/"), handler: Collector { _ in later -= 1; if later == 0 { loop.stop() } })
        }
        loop.run()
        XCTAssertEqual(server.accepted, 3)
        pool.close()
        server.close()
        finish(loop, dog, before: before)
    }

    func testAReusedConnectionClosedUnansweredIsRetriedOnAFreshOne() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let server = try TinyServer(loop: loop)
        // The second request on a connection finds it closed (an idle timeout racing it).
        server.answer = { _, perConnection, _ in
            perConnection == 2 ? nil : Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        }
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: server.port),
                                      tlsContext: nil, limit: 1)
        let first = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: first)
        loop.run()
        let second = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: second)
        loop.run()
        XCTAssertTrue(first.ended)
        XCTAssertTrue(second.ended, "\(String(describing: second.error))")
        XCTAssertEqual(String(decoding: second.body, as: UTF8.self), "ok")
        XCTAssertEqual(server.accepted, 2)
        // A first request on a fresh connection that closes unanswered is not sent again.
        server.answer = { _, _, _ in nil }
        let third = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: third)
        loop.run()
        XCTAssertEqual(third.error?.kind, .closed)
        pool.close()
        server.close()
        finish(loop, dog, before: before)
    }

    func testRefusedConnectCancelAndMalformedAnswer() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let server = try TinyServer(loop: loop)
        let port = server.port
        // Refused: a port nothing listens on (the server's, once closed).
        server.close()
        let closedPool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: port),
                                            tlsContext: nil, limit: 2)
        let refused = Collector { _ in loop.stop() }
        closedPool.send(HTTPRequest(method: "GET", target: "/"), handler: refused)
        loop.run()
        XCTAssertEqual(refused.error?.kind, .connect)
        XCTAssertTrue(refused.error?.message.contains("connection refused") == true, refused.error?.message ?? "")
        closedPool.close()

        let live = try TinyServer(loop: loop)
        live.answer = { n, _, _ in n == 1 ? [] : Array("SSH-2.0-OpenSSH_9\r\n\r\n".utf8) } // 1: never answered
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: live.port),
                                      tlsContext: nil, limit: 2)
        let silent = Collector { _ in XCTFail("a cancelled request is not reported") }
        let exchange = pool.send(HTTPRequest(method: "GET", target: "/"), handler: silent)
        EventLoop.Timer.once(loop: loop, after: 50) { exchange.cancel(); loop.stop() }
        loop.run()
        let malformed = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: malformed)
        loop.run()
        XCTAssertEqual(malformed.error?.kind, .malformed)
        // Header injection never reaches the wire.
        let bad = Collector()
        pool.send(HTTPRequest(method: "GET", target: "/", headers: [("X", "a\r\nY: b")]), handler: bad)
        XCTAssertEqual(bad.error?.kind, .request)
        pool.close()
        live.close()
        finish(loop, dog, before: before)
    }
    func testBytesBehindAFinishedResponseCloseTheConnection() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let server = try TinyServer(loop: loop)
        // The first answer carries a second, unasked-for response behind it.
        server.answer = { n, _, _ in
            n == 1 ? Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale".utf8)
                   : Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh".utf8)
        }
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: server.port),
                                      tlsContext: nil, limit: 1)
        let first = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: first)
        loop.run()
        let second = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: second)
        loop.run()
        XCTAssertEqual(String(decoding: first.body, as: UTF8.self), "ok")
        XCTAssertEqual(String(decoding: second.body, as: UTF8.self), "fresh", "the stale bytes are not the next answer")
        XCTAssertEqual(server.accepted, 2)
        pool.close()
        server.close()
        finish(loop, dog, before: before)
    }

    func testARequestThatIsNotResendableFailsInsteadOfGoingTwice() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let server = try TinyServer(loop: loop)
        server.answer = { _, perConnection, _ in
            perConnection == 2 ? nil : Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        }
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: server.port),
                                      tlsContext: nil, limit: 1)
        let first = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "POST", target: "/"), handler: first)
        loop.run()
        let second = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "POST", target: "/"), resendable: false, handler: second)
        loop.run()
        XCTAssertTrue(first.ended)
        XCTAssertEqual(second.error?.kind, .closed)
        XCTAssertEqual(server.requests, 2, "sent once only")
        XCTAssertEqual(server.accepted, 1)
        pool.close()
        server.close()
        finish(loop, dog, before: before)
    }

    func testRequestsBeyondTheWaitingBoundFailAtOnce() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let server = try TinyServer(loop: loop)
        server.answer = { _, _, _ in [] } // never answered
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: server.port),
                                      tlsContext: nil, limit: 1, maxWaiting: 2)
        let waiting = (0..<2).map { _ in pool.send(HTTPRequest(method: "GET", target: "/"), handler: Collector()) }
        let refused = Collector()
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: refused)
        XCTAssertEqual(refused.error?.kind, .overloaded)
        XCTAssertFalse(waiting.contains { $0.isDone })
        for e in waiting { e.cancel() }
        pool.close()
        server.close()
        finish(loop, dog, before: before)
    }
    /// A loopback port whose connects hang like a blackholed host's: a listener with backlog 0
    /// that never accepts, its queue filled by one connection (Linux drops further SYNs).
    /// Ownership: the caller closes both descriptors.
    private func hangingPort() throws -> (port: Int, fds: [Int32]) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, len) == 0 && listen(listener, 0) == 0 && getsockname(listener, $0, &len) == 0
            }
        }
        XCTAssertTrue(ok)
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(filler, $0, len) == 0 }
        }
        XCTAssertTrue(connected)
        return (Int(UInt16(bigEndian: addr.sin_port)), [filler, listener])
    }

    func testAConnectTimeoutClosesTheHangingSocket() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let hang = try hangingPort()
        defer { for fd in hang.fds { Glibc.close(fd) } }
        let pool = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: false, host: "127.0.0.1", port: hang.port),
                                      tlsContext: nil, limit: 1, connectTimeoutMs: 200)
        let timedOut = Collector { _ in loop.stop() }
        pool.send(HTTPRequest(method: "GET", target: "/"), handler: timedOut)
        loop.run()
        XCTAssertEqual(timedOut.error?.kind, .timeout, timedOut.error?.message ?? "")
        pool.close()
        // The pending connect's socket is closed now, not when the kernel gives up (minutes).
        finish(loop, dog, before: before)
    }

    func testACancelledTCPConnectClosesItsHandleAndReportsNothing() throws {
        let loop = Loop()
        let before = loop.openHandles
        let dog = watchdog(loop)
        let hang = try hangingPort()
        defer { for fd in hang.fds { Glibc.close(fd) } }
        let connecting = TCPConnector.connect(loop: loop, host: "127.0.0.1", port: hang.port) { _ in
            XCTFail("a cancelled connect reports nothing")
        }
        XCTAssertEqual(loop.openHandles, before + 2) // the watchdog and the socket
        EventLoop.Timer.once(loop: loop, after: 50) { connecting.cancel(); connecting.cancel() }
        finish(loop, dog, before: before)
    }
}
