import DemoTools
import Foundation
import Glibc
import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

/// Arguments read where they lie in the CALL frame (`ToolCall.argumentsView`), results written
/// into their frame (`ToolResult.write(into:)`, `ToolResult.text(_: JSONView)`), and large CALL
/// frames kept in the chunk they were read into, through a real executor link.
final class ArgumentViewTests: XCTestCase {
    /// Where the `keeper` tool leaves the view of its arguments, to read after its call ended.
    static let kept = Locked<[JSONView]>([])
    /// An ordinary tool (a task on the worker pool) that keeps its arguments' view and answers
    /// with the text's length.
    static let keeper = Tool(name: "keeper", description: "Keeps its arguments.",
                             inputSchema: .object(["type": .string("object")])) { call in
        kept.withLock { $0.append(call.argumentsView) }
        return .text(String(call.argument("text")?.withStringBytes { $0.count } ?? -1))
    }

    // MARK: a real link

    private var dir = ""
    private var fd: Int32 = -1
    private var runner: Thread?
    private var inbox: [UInt8] = []
    private var ready = false

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sy-view-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/e.sock"
        let thread = Thread {
            _ = try? ExecutorRuntime(options: .init(name: "view-test", socketPath: path),
                                     tools: [DemoPack.echo, Self.keeper]).run()
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
        guard ready else { close(fd); return }
        raise(SIGTERM)
        usleep(50_000)
        close(fd)
        for _ in 0..<300 where runner?.isFinished == false { usleep(10_000) }
        XCTAssertEqual(runner?.isFinished, true, "the executor stopped")
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            guard n > 0 else { return }
            off += n
        }
    }

    private func callFrame(_ stream: UInt64, _ name: String, args: String) -> [UInt8] {
        let payload = try! CallPayload(kind: .tool, name: name, arguments: Array(args.utf8)).encoded()
        return Frame.encode(.call, stream: stream, payload: payload)
    }

    private func next() throws -> (FrameType?, UInt64, String) {
        while true {
            let frame = try inbox.withUnsafeBytes { try FrameParser.next($0) }
            if let (h, range) = frame {
                let payload = String(decoding: inbox[range], as: UTF8.self)
                inbox.removeFirst(range.upperBound)
                return (h.type, h.stream, payload)
            }
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw POSIXError(.ETIMEDOUT) }
            inbox += buf[0..<n]
        }
    }

    private static func text(_ n: Int, _ seed: Int) -> String {
        String((0..<n).map { Character(Unicode.Scalar(UInt8(0x61 + ($0 &* 7 &+ seed) % 26))) })
    }

    /// Large CALLs back to back in one write: each is kept in place, the bytes after it (the
    /// next CALL) move on, and every echo is exact.
    func testLargeCallsBackToBackEchoExactly() throws {
        let texts = (0..<3).map { Self.text(300_000 + $0, $0) }
        var bytes: [UInt8] = []
        for (i, t) in texts.enumerated() { bytes += callFrame(UInt64(i + 1), "echo", args: #"{"text":"\#(t)"}"#) }
        send(bytes)
        var answers: [UInt64: String] = [:]
        for _ in texts {
            let (type, stream, payload) = try next()
            XCTAssertEqual(type, .result)
            answers[stream] = payload
        }
        for (i, t) in texts.enumerated() {
            XCTAssertEqual(answers[UInt64(i + 1)], #"{"content":[{"text":"\#(t)","type":"text"}],"isError":false}"#)
        }
    }

    /// A tool that keeps the view of its arguments past its call reads the same bytes later,
    /// after the link has read (and the pool recycled chunks for) more large frames.
    func testAKeptViewStaysValidAfterItsCallAndLaterFrames() throws {
        Self.kept.withLock { $0.removeAll() }
        let first = Self.text(200_000, 1)
        send(callFrame(1, "keeper", args: #"{"text":"\#(first)"}"#))
        XCTAssertEqual(try next().2, #"{"content":[{"text":"200000","type":"text"}],"isError":false}"#)
        for i in 2...5 {
            send(callFrame(UInt64(i), "echo", args: #"{"text":"\#(Self.text(250_000, i))"}"#))
            XCTAssertEqual(try next().0, .result)
        }
        let view = try XCTUnwrap(Self.kept.withLock { $0.first })
        XCTAssertEqual(view["text"]?.string, first)
        Self.kept.withLock { $0.removeAll() }
    }

    func testEscapedTextEchoesTheSameString() throws {
        let args = #"{"text":"a\"b\\c\u00e9\n \ud83d\ude00"}"#
        send(callFrame(1, "echo", args: args))
        let (type, _, payload) = try next()
        XCTAssertEqual(type, .result)
        guard case .array(let content)? = try JSONValue.parse(Array(payload.utf8))["content"] else {
            return XCTFail("no content: \(payload)")
        }
        XCTAssertEqual(content.first?["text"]?.stringValue, "a\"b\\c\u{e9}\n \u{1F600}")
    }

    func testArgumentsThatAreNotAnObjectOrBreakTheSchemaAreToolErrors() throws {
        send(callFrame(1, "echo", args: "[1]"))
        XCTAssertEqual(try next().2, #"{"content":[{"text":"arguments must be a JSON object","type":"text"}],"isError":true}"#)
        send(callFrame(2, "echo", args: #"{"text":5}"#))
        XCTAssertEqual(try next().2,
                       #"{"content":[{"text":"Invalid arguments for tool echo: argument 'text' must be of type string","type":"text"}],"isError":true}"#)
        send(callFrame(3, "echo", args: #"{"other":"x"}"#))
        XCTAssertEqual(try next().2,
                       #"{"content":[{"text":"Invalid arguments for tool echo: missing required argument 'text'","type":"text"}],"isError":true}"#)
    }

    // MARK: without a link

    func testViewedTextWritesTheSameBytesAsAString() throws {
        let args = try JSONView.object(FrameBytes(Array(#"{"text":"plain text é"}"#.utf8)))
        XCTAssertEqual(ToolResult.text(args["text"]!).jsonBytes, ToolResult.text("plain text é").jsonBytes)
        XCTAssertEqual(ToolResult.text(args["text"]!).content.first, .text("plain text é"), "content shows it decoded")
        var r = ToolResult.text(args["text"]!)
        r.content = [.text("replaced")]
        XCTAssertEqual(r.jsonBytes, ToolResult.text("replaced").jsonBytes)
        XCTAssertEqual(String(decoding: ToolResult.text(args).jsonBytes, as: UTF8.self),
                       String(decoding: ToolResult.text(#"{"text":"plain text é"}"#).jsonBytes, as: UTF8.self),
                       "a non-string view gives its JSON text")
    }

    func testResultsWrittenIntoAFrameMatchTheSortedKeyWriter() {
        let results: [ToolResult] = [
            .text("a\"b\\c\n\r\t\u{1}é"), .error("bad"),
            ToolResult(content: [.text("x"), .image(base64: "AAA", mimeType: "image/png")],
                       structuredContent: .object(["k": .number(1), "s": .string("v")])),
        ]
        for r in results {
            var o: [String: JSONValue] = ["content": .array(r.content.map(\.json)), "isError": .bool(r.isError)]
            if let s = r.structuredContent { o["structuredContent"] = s }
            XCTAssertEqual(String(decoding: r.jsonBytes, as: UTF8.self), JSONValue.object(o).compactJSON())
            let frame = OutgoingFrame(capacity: 1)
            r.write(into: frame)
            XCTAssertEqual(frame.payload, r.jsonBytes)
        }
    }

    func testArgumentsDecodeLazilyAndEitherFormServes() throws {
        let view = try JSONView.object(FrameBytes(Array(#"{"text":"t","n":3,"o":{"a":[1]}}"#.utf8)))
        var call = ToolCall(name: "x", argumentsView: view, request: RequestContext(subject: "tool:x"))
        XCTAssertEqual(try call.string("text"), "t")
        XCTAssertEqual(try call.number("n"), 3)
        XCTAssertThrowsError(try call.string("n"))
        XCTAssertEqual(call.arguments, ["text": .string("t"), "n": .number(3), "o": .object(["a": .array([.number(1)])])])
        call.arguments["text"] = .string("changed")
        XCTAssertEqual(try call.string("text"), "changed")
        XCTAssertEqual(call.argument("text")?.string, "changed", "the view follows a replaced dictionary")
        let fromDictionary = ToolCall(name: "y", arguments: ["a": .bool(true)])
        XCTAssertEqual(fromDictionary.argumentsView["a"]?.bool, true)
    }

    func testSchemaChecksOnTheViewMatchTheDictionaryChecks() throws {
        let schema = SchemaCheck.Compiled(.object([
            "type": .string("object"), "required": .array([.string("s")]), "additionalProperties": .bool(false),
            "properties": .object(["s": .object(["type": .string("string")]), "i": .object(["type": .string("integer")]),
                                   "b": .object(["type": .string("boolean")])]),
        ]))
        let cases = [#"{"s":"x","i":3,"b":false}"#, #"{"i":3}"#, #"{"s":1}"#, #"{"s":"x","i":3.5}"#, #"{"s":"x","z":1}"#,
                     #"{"s":"x","b":"no"}"#]
        for c in cases {
            let view = try JSONView.object(FrameBytes(Array(c.utf8)))
            XCTAssertEqual(schema.validate(view), schema.validate(view.decoded.objectValue!), c)
        }
        XCTAssertNil(schema.validate(try JSONView.object(FrameBytes(Array(cases[0].utf8)))))
    }
}
