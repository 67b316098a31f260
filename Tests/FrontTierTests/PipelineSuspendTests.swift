import EventLoopTesting
@testable import FrontTier
import MCPCore
import XCTest

/// A stage that waits for something keeps `request.detached(pool:)` and returns `.suspended`;
/// `resume(_:after:)` continues the request with the next stage. Its answer goes out after the
/// resume, in its place among the connection's answers, and the detached copy's storage goes
/// back to the pool.
final class PipelineSuspendTests: XCTestCase {
    /// Suspends the requests whose id (as JSON text) is in `ids`, keeping detached copies.
    final class HoldingStage: RequestStage {
        let name = "test-hold"
        let pool: OpaquePointer
        var ids: Set<String>
        var held: [FrontRequest] = []
        private(set) var seen = 0

        init(pool: OpaquePointer, ids: Set<String>) {
            self.pool = pool
            self.ids = ids
        }

        func process(_ r: inout FrontRequest) -> StageOutcome {
            seen += 1
            guard let id = r.id, ids.contains(String(decoding: id, as: UTF8.self)) else { return .proceed }
            held.append(r.detached(pool: pool))
            return .suspended
        }
    }

    /// The endpoint's POST path over a pipeline with the holding stage between the media type
    /// and era stages, as the authentication and rate-limit stages will sit.
    final class Endpoint: HTTPHandler {
        let services: FrontServices
        let methods: MethodTable
        let stage: HoldingStage
        let pipeline: RequestPipeline

        init(services: FrontServices, stage: HoldingStage) {
            self.services = services
            self.stage = stage
            methods = .standard(services)
            pipeline = RequestPipeline(stages: [
                OriginStage(writer: services.writer, options: services.options),
                MediaTypeStage(writer: services.writer),
                stage,
                EraStage(services: services, methods: methods),
                MethodStage(services: services, table: methods),
            ])
        }

        func handle(_ req: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
            var r = FrontRequest(http: req, slot: slot, connection: connection,
                                 preferSSE: services.options.preferSSE, methods: methods)
            pipeline.run(&r)
        }

        /// Resumes the held request at `index` (0: the oldest).
        func resume(at index: Int = 0) {
            pipeline.resume(stage.held.remove(at: index), after: stage)
        }
    }

    private func makeEndpoint(_ h: PipelineHarness, holding ids: Set<String>) -> (Endpoint, PipelineClient) {
        let endpoint = Endpoint(services: h.services, stage: HoldingStage(pool: h.loop.pool, ids: ids))
        return (endpoint, h.connect(handler: endpoint))
    }

    func testAnswerArrivesAfterResumeAndOrderIsKept() {
        let h = PipelineHarness()
        let session = h.initialize()
        let (endpoint, c) = makeEndpoint(h, holding: ["1"])
        c.send(MCP.post(MCP.request(id: 1, method: "ping"), headers: MCP.session(session))
               + MCP.post(MCP.request(id: 2, method: "tools/list"), headers: MCP.session(session)))
        XCTAssertEqual(endpoint.stage.held.count, 1)
        XCTAssertEqual(endpoint.stage.seen, 2, "the request behind the held one was not dispatched")
        XCTAssertEqual(c.connection.inFlight, 2)
        XCTAssertEqual(c.stream.writtenText, "", "an answer went out before the held request's")

        endpoint.resume()
        h.loop.run()
        let answers = c.takeAnswers()
        XCTAssertEqual(answers.map(\.status), [200, 200])
        XCTAssertEqual(answers.map { $0.message?["id"] }, [.number(1), .number(2)])
        XCTAssertEqual(answers.first?.message?["result"], .object([:]))
        XCTAssertEqual(answers.last?.message?["result"]?["tools"], .array([]))
        XCTAssertEqual(c.connection.inFlight, 0)
        XCTAssertEqual(endpoint.stage.seen, 2, "the resumed request ran the holding stage again")

        c.close()
        h.assertNoChunksOutstanding()
    }

    /// The held copy keeps its own bytes: later requests reuse the read buffer meanwhile, and the
    /// resumed request still reads its own session header and body.
    func testHeldRequestOutlivesTheReadBuffer() {
        let h = PipelineHarness()
        let session = h.initialize()
        let (endpoint, c) = makeEndpoint(h, holding: ["\"held\""])
        c.send(MCP.post(MCP.request(id: "\"held\"", method: "ping"), headers: MCP.session(session)))
        XCTAssertEqual(endpoint.stage.held.count, 1)
        for id in 2...4 {
            c.send(MCP.post(MCP.request(id: "\"other-\(id)\"", method: "tools/list"),
                            headers: MCP.session(String(repeating: "x", count: session.count))))
        }
        XCTAssertEqual(c.stream.writtenText, "")

        endpoint.resume()
        h.loop.run()
        let answers = c.takeAnswers()
        XCTAssertEqual(answers.map(\.status), [200, 404, 404, 404])
        XCTAssertEqual(answers.map { $0.message?["id"] },
                       [.string("held"), .string("other-2"), .string("other-3"), .string("other-4")])
        XCTAssertEqual(answers.first?.message?["result"], .object([:]))
        c.close()
        h.assertNoChunksOutstanding()
    }

    func testSeveralHeldRequestsResumedOutOfOrderAnswerInOrder() {
        let h = PipelineHarness()
        let session = h.initialize()
        let (endpoint, c) = makeEndpoint(h, holding: ["1", "3"])
        c.send((1...4).map { MCP.post(MCP.request(id: $0, method: "ping"), headers: MCP.session(session)) }.joined())
        XCTAssertEqual(endpoint.stage.held.count, 2)
        endpoint.resume(at: 1) // request 3
        h.loop.run()
        XCTAssertEqual(c.stream.writtenText, "")
        endpoint.resume(at: 0)
        h.loop.run()
        XCTAssertEqual(c.takeAnswers().map { $0.message?["id"] }, [.number(1), .number(2), .number(3), .number(4)])
        c.close()
        h.assertNoChunksOutstanding()
    }

    /// The client leaves while its request is held: the resume writes nothing, and once the held
    /// copy is gone every chunk is back in the pool.
    func testClientGoneWhileHeld() {
        let h = PipelineHarness()
        let session = h.initialize()
        let (endpoint, c) = makeEndpoint(h, holding: ["1"])
        c.send(MCP.post(MCP.request(id: 1, method: "ping"), headers: MCP.session(session)))
        c.close()
        XCTAssertTrue(c.stream.isClosed)
        XCTAssertGreaterThan(h.loop.outstandingChunks, 0, "the held copy has no storage of its own")
        endpoint.resume()
        h.loop.run()
        XCTAssertEqual(c.stream.writtenText, "")
        XCTAssertTrue(endpoint.stage.held.isEmpty)
        h.assertNoChunksOutstanding()
    }
}
