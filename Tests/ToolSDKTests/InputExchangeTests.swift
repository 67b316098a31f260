import DemoTools
import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

/// Input from the client in both eras: input-required results and retries (modern), REQUEST and
/// RESPONSE frames (legacy).
final class InputExchangeTests: XCTestCase {
    let pack = ConformancePack.pack
    let accept = { (content: String) in json(#"{"action":"accept","content":\#(content)}"#) }

    func call(_ name: String, _ meta: JSONValue, kind: CallPayload.Kind = .tool) async -> (FrameType, JSONValue) {
        await runCall(pack, kind: kind, name, meta: meta, args: kind == .tool ? "{}" : "")
    }

    // The input requests below are those of the suite's scenario descriptions
    // (modelcontextprotocol/conformance src/scenarios/server/input-required-result.ts).

    /// An `elicitation/create` request for one required property.
    static func elicitation(_ message: String, _ property: String, _ type: String = "string") -> String {
        #"{"method":"elicitation/create","params":{"message":"\#(message)","requestedSchema":"#
            + #"{"type":"object","properties":{"\#(property)":{"type":"\#(type)"}},"required":["\#(property)"]}}}"#
    }

    /// A `sampling/createMessage` request with one user text message.
    static func sampling(_ text: String, _ maxTokens: Int) -> String {
        #"{"method":"sampling/createMessage","params":{"messages":[{"role":"user","content":"#
            + #"{"type":"text","text":"\#(text)"}}],"maxTokens":\#(maxTokens)}}"#
    }

    static let roots = #"{"method":"roots/list","params":{}}"#
    static let nameRequest = elicitation("What is your name?", "name")

    /// An input-required result without requestState; `requests` is the inputRequests object.
    func inputRequired(_ requests: String) -> JSONValue {
        json(#"{"resultType":"input_required","inputRequests":\#(requests)}"#)
    }

    func testBasicElicitationRoundTrip() async {
        let (t, r1) = await call("test_input_required_result_elicitation", modernMeta())
        XCTAssertEqual(t, .result)
        // Nothing to carry: no requestState, exactly as the scenario shows it.
        XCTAssertEqual(r1, inputRequired(#"{"user_name":\#(Self.nameRequest)}"#))
        let (_, r2) = await call("test_input_required_result_elicitation",
                                 modernMeta(inputResponses: .object(["user_name": accept(#"{"name":"Alice"}"#)])))
        XCTAssertNil(r2["resultType"])
        XCTAssertEqual(text(r2), "Hello, Alice!")
        // Extra unknown entries are ignored.
        let (_, r3) = await call("test_input_required_result_elicitation", modernMeta(inputResponses: .object([
            "user_name": accept(#"{"name":"Alice"}"#), "unknown_extra_key": json(#"{"x":1}"#)])))
        XCTAssertEqual(text(r3), "Hello, Alice!")
        // A wrong key or an answer that is not an ElicitResult: asked again.
        for responses in [#"{"wrong_key":{"action":"accept","content":{"data":"wrong"}}}"#,
                          #"{"user_name":{"data":"x"}}"#] {
            let (_, r) = await call("test_input_required_result_elicitation",
                                    modernMeta(inputResponses: json(responses)))
            XCTAssertEqual(r["resultType"], .string("input_required"), responses)
        }
    }

    func testMalformedInputResponsesAreInvalidParams() async {
        for bad in [JSONValue.null, json(#"{"user_name":12345}"#), json("[1]"), .string("x")] {
            let (t, r) = await call("test_input_required_result_elicitation", modernMeta(inputResponses: bad))
            XCTAssertEqual(t, .error, "\(bad)")
            XCTAssertEqual(r["code"], .number(-32602), "\(bad)")
        }
    }

    func testSamplingAndRootsRoundTrips() async {
        var (_, r) = await call("test_input_required_result_sampling", modernMeta())
        let capital = Self.sampling("What is the capital of France?", 100)
        XCTAssertEqual(r, inputRequired(#"{"capital_question":\#(capital)}"#))
        let sampled = json(#"{"role":"assistant","content":{"type":"text","text":"The capital of France is Paris."},"model":"test-model","stopReason":"endTurn"}"#)
        (_, r) = await call("test_input_required_result_sampling",
                            modernMeta(inputResponses: .object(["capital_question": sampled])))
        XCTAssertEqual(text(r), "Sampling result: The capital of France is Paris.")
        // The old key is not an answer: asked again.
        (_, r) = await call("test_input_required_result_sampling",
                            modernMeta(inputResponses: .object(["sample_request": sampled])))
        XCTAssertEqual(r["resultType"], .string("input_required"))
        (_, r) = await call("test_input_required_result_list_roots", modernMeta())
        XCTAssertEqual(r, inputRequired(#"{"client_roots":\#(Self.roots)}"#))
        (_, r) = await call("test_input_required_result_list_roots", modernMeta(inputResponses: .object([
            "client_roots": json(#"{"roots":[{"uri":"file:///test/root","name":"Test Root"}]}"#)])))
        XCTAssertEqual(text(r), "Found 1 root(s): file:///test/root")
    }

    func testMultipleInputsInOneResult() async {
        let (_, r1) = await call("test_input_required_result_multiple_inputs", modernMeta())
        let greeting = Self.sampling("Generate a greeting", 50)
        let all = #"{"user_name":\#(Self.nameRequest),"greeting":\#(greeting),"client_roots":\#(Self.roots)}"#
        XCTAssertEqual(r1["inputRequests"], json(all))
        XCTAssertNotNil(r1["requestState"]?.stringValue)
        let (_, r2) = await call("test_input_required_result_multiple_inputs", modernMeta(inputResponses: .object([
            "user_name": accept(#"{"name":"Alice"}"#),
            "greeting": json(#"{"role":"assistant","content":{"type":"text","text":"Hello there!"},"model":"m"}"#),
            "client_roots": json(#"{"roots":[{"uri":"file:///a"},{"uri":"file:///b"}]}"#)]),
            requestState: r1["requestState"]?.stringValue))
        XCTAssertEqual(text(r2), "Name: Alice; Greeting: Hello there!; Roots: 2")
    }

    func testMultiRoundStateChangesEachRound() async {
        let name = "test_input_required_result_multi_round"
        let (_, r1) = await call(name, modernMeta())
        let step1 = Self.elicitation("Step 1: What is your name?", "name")
        XCTAssertEqual(r1["inputRequests"], json(#"{"step1":\#(step1)}"#))
        let s1 = r1["requestState"]!.stringValue!
        let (_, r2) = await call(name, modernMeta(inputResponses: .object(["step1": accept(#"{"name":"Alice"}"#)]),
                                                  requestState: s1))
        XCTAssertEqual(r2["resultType"], .string("input_required"))
        let step2 = Self.elicitation("Step 2: What is your favorite color?", "color")
        XCTAssertEqual(r2["inputRequests"], json(#"{"step2":\#(step2)}"#))
        let s2 = r2["requestState"]!.stringValue!
        XCTAssertNotEqual(s1, s2)
        // Round 3 sends only step2: step1 comes back from the state.
        let (_, r3) = await call(name, modernMeta(inputResponses: .object(["step2": accept(#"{"color":"blue"}"#)]),
                                                  requestState: s2))
        XCTAssertEqual(text(r3), "Multi-round complete for Alice who likes blue")
        // Without the state, round 3 starts over at step1.
        let (_, r4) = await call(name, modernMeta(inputResponses: .object(["step2": accept(#"{"color":"blue"}"#)])))
        XCTAssertNotNil(r4["inputRequests"]?["step1"])
    }

    func testRequestStateIsCheckedAndBoundToTheRequest() async {
        let name = "test_input_required_result_request_state"
        let (_, r1) = await call(name, modernMeta())
        let confirmRequest = Self.elicitation("Please confirm", "ok", "boolean")
        XCTAssertEqual(r1["inputRequests"], json(#"{"confirm":\#(confirmRequest)}"#))
        let s1 = r1["requestState"]!.stringValue!
        let confirm = JSONValue.object(["confirm": accept(#"{"ok":true}"#)])
        var (t, r) = await call(name, modernMeta(inputResponses: confirm, requestState: s1))
        XCTAssertEqual(text(r), "state-ok: requestState validated")
        // Without the state the confirmation is asked again.
        (_, r) = await call(name, modernMeta(inputResponses: confirm))
        XCTAssertEqual(r["resultType"], .string("input_required"))
        // Garbage, a tampered state, or another tool's state: -32602 before the tool runs.
        let (_, other) = await call("test_input_required_result_tampered_state", modernMeta())
        for bad in [s1 + "-TAMPERED", "%%%", other["requestState"]!.stringValue!] {
            (t, r) = await call(name, modernMeta(inputResponses: confirm, requestState: bad))
            XCTAssertEqual(t, .error, bad)
            XCTAssertEqual(r["code"], .number(-32602), bad)
        }
    }

    func testMissingCapability() async {
        var (t, r) = await call("test_missing_capability", modernMeta(caps: "{}"))
        XCTAssertEqual(t, .error)
        XCTAssertEqual(r, json(#"""
            {"code":-32021,"message":"Missing required client capability",
             "data":{"requiredCapabilities":{"sampling":{}}}}
            """#))
        (_, r) = await call("test_missing_capability", modernMeta(caps: #"{"sampling":{}}"#))
        XCTAssertEqual(text(r), "Success")
        // Asking for an input whose capability is missing is -32021 too.
        (t, r) = await call("test_input_required_result_elicitation", modernMeta(caps: #"{"sampling":{}}"#))
        XCTAssertEqual(r["data"]?["requiredCapabilities"], json(#"{"elicitation":{}}"#))
        // The capability-aware tool asks only for what the client supports.
        (t, r) = await call("test_input_required_result_capabilities", modernMeta(caps: #"{"sampling":{}}"#))
        XCTAssertEqual(r["resultType"], .string("input_required"))
        XCTAssertEqual(r["inputRequests"], json(#"{"sample_input":\#(Self.sampling("Sample request", 50))}"#))
        XCTAssertNotNil(r["requestState"]?.stringValue)
        let sampled = json(#"{"sample_input":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}}"#)
        (t, r) = await call("test_input_required_result_capabilities",
                            modernMeta(caps: #"{"sampling":{}}"#, inputResponses: sampled))
        XCTAssertEqual(text(r), "capabilities-ok: received sample_input")
        (t, r) = await call("test_input_required_result_capabilities", modernMeta(caps: "{}"))
        XCTAssertEqual(text(r), "No supported capabilities declared")
    }

    func testPromptAndOtherModernTools() async {
        var (_, r) = await call("test_input_required_result_prompt", modernMeta(), kind: .prompt)
        let context = Self.elicitation("What context should the prompt use?", "context")
        XCTAssertEqual(r, inputRequired(#"{"user_context":\#(context)}"#))
        (_, r) = await call("test_input_required_result_prompt",
                            modernMeta(inputResponses: .object(["user_context": accept(#"{"context":"test context"}"#)])),
                            kind: .prompt)
        XCTAssertEqual(r, json(#"""
            {"messages":[{"content":{"text":"Prompt with context: test context","type":"text"},"role":"user"}]}
            """#))
        // Lists (no input) never answer input_required; prompts of the legacy era do not exist.
        (_, r) = await runCall(pack, kind: .prompt, "test_input_required_result_prompt")
        XCTAssertEqual(r["code"], .number(-32602))
        let link = FakeLink()
        (_, r) = await runCall(pack, kind: .tool, "test_logging_tool", meta: modernMeta(), link: link)
        XCTAssertEqual(text(r), "Logging evaluated")
        XCTAssertTrue(link.notifications.isEmpty, "no logLevel: no log")
        let link2 = FakeLink()
        _ = await runCall(pack, kind: .tool, "test_logging_tool", meta: modernMeta(logLevel: "info"), link: link2)
        XCTAssertEqual(link2.notifications.first?["params"]?["level"], .string("info"))
        let link3 = FakeLink()
        (_, r) = await runCall(pack, kind: .tool, "test_trigger_prompt_change", meta: modernMeta(), link: link3)
        XCTAssertEqual(link3.linkWide, [json(#"{"method":"notifications/prompts/list_changed"}"#)])
        XCTAssertEqual(text(r), "Mutation triggered")
    }

    // MARK: legacy era: REQUEST out, RESPONSE in

    /// Waits until the fake link has sent `n` REQUEST frames.
    func requests(_ link: FakeLink, _ n: Int) async -> [JSONValue] {
        for _ in 0..<500 where link.requests.count < n { try? await Task.sleep(nanoseconds: 2_000_000) }
        return link.requests
    }

    func testLegacySamplingThroughRequestAndResponse() async throws {
        let link = FakeLink()
        let task = Task { await runCall(ConformancePack.pack, kind: .tool, "test_sampling",
                                        meta: json(#"{"era":"legacy","clientCapabilities":{"sampling":{}}}"#),
                                        args: #"{"prompt":"Test prompt for sampling"}"#, link: link) }
        let sent = await requests(link, 1)
        let req = try XCTUnwrap(sent.first)
        XCTAssertEqual(req["method"], .string("sampling/createMessage"))
        XCTAssertEqual(req["params"], json(#"""
            {"maxTokens":100,"messages":[{"content":{"text":"Test prompt for sampling","type":"text"},"role":"user"}]}
            """#))
        let id = try XCTUnwrap(req["requestId"]?.numberValue)
        XCTAssertFalse(InputBroker.shared.deliver(Array(#"{"requestId":-5,"result":{}}"#.utf8)),
                       "unknown ids are ignored")
        let answer = #"{"requestId":\#(JSONValue.formatNumber(id)),"result":{"role":"assistant","#
            + #""content":{"type":"text","text":"This is a test response from the client"},"#
            + #""model":"test-model","stopReason":"endTurn"}}"#
        XCTAssertTrue(InputBroker.shared.deliver(Array(answer.utf8)))
        let (t, r) = await task.value
        XCTAssertEqual(t, .result)
        XCTAssertEqual(text(r), "LLM response: This is a test response from the client")
        XCTAssertFalse(InputBroker.shared.deliver(Array(answer.utf8)), "answered once")
    }

    /// A request the tool stops waiting for (its task cancelled) is withdrawn: a NOTIFY
    /// `notifications/cancelled` naming it (proto §5.9), and a late answer is ignored.
    func testACancelledRequestIsWithdrawnAndALateAnswerIgnored() async throws {
        let sent = Locked<[[UInt8]]>([]), withdrawn = Locked<[[UInt8]]>([])
        let task = Task {
            try await InputBroker.shared.request(method: "roots/list", params: .object([:]),
                                                 send: { p in sent.withLock { $0.append(p) } },
                                                 withdraw: { p in withdrawn.withLock { $0.append(p) } })
        }
        for _ in 0..<500 where sent.withLock({ $0.isEmpty }) { try await Task.sleep(nanoseconds: 2_000_000) }
        let id = try XCTUnwrap((try JSONValue.parse(XCTUnwrap(sent.withLock { $0.first })))["requestId"])
        XCTAssertTrue(withdrawn.withLock { $0.isEmpty }, "withdrawn before the tool gave up")
        task.cancel()
        do { _ = try await task.value; XCTFail("answered after cancellation") } catch is CancellationError {}
        let notice = try JSONValue.parse(XCTUnwrap(withdrawn.withLock { $0.first }))
        XCTAssertEqual(notice["method"], .string("notifications/cancelled"))
        XCTAssertEqual(notice["params"]?["requestId"], id)
        XCTAssertEqual(withdrawn.withLock { $0.count }, 1)
        XCTAssertFalse(InputBroker.shared.deliver(Array(#"{"requestId":\#(id.compactJSON()),"result":{}}"#.utf8)),
                       "a withdrawn request's answer is ignored")
    }

    func testLegacyElicitationErrorAnswerAndIds() async throws {
        let link = FakeLink()
        let task = Task { await runCall(ConformancePack.pack, kind: .tool, "test_elicitation",
                                        meta: json(#"{"era":"legacy"}"#),
                                        args: #"{"message":"Please provide your information"}"#, link: link) }
        let sent = await requests(link, 1)
        let req = try XCTUnwrap(sent.first)
        XCTAssertEqual(req["method"], .string("elicitation/create"))
        XCTAssertEqual(req["params"]?["requestedSchema"]?["required"], json(#"["response"]"#))
        let id = Int(try XCTUnwrap(req["requestId"]?.numberValue))
        InputBroker.shared.deliver(Array(#"{"requestId":\#(id),"error":{"code":-1,"message":"User rejected"}}"#.utf8))
        let (_, r) = await task.value
        XCTAssertEqual(text(r), "Elicitation not supported or error: User rejected")
        XCTAssertGreaterThan(InputBroker.shared.nextRequestID(), id, "request ids are process-wide and increasing")
    }

    func testLegacyAcceptedElicitationAndMissingCapability() async throws {
        let link = FakeLink()
        let task = Task { await runCall(ConformancePack.pack, kind: .tool, "test_elicitation_sep1034_defaults",
                                        meta: json(#"{"era":"legacy"}"#), args: "{}", link: link) }
        let sent = await requests(link, 1)
        let req = try XCTUnwrap(sent.first)
        XCTAssertEqual(req["params"]?["requestedSchema"]?["properties"]?["score"]?["default"], .number(95.5))
        let accepted = #"{"requestId":\#(Int(req["requestId"]!.numberValue!)),"#
            + #""result":{"action":"accept","content":{"name":"Jane Smith","age":25}}}"#
        InputBroker.shared.deliver(Array(accepted.utf8))
        let (_, r) = await task.value
        XCTAssertEqual(text(r), #"Elicitation completed: action=accept, content={"age":25,"name":"Jane Smith"}"#)
        // A legacy client that declared no sampling: no REQUEST, the tool reports it.
        let link2 = FakeLink()
        let (_, r2) = await runCall(pack, kind: .tool, "test_sampling",
                                    meta: json(#"{"era":"legacy","clientCapabilities":{}}"#),
                                    args: #"{"prompt":"x"}"#, link: link2)
        XCTAssertTrue(link2.requests.isEmpty)
        XCTAssertEqual(text(r2), "Sampling not supported or error: client does not support sampling")
    }

    func testCancellationWhileWaitingForAResponse() async throws {
        let link = FakeLink()
        let before = InputBroker.shared.waitingCount
        let task = Task { await runCall(ConformancePack.pack, kind: .tool, "test_elicitation_sep1330_enums",
                                        meta: json(#"{"era":"legacy"}"#), args: "{}", link: link) }
        let sent = await requests(link, 1)
        let req = try XCTUnwrap(sent.first)
        XCTAssertNotNil(req["params"]?["requestedSchema"]?["properties"]?["titledMulti"]?["items"]?["anyOf"])
        task.cancel()
        let (t, r) = await task.value
        XCTAssertEqual(t, .error)
        XCTAssertEqual(r["code"], .number(-32800))
        XCTAssertEqual(InputBroker.shared.waitingCount, before)
    }
}
