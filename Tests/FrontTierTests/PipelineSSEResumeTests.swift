@testable import FrontTier
import MCPCore
import XCTest

/// A session's GET stream numbers its events; after a reconnect with `Last-Event-ID` the
/// events it missed while away are replayed with their ids.
final class PipelineSSEResumeTests: XCTestCase {
    private let toolsChanged = #"{"method":"notifications/tools/list_changed"}"#
    private let promptsChanged = #"{"method":"notifications/prompts/list_changed"}"#
    private let resourcesChanged = #"{"method":"notifications/resources/list_changed"}"#

    /// The one answer on `c`, an open SSE stream: its events so far.
    private func streamEvents(_ c: PipelineClient, file: StaticString = #filePath, line: UInt = #line) -> [SSEEvent] {
        let answers = c.answersSoFar(file: file, line: line)
        XCTAssertEqual(answers.count, 1, file: file, line: line)
        guard let a = answers.first else { return [] }
        XCTAssertEqual(a.status, 200, file: file, line: line)
        XCTAssertTrue(a.isSSE, file: file, line: line)
        XCTAssertFalse(a.complete, "the stream ended", file: file, line: line)
        return a.events
    }

    private func method(_ e: SSEEvent?) -> String? { e?.message?["method"]?.stringValue }

    func testMissedEventIsReplayedWithItsId() throws {
        let h = PipelineHarness()
        let session = h.initialize()
        let first = h.connect()
        first.send(MCP.get(session: session))
        let priming = try XCTUnwrap(streamEvents(first).first)
        let primingId = try XCTUnwrap(priming.id)
        XCTAssertEqual(priming.retry, "3000")
        XCTAssertEqual(priming.data, "")

        h.services.listeners.deliver(Array(toolsChanged.utf8))
        h.loop.run()
        var events = streamEvents(first)
        XCTAssertEqual(events.count, 2)
        let seen = try XCTUnwrap(events.last)
        XCTAssertEqual(method(seen), "notifications/tools/list_changed")
        XCTAssertEqual(seen.message?["jsonrpc"], .string("2.0"))
        let seenId = try XCTUnwrap(seen.id)
        XCTAssertNotEqual(seenId, primingId)

        // The client goes away; an event arrives meanwhile.
        first.close()
        XCTAssertTrue(first.stream.isClosed)
        h.services.listeners.deliver(Array(promptsChanged.utf8))
        h.loop.run()

        let second = h.connect()
        second.send(MCP.get(session: session, headers: ["Last-Event-ID: \(seenId)"]))
        events = streamEvents(second)
        let replayed = events.filter { !$0.data.isEmpty }
        XCTAssertEqual(replayed.map { method($0) }, ["notifications/prompts/list_changed"], "\(events)")
        let missedId = try XCTUnwrap(replayed.first?.id)
        XCTAssertNotEqual(missedId, seenId)
        // Ids only move forward: the priming event follows what is replayed and names the newest
        // event, so a client that drops right after it resumes without a gap.
        XCTAssertEqual(events.last?.data, "", "the priming event comes last: \(events)")
        XCTAssertEqual(events.last?.id, missedId)

        // Live events continue on the resumed stream, numbered after the replayed one.
        h.services.listeners.deliver(Array(resourcesChanged.utf8))
        h.loop.run()
        let live = streamEvents(second).filter { !$0.data.isEmpty }
        XCTAssertEqual(live.map { method($0) }, ["notifications/prompts/list_changed",
                                                 "notifications/resources/list_changed"])
        XCTAssertEqual(Set(live.compactMap(\.id)).count, 2, "event ids repeat: \(live)")
        XCTAssertFalse(live.compactMap(\.id).contains(seenId))
    }

    func testResumingFromThePrimingIdReplaysEverything() throws {
        let h = PipelineHarness()
        let session = h.initialize()
        let first = h.connect()
        first.send(MCP.get(session: session))
        let primingId = try XCTUnwrap(streamEvents(first).first?.id)
        first.close()
        h.services.listeners.deliver(Array(toolsChanged.utf8))
        h.services.listeners.deliver(Array(promptsChanged.utf8))
        h.loop.run()

        let second = h.connect()
        second.send(MCP.get(session: session, headers: ["Last-Event-ID: \(primingId)"]))
        let replayed = streamEvents(second).filter { !$0.data.isEmpty }
        XCTAssertEqual(replayed.map { method($0) }, ["notifications/tools/list_changed",
                                                     "notifications/prompts/list_changed"])
        XCTAssertTrue(replayed.allSatisfy { $0.id != nil })
    }

    /// Another session's event id does not resume that session's stream.
    func testAnotherSessionCannotResumeTheStream() throws {
        let h = PipelineHarness()
        let session = h.initialize()
        let other = h.initialize()
        let first = h.connect()
        first.send(MCP.get(session: session))
        let primingId = try XCTUnwrap(streamEvents(first).first?.id)
        first.close()
        h.services.listeners.deliver(Array(toolsChanged.utf8))
        h.loop.run()

        let intruder = h.connect()
        intruder.send(MCP.get(session: other, headers: ["Last-Event-ID: \(primingId)"]))
        let events = streamEvents(intruder)
        XCTAssertEqual(events.filter { !$0.data.isEmpty }.count, 0, "\(events)")
    }

    func testStreamOfAnUnknownSessionIs404() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.get(session: "v1.nope.nope"))
        XCTAssertEqual(a?.status, 404)
        XCTAssertEqual(a?.errorCode, ErrorCode.sessionNotFound.rawValue)
    }
}
