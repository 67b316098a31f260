import EventLoop
import EventLoopTesting
@testable import FrontTier
import MCPCore
import XCTest

/// The stdio session over in-memory streams, with the front's real pipeline (PipelineHarness's
/// services, no executor): framing of lines read one byte at a time or many per read, answers as
/// lines, bad and over-long lines, flow control, and the end of input.
final class StdioSessionTests: XCTestCase {
    final class Fixture {
        let harness: PipelineHarness
        let input: MemoryStream
        let output: MemoryStream
        let session: StdioSession
        var backlog = 0
        var drained = 0
        var inputEnded = 0

        init(maxLine: Int = 1024, maxInFlight: Int = 64) {
            harness = PipelineHarness()
            input = MemoryStream(loop: harness.loop)
            output = MemoryStream(loop: harness.loop)
            let s = harness.services
            let methods = MethodTable.standard(s)
            var limits = StdioSession.Limits()
            limits.maxLine = maxLine
            limits.maxInFlight = maxInFlight
            var backlogValue: () -> Int = { 0 }
            session = StdioSession(input: input, output: output, outputBacklog: { backlogValue() }, services: s,
                                   pipeline: .standard(s, methods, origin: nil), methods: methods, limits: limits)
            backlogValue = { [unowned self] in self.backlog }
            session.onDrained = { [unowned self] in self.drained += 1 }
            session.onInputEnded = { [unowned self] in self.inputEnded += 1; self.session.drain() }
            session.start()
            harness.loop.run()
        }

        /// The lines written so far, each parsed; forgets them.
        func takeLines(file: StaticString = #filePath, line: UInt = #line) -> [JSONValue] {
            let text = output.takeWritten()
            guard !text.isEmpty else { return [] }
            XCTAssertTrue(text.hasSuffix("\n"), "a message without its newline: \(text)", file: file, line: line)
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { l in
                guard let v = try? JSONValue.parse(Array(l.utf8)) else {
                    XCTFail("not JSON: \(l)", file: file, line: line)
                    return .null
                }
                return v
            }
        }

        func send(_ text: String) { input.send(text) }

        func initialize() {
            send(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"# + "\n")
            let lines = takeLines()
            XCTAssertEqual(lines.count, 1)
            XCTAssertEqual(lines.first?["result"]?["protocolVersion"], .string("2025-11-25"))
            XCTAssertNotNil(session.implicitSessionId)
        }
    }

    func testLinesDeliveredOneByteAtATime() {
        let f = Fixture()
        f.input.maxReadLength = 1
        f.initialize()
        f.send(#"{"jsonrpc":"2.0","id":"a","method":"ping"}"# + "\r\n" + #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"# + "\n")
        let lines = f.takeLines()
        XCTAssertEqual(lines.map { $0["id"] }, [.string("a"), .number(2)])
        XCTAssertNotNil(lines.last?["result"]?["tools"])
    }

    func testManyMessagesInOneRead() {
        let f = Fixture()
        f.initialize()
        f.send((1...20).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"ping"}"# + "\n" }.joined())
        XCTAssertEqual(f.takeLines().map { $0["id"] }, (1...20).map { .number(Double($0)) })
        XCTAssertEqual(f.session.unanswered, 0)
    }

    func testGarbageBlankAndNoSession() {
        let f = Fixture()
        f.send("not json\n\n  \n" + #"{"jsonrpc":"2.0","id":7,"method":"ping"}"# + "\n")
        let lines = f.takeLines()
        XCTAssertEqual(lines.count, 2, "\(lines)")
        XCTAssertEqual(lines.first?["id"], .null)
        XCTAssertEqual(lines.first?["error"]?["code"], .number(-32700))
        XCTAssertEqual(lines.last?["id"], .number(7))
        XCTAssertEqual(lines.last?["error"]?["code"], .number(-32600), "a handshake-era request before initialize")
    }

    func testOverLongLineIsRefusedOnceAndSkipped() {
        let f = Fixture(maxLine: 200)
        f.initialize()
        f.input.maxReadLength = 64
        f.send(String(repeating: "x", count: 260))
        let refused = f.takeLines()
        XCTAssertEqual(refused.count, 1, "refused before its end arrives")
        XCTAssertEqual(refused.first?["id"], .null)
        XCTAssertEqual(refused.first?["error"]?["code"], .number(-32600))
        f.send(String(repeating: "y", count: 500) + "\n" + #"{"jsonrpc":"2.0","id":1,"method":"ping"}"# + "\n")
        XCTAssertEqual(f.takeLines().map { $0["id"] }, [.number(1)], "the rest of the long line is skipped silently")
    }

    func testReadingPausesForTheOutputBacklog() {
        let f = Fixture()
        f.initialize()
        f.backlog = Int.max
        f.send(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"# + "\n")
        XCTAssertEqual(f.takeLines().count, 0)
        f.backlog = 0
        f.session.resume()
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().map { $0["id"] }, [.number(1)])
    }

    func testNotificationsAndClientAnswersAreNotAnswered() {
        let f = Fixture()
        f.initialize()
        f.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"# + "\n")
        XCTAssertEqual(f.takeLines().count, 0)
        XCTAssertEqual(f.session.unanswered, 0)
    }

    func testEndOfInputDrainsAndFreesEveryChunk() {
        let f = Fixture()
        f.initialize()
        f.send(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#) // no newline yet: not a message yet
        XCTAssertEqual(f.takeLines().count, 0)
        f.input.sendEOF() // ... but the end of input ends it
        XCTAssertEqual(f.inputEnded, 1)
        XCTAssertEqual(f.drained, 1)
        XCTAssertTrue(f.session.draining)
        XCTAssertEqual(f.takeLines().map { $0["id"] }, [.number(1)])
        f.session.closeOutput()
        f.harness.loop.run()
        XCTAssertTrue(f.output.isClosed)
        f.harness.assertNoChunksOutstanding()
    }

    func testUnterminatedLinesAtEndOfInput() {
        // A blank tail is nothing; a CR-terminated one is a message; an over-long one is refused.
        for (tail, expected) in [("  \r", 0), (#"{"jsonrpc":"2.0","id":7,"method":"ping"}"# + "\r", 1)] {
            let f = Fixture()
            f.initialize()
            f.send(tail)
            f.input.sendEOF()
            let lines = f.takeLines()
            XCTAssertEqual(lines.count, expected, tail)
            if expected == 1 { XCTAssertEqual(lines.first?["id"], .number(7)) }
            XCTAssertEqual(f.drained, 1)
        }
        let f = Fixture(maxLine: 200)
        f.initialize()
        f.send(#"{"jsonrpc":"2.0","id":8,"method":"ping","params":{"pad":""# + String(repeating: "x", count: 300))
        f.input.sendEOF()
        let lines = f.takeLines()
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines.first?["error"]?["code"], .number(-32600))
        XCTAssertEqual(f.drained, 1)
        f.session.closeOutput()
        f.harness.loop.run()
        f.harness.assertNoChunksOutstanding()
    }

    func testSecondInitializeDropsTheFirstSessionsSubscriptions() {
        let f = Fixture()
        f.initialize()
        let first = f.session.implicitSessionId
        f.send(#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"demo://a"}}"# + "\n")
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().map { $0["id"] }, [.number(1)])
        let updated = Array(#"{"method":"notifications/resources/updated","params":{"uri":"demo://a"}}"#.utf8)
        f.harness.services.listeners.deliver(updated)
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().map { $0["method"] }, [.string("notifications/resources/updated")])

        f.initialize()
        XCTAssertNotEqual(f.session.implicitSessionId, first)
        f.harness.services.listeners.deliver(updated)
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().count, 0, "the new session never subscribed")
        // The new session's own subscriptions are followed.
        f.send(#"{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"demo://a"}}"# + "\n")
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().map { $0["id"] }, [.number(2)])
        f.harness.services.listeners.deliver(updated)
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().map { $0["method"] }, [.string("notifications/resources/updated")])
    }

    /// stdio's session never times out (nothing is swept): each re-initialize must leave nothing
    /// of the ended session behind (revoked entry, log level, subscriptions, activity).
    func testReInitializeLeavesNothingOfTheEndedSessionBehind() {
        let f = Fixture()
        for round in 0..<20 {
            f.initialize()
            f.send(#"{"jsonrpc":"2.0","id":"s\#(round)","method":"resources/subscribe","params":{"uri":"demo://a"}}"# + "\n")
            f.send(#"{"jsonrpc":"2.0","id":"l\#(round)","method":"logging/setLevel","params":{"level":"debug"}}"# + "\n")
            f.harness.loop.run()
            XCTAssertEqual(f.takeLines().count, 2)
        }
        let held = f.harness.services.sessions.heldCounts
        XCTAssertTrue(held.allSatisfy { $0 <= 1 }, "verified, revoked, levels, subscriptions, activity: \(held)")
        XCTAssertEqual(held[1], 0, "no revoked entries")
    }

    /// A notification for one session (protocol §5.7 `session`) reaches that session only, and
    /// the client does not see the member.
    func testANotificationForOneSessionReachesOnlyThatSession() {
        let f = Fixture()
        f.initialize()
        f.send(#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"demo://a"}}"# + "\n")
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().count, 1)
        let mine = ExecutorCalls.sessionKey(of: f.session.implicitSessionId!)
        func updated(for key: String) -> [UInt8] {
            Array(#"{"method":"notifications/resources/updated","params":{"uri":"demo://a"},"session":"\#(key)"}"#.utf8)
        }
        f.harness.services.listeners.deliver(updated(for: mine == "1" ? "2" : "1"))
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().count, 0, "another session's notification")
        f.harness.services.listeners.deliver(Array(
            #"{"method":"notifications/resources/updated","params":{"uri":"demo://a"},"session":7}"#.utf8))
        f.harness.loop.run()
        XCTAssertEqual(f.takeLines().count, 0, "a session that is not a key is no one's")
        f.harness.services.listeners.deliver(updated(for: mine))
        f.harness.loop.run()
        let lines = f.takeLines()
        XCTAssertEqual(lines.map { $0["method"] }, [.string("notifications/resources/updated")])
        XCTAssertNil(lines.first?["session"])
        XCTAssertEqual(lines.first?["params"]?["uri"], .string("demo://a"))
    }
}
