import EventLoop
@testable import FrontTier
import XCTest

/// 10,000 HTTP connections over loopback TCP, each answered and then drained as a front drains
/// on SIGTERM (half through `closeIfQuiet`, the grace for idle keep-alives, half through
/// `closeWhenDone`), leave no handle behind: the streams, the listener and every timer the
/// drain armed are closed and freed.
final class DrainedConnectionHandleTests: XCTestCase {
    func testTenThousandDrainedConnectionsLeaveNoHandle() throws {
        let loop = Loop()
        let guardTimer = watchdog(loop, seconds: 120)
        let before = loop.openHandles
        let port = freeLoopbackPort()
        let handler = DrainingHandler()
        var served: [ObjectIdentifier: HTTPConnection] = [:]
        let listener = try Listener.tcp(loop: loop, host: "127.0.0.1", port: port) { conn in
            let http = HTTPConnection(conn: conn, handler: handler, limits: .init())
            http.onClose = { served[ObjectIdentifier($0)] = nil }
            served[ObjectIdentifier(http)] = http
            http.start()
        }
        let clients = DrainClients(loop: loop, port: port, total: lifecycleRounds, concurrency: 100)
        clients.onAllDone = { listener.close() }
        clients.start()
        loop.run()

        XCTAssertEqual(clients.answered, lifecycleRounds, "answers read before the drain closed them")
        XCTAssertEqual(clients.closed, lifecycleRounds)
        XCTAssertEqual(clients.failures, [])
        XCTAssertEqual(handler.requests, lifecycleRounds)
        XCTAssertTrue(served.isEmpty, "server connections not closed: \(served.count)")
        XCTAssertEqual(loop.openHandles, before, "drained connections left handles")
        guardTimer.close()
        loop.run()
        XCTAssertEqual(loop.registeredHandles, before - 1, "close callbacks still pending")
        XCTAssertEqual(loop.outstandingChunks, 0)
    }
}

/// Answers every request with "ok", then drains its connection one loop turn later, as the
/// front's drain does: `closeIfQuiet` (odd requests) or `closeWhenDone` (even ones).
private final class DrainingHandler: HTTPHandler {
    private(set) var requests = 0

    func handle(_ request: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
        requests += 1
        let graceful = requests % 2 == 1
        slot.append(.text(HTTPResponse.head(status: 200, contentType: "text/plain", contentLength: 2, keepAlive: true)))
        slot.append(.text("ok"))
        connection.finish(slot)
        connection.conn.schedule(after: 1) { [weak connection] in
            guard let connection else { return }
            if graceful { connection.closeIfQuiet(afterMs: 1) } else { connection.closeWhenDone() }
        }
    }
}

/// Keeps `concurrency` client connections open until `total` have each sent a request, read
/// the answer and seen the server close.
private final class DrainClients: EventLoop.StreamDelegate {
    let loop: Loop
    let port: Int
    let total: Int
    let concurrency: Int
    var onAllDone: () -> Void = {}
    private(set) var started = 0
    private(set) var answered = 0
    private(set) var closed = 0
    private(set) var failures: [String] = []
    private static let request = "GET /drain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    private static let answerTail = Array("\r\n\r\nok".utf8)

    init(loop: Loop, port: Int, total: Int, concurrency: Int) {
        self.loop = loop
        self.port = port
        self.total = total
        self.concurrency = concurrency
    }

    func start() { for _ in 0..<concurrency { openOne() } }

    private func openOne() {
        guard started < total else { return }
        started += 1
        TCPConnector.connect(loop: loop, host: "127.0.0.1", port: port) { [self] result in
            switch result {
            case .success(let c):
                c.delegate = self
                c.write(DrainClients.request)
                c.startReading()
            case .failure(let e):
                failures.append("\(e)")
                finishedOne()
            }
        }
    }

    func streamReadable(_ stream: StreamConnection) {
        let bytes = stream.readable
        if bytes.count >= DrainClients.answerTail.count,
           bytes.suffix(DrainClients.answerTail.count).elementsEqual(DrainClients.answerTail) {
            answered += 1
            stream.consume(bytes.count)
        }
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) {
        closed += 1
        finishedOne()
    }

    private func finishedOne() {
        if closed + failures.count == total { onAllDone() } else { openOne() }
    }
}
