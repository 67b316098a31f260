import CSupport
import EventLoop
import EventLoopTesting
@testable import FrontTier
import MCPCore
import WireProtocol

/// The front's call path without HTTP: an `ExecutorPool` and a `CallRouter` on a libuv loop,
/// and `PendingCall`s whose answers come back here instead of to a client. Their connection is
/// an inert HTTPConnection over an in-memory stream (a call needs one to answer to).
/// Thread: the loop's thread.
final class FrontCalls: CallResponder, ExecutorPoolObserver {
    let loop: Loop
    let pool: ExecutorPool
    let router: CallRouter
    private let connection: HTTPConnection
    private let arguments: UnsafeMutableRawBufferPointer
    private(set) var failed: [ProtocolError] = []
    private(set) var answered = 0
    /// Called whenever the pool's links change (linked, lost, catalog rebuilt).
    var onChange: () -> Void = {}

    init(loop: Loop, executorDirectory: String, arguments: String) {
        self.loop = loop
        let log = Log("lifecycle-front", minimum: .error)
        var options = FrontOptions()
        options.runDir = String(executorDirectory.dropLast("/executors".count))
        pool = ExecutorPool(loop: loop, directory: executorDirectory, peerName: "lifecycle-front",
                            compressThreshold: options.compressThreshold, log: log)
        router = CallRouter(loop: loop, pool: pool, options: options, log: log)
        connection = HTTPConnection(conn: MemoryStream(loop: ManualLoop()), handler: NoRequests(), limits: .init())
        let bytes = Array(arguments.utf8)
        self.arguments = .allocate(byteCount: bytes.count, alignment: 1)
        self.arguments.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: bytes.count))
        pool.observer = self
    }

    deinit { arguments.deallocate() }

    /// A call of `tool` (legacy context), submitted to the router.
    @discardableResult
    func submit(_ tool: String) -> PendingCall {
        let now = loop.now
        let target = AnswerTarget(slot: ResponseSlot(), connection: connection, id: Array("1".utf8), format: .json)
        let call = PendingCall(target: target, responder: self, tool: tool,
                               arguments: UnsafeRawBufferPointer(arguments), argsChunk: nil,
                               startedAt: now, deadline: now + 600_000)
        router.submit(call)
        return call
    }

    /// Frames received from executors, READY included.
    var framesIn: UInt64 { pool.linkStats.totals.framesIn }

    // MARK: CallResponder

    func answered(_ call: PendingCall, type: FrameType, payload: UnsafeRawBufferPointer,
                  chunk: UnsafeMutablePointer<sy_chunk_t>?) { answered += 1 }
    func failed(_ call: PendingCall, _ error: ProtocolError) { failed.append(error) }
    func event(_ call: PendingCall, type: FrameType, payload: [UInt8]) {}
    func clientRequest(_ call: PendingCall, link: FrontLink, payload: [UInt8]) {}

    // MARK: ExecutorPoolObserver

    func executorsChanged() { onChange() }
    func executorNotification(_ payload: [UInt8]) {}
}

private final class NoRequests: HTTPHandler {
    func handle(_ request: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {}
}
