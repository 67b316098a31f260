@testable import EventLoop
import XCTest

/// A closed `StreamConnection` stays safe to ask: the close callback freed its handle and gave
/// its buffers back, and every accessor after that reads an empty buffer or does nothing.
final class StreamAfterCloseTests: XCTestCase {
    func testEveryAccessorOfAClosedStreamIsSafe() throws {
        let loop = Loop()
        let before = loop.openHandles
        let (server, client) = try connectedPair(loop)
        let events = StopOn(loop)
        server.delegate = events
        server.startReading()
        client.write("hello, closing world")
        events.awaitReadable()
        XCTAssertEqual(server.readable.count, 20)
        XCTAssertNotNil(server.readChunk)
        XCTAssertNotNil(server.mutableReadBase)
        server.write("queued, never sent") // dropped by the close
        server.close()
        events.awaitClosed()
        XCTAssertTrue(server.isClosed)

        XCTAssertEqual(server.readable.count, 0)
        XCTAssertNil(server.readChunk)
        XCTAssertNil(server.mutableReadBase)
        server.consume(5)
        XCTAssertFalse(server.reserve(64 * 1024), "a closed stream takes no chunk")
        XCTAssertEqual(server.outputBacklog, 0)
        server.write("after the close")
        server.write([1, 2, 3])
        server.flushNow()
        server.startReading()
        server.stopReading()
        server.closeWhenFlushed()
        server.close()
        XCTAssertEqual(server.readable.count, 0)
        XCTAssertEqual(server.outputBacklog, 0)

        client.close()
        loop.run()
        XCTAssertEqual(loop.outstandingChunks, 0, "chunks not given back")
        XCTAssertEqual(loop.registeredHandles, before)
    }
}

/// A delegate that stops the loop when the stream has bytes or has closed, so the test can
/// look at it between loop runs.
final class StopOn: EventLoop.StreamDelegate {
    let loop: Loop
    private(set) var readable = false
    private(set) var closed = false
    init(_ loop: Loop) { self.loop = loop }

    func awaitReadable() { if !readable { loop.run() } }
    func awaitClosed() { if !closed { loop.run() } }

    func streamReadable(_ stream: StreamConnection) {
        readable = true
        loop.stop()
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) {
        closed = true
        loop.stop()
    }
}

/// A TCP connection over loopback, both ends on `loop` (the listener is closed again).
func connectedPair(_ loop: Loop) throws -> (server: StreamConnection, client: StreamConnection) {
    let port = freeLoopbackPort()
    var server: StreamConnection?, client: StreamConnection?
    var failure: LoopError?
    let listener = try Listener.tcp(loop: loop, host: "127.0.0.1", port: port) { conn in
        server = conn
        if client != nil { loop.stop() }
    }
    TCPConnector.connect(loop: loop, host: "127.0.0.1", port: port) { result in
        switch result {
        case .success(let c): client = c
        case .failure(let e): failure = e
        }
        if server != nil || failure != nil { loop.stop() }
    }
    loop.run()
    listener.close()
    if let failure { throw failure }
    guard let server, let client else { throw LoopError(-1, "no connection") }
    return (server, client)
}
