import EventLoop
@testable import FrontTier
import MCPCore
import WireProtocol
import XCTest

/// A front through 10,000 executor restarts leaves no handle behind. Each time an executor
/// comes up on its socket (a new listener), the front's pool links to it (a new connection and
/// handshake), sends it a call, and the executor dies with the call in flight (its connection
/// and listener close): the front fails the call and forgets the link. What the front made for
/// the link (its connection, its frames' buffers) must be closed and freed each time.
final class ExecutorRestartHandleTests: XCTestCase {
    func testTenThousandExecutorRestartsLeaveNoHandleInTheFront() throws {
        let dir = try TempDirectory("sy-restart")
        defer { dir.remove() }
        let executors = dir.path + "/executors"
        mkdir(executors, 0o700)
        let loop = Loop()
        let guardTimer = watchdog(loop, seconds: 120)
        let before = loop.openHandles
        let front = FrontCalls(loop: loop, executorDirectory: executors, arguments: "{}")
        let executor = FlappingExecutor(loop: loop, path: executors + "/flaky.sock")
        var restarts = 0
        var waitingForLink = false

        func nextGeneration() {
            guard restarts < lifecycleRounds else { return }
            restarts += 1
            do { try executor.up() } catch { XCTFail("listen: \(error)"); return }
            waitingForLink = true
            front.pool.scan()
        }
        front.onChange = {
            if waitingForLink, front.pool.readyLinks.count == 1 {
                waitingForLink = false
                front.submit("flaky") // in flight when the executor dies
            } else if !waitingForLink, front.pool.allLinks.isEmpty, !executor.isUp {
                loop.runAtEndOfTurn(nextGeneration)
            }
        }
        nextGeneration()
        loop.run()

        XCTAssertEqual(restarts, lifecycleRounds)
        XCTAssertEqual(executor.generations, lifecycleRounds)
        XCTAssertEqual(front.failed.count, lifecycleRounds, "each call in flight fails when its executor dies")
        XCTAssertTrue(front.failed.allSatisfy { $0.message.hasPrefix("executor link lost") })
        XCTAssertEqual(loop.openHandles, before, "executor restarts left handles in the front")
        guardTimer.close()
        loop.run()
        XCTAssertEqual(loop.registeredHandles, before - 1, "close callbacks still pending")
        XCTAssertEqual(loop.outstandingChunks, 0)
    }
}

/// An executor that answers HELLO with READY (one tool, `flaky`) and dies at its first CALL:
/// its connection and its listener close, as when the process exits.
private final class FlappingExecutor: EventLoop.StreamDelegate {
    let loop: Loop
    let path: String
    private var listener: Listener?
    private var conn: StreamConnection?
    private(set) var generations = 0
    /// Listening (its last connection may still be closing).
    var isUp: Bool { listener != nil }

    init(loop: Loop, path: String) {
        self.loop = loop
        self.path = path
    }

    func up() throws {
        generations += 1
        listener = try Listener.unix(loop: loop, path: path) { [unowned self] c in
            conn = c
            c.delegate = self
            c.startReading()
        }
    }

    func streamReadable(_ stream: StreamConnection) {
        let ok = stream.forEachFrame { h, _ in
            switch h.type {
            case .hello?:
                let tool = Array(#"{"name":"flaky","inputSchema":{"type":"object"}}"#.utf8)
                let ready = Ready(executor: "flaky-\(generations)", pid: 1, zstd: false, maxConcurrency: 8,
                                  tools: [("flaky", tool)])
                stream.writeFrame(.ready, stream: 0, payload: ready.encoded())
            case .call?:
                stream.close()
                listener?.close()
                listener = nil
            default:
                break
            }
        }
        if !ok { stream.close() }
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) { conn = nil }
}
