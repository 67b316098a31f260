import Foundation
import Glibc
import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

/// Immediate tools (`Tool.immediate(…)`) through a real executor: its loop, its Unix socket,
/// frames in and out. Their calls run as the CALL frame is read, with no task, so these check
/// what a task used to guarantee: events before the result, errors mapped the same way, and
/// the same answers in both eras.
final class ImmediateToolTests: XCTestCase {
    static let progressing = Tool.immediate(
        name: "progressing", description: "Reports progress twice and logs, then answers.",
        inputSchema: .object(["type": .string("object")])
    ) { call in
        call.progress(1, total: 2)
        call.log(.warning, .string("half way"))
        call.progress(2, total: 2)
        return .text("done")
    }
    static let failing = Tool.immediate(
        name: "failing", description: "Throws what its argument says.",
        inputSchema: .object(["type": .string("object"), "required": .array([.string("how")])])
    ) { call in
        switch try call.string("how") {
        case "tool": throw ToolError("no luck")
        case "request": throw RequestError.invalidParams("not like that")
        default: throw CancellationError()
        }
    }
    static let announcing = Tool.immediate(
        name: "announcing", description: "Tells every front something, then answers.",
        inputSchema: .object(["type": .string("object")])
    ) { call in
        call.notifyAll(method: "notifications/resources/updated", params: .object(["uri": .string("demo://x")]))
        return .text("announced")
    }
    /// An ordinary tool with a closure that does not `await`: still a task, never immediate.
    static let plain = Tool(name: "plain", description: "Sync body, ordinary tool.",
                            inputSchema: .object(["type": .string("object")])) { _ in .text("plain") }

    private var dir = ""
    private var fd: Int32 = -1
    private var runner: Thread?
    private var inbox: [UInt8] = []
    /// READY arrived: the executor's signal watchers are installed, so SIGTERM reaches them.
    private var ready = false

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sy-imm-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/e.sock"
        let tools = [Self.progressing, Self.failing, Self.announcing, DemoToolsEcho.tool]
        let thread = Thread {
            _ = try? ExecutorRuntime(options: .init(name: "immediate-test", socketPath: path), tools: tools).run()
        }
        thread.start()
        runner = thread
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(rc, 0, "connect")
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        send(Frame.encode(.hello, stream: 0, payload: Array(#"{"versions":[1],"peer":"test","zstd":false}"#.utf8)))
        ready = try next().0 == .ready
        XCTAssertTrue(ready)
    }

    override func tearDown() {
        // SIGTERM drains the executor; closing the link lets it finish and `run` return.
        // Only once READY came: before the watchers exist, SIGTERM would end the test process.
        guard ready else { close(fd); return }
        raise(SIGTERM)
        usleep(50_000)
        close(fd)
        for _ in 0..<300 where runner?.isFinished == false { usleep(10_000) }
        XCTAssertEqual(runner?.isFinished, true, "the executor stopped")
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    private func call(_ stream: UInt64, _ name: String, meta: String, args: String) {
        // Test names are short: encoding cannot fail.
        let payload = try! CallPayload(kind: .tool, name: name, meta: Array(meta.utf8), arguments: Array(args.utf8))
            .encoded()
        send(Frame.encode(.call, stream: stream, payload: payload))
    }

    /// The next frame: its type, stream and payload as text.
    private func next() throws -> (FrameType?, UInt64, String) {
        while true {
            let frame = try inbox.withUnsafeBytes { try FrameParser.next($0) }
            if let (h, range) = frame {
                let payload = String(decoding: inbox[range], as: UTF8.self)
                inbox.removeFirst(range.upperBound)
                return (h.type, h.stream, payload)
            }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw POSIXError(.ETIMEDOUT) }
            inbox += buf[0..<n]
        }
    }

    func testEventsGoOutBeforeTheResultInOrder() throws {
        call(1, "progressing", meta: #"{"era":"legacy","_meta":{"progressToken":7}}"#, args: "{}")
        var got: [(FrameType?, UInt64, String)] = []
        repeat { got.append(try next()) } while got.last?.0 == .progress || got.last?.0 == .notify
        XCTAssertEqual(got.map(\.0), [.progress, .notify, .progress, .result])
        XCTAssertEqual(Set(got.map(\.1)), [1])
        XCTAssertTrue(got[0].2.contains(#""progress":1"#), got[0].2)
        XCTAssertTrue(got[1].2.contains("half way"), got[1].2)
        XCTAssertTrue(got[2].2.contains(#""progress":2"#), got[2].2)
        XCTAssertTrue(got[3].2.contains(#""text":"done""#), got[3].2)
        // Without a progress token, and in the modern era without a log level: the result alone.
        call(3, "progressing", meta: #"{"era":"modern","protocolVersion":"2026-07-28"}"#, args: "{}")
        let only = try next()
        XCTAssertEqual(only.0, .result)
        XCTAssertEqual(only.1, 3)
    }

    func testErrorsMapAsForAnyTool() throws {
        call(5, "failing", meta: #"{"era":"legacy"}"#, args: #"{"how":"tool"}"#)
        var r = try next()
        XCTAssertEqual(r.0, .result)
        XCTAssertTrue(r.2.contains(#""isError":true"#) && r.2.contains("no luck"), r.2)
        call(7, "failing", meta: #"{"era":"legacy"}"#, args: #"{"how":"request"}"#)
        r = try next()
        XCTAssertEqual(r.0, .error)
        XCTAssertTrue(r.2.contains("-32602") && r.2.contains("not like that"), r.2)
        call(9, "failing", meta: #"{"era":"legacy"}"#, args: #"{}"#)
        r = try next()
        XCTAssertEqual(r.0, .result, "schema check before the handler")
        XCTAssertTrue(r.2.contains("missing required argument 'how'"), r.2)
        call(11, "failing", meta: #"{"era":"modern"}"#, args: #"{"how":"cancel"}"#)
        r = try next()
        XCTAssertEqual(r.0, .error, "CancellationError answers -32800, as on the task path")
        XCTAssertTrue(r.2.contains("-32800"), r.2)
        // The link is still good, and a stream may be reused once its call has ended.
        call(5, "echo", meta: #"{"era":"legacy"}"#, args: #"{"text":"still here"}"#)
        r = try next()
        XCTAssertEqual(r.1, 5)
        XCTAssertTrue(r.2.contains("still here"), r.2)
    }

    /// A link-wide frame (here a resources/updated NOTIFY on stream 0) goes out before the
    /// result, as it does when the mailbox carries both.
    func testLinkWideFramesGoOutBeforeTheResult() throws {
        call(15, "announcing", meta: #"{"era":"legacy"}"#, args: "{}")
        let first = try next(), second = try next()
        XCTAssertEqual(first.0, .notify)
        XCTAssertEqual(first.1, 0)
        XCTAssertTrue(first.2.contains("demo://x"), first.2)
        XCTAssertEqual(second.0, .result)
        XCTAssertEqual(second.1, 15)
    }

    func testOnlyTheFactoryMakesAnImmediateTool() {
        XCTAssertNotNil(Self.progressing.immediateHandler)
        XCTAssertNil(Self.plain.immediateHandler, "Tool(…) { sync closure } stays an ordinary tool")
        XCTAssertFalse(Self.plain.nonBlocking)
        var replaced = Self.progressing
        replaced.handler = { _ in .text("replaced") }
        XCTAssertNil(replaced.immediateHandler, "a new handler makes it an ordinary tool")
    }

    func testImmediateAndTaskPathsGiveTheSameBytes() async throws {
        let args = #"{"text":"same \"bytes\""}"#
        call(13, "echo", meta: "", args: args)
        let viaLink = try next().2
        let viaTask = await ExecutorLink.run(DemoToolsEcho.tool,
                                             CallPayload(kind: .tool, name: "echo", arguments: Array(args.utf8)))
        XCTAssertEqual(viaLink, String(decoding: viaTask.1, as: UTF8.self))
    }
}

/// The demo echo, an immediate tool.
enum DemoToolsEcho {
    static let tool = Tool.immediate(name: "echo", description: "Echo.",
                                     inputSchema: .object(["type": .string("object"),
                                                           "required": .array([.string("text")])])) { call in
        .text(try call.string("text"))
    }
}
