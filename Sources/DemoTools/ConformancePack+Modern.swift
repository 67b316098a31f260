import MCPCore
import ToolSDK

/// The 2026-07-28 tools: input-required (MRTR) flows, capability checks, per-request logging,
/// list-change triggers. Listed in the modern era only.
extension ConformancePack {
    static var modernTools: [Tool] {
        [missingCapability, mrtrElicitation, mrtrSampling, mrtrListRoots, mrtrRequestState, mrtrMultipleInputs,
         mrtrMultiRound, mrtrTamperedState, mrtrCapabilities, streamingElicitation, loggingTool,
         triggerToolChange, triggerPromptChange]
    }

    static func modern(_ name: String, _ description: String, _ handler: @escaping Tool.Handler) -> Tool {
        Tool(name: name, description: description, inputSchema: noArguments, availableIn: .modern, handler: handler)
    }

    static let nameSchema = schema(["name": string()], required: ["name"])
    static let confirmSchema = schema(["ok": .object(["type": .string("boolean")])], required: ["ok"])

    static let missingCapability = modern("test_missing_capability", "Test tool requiring sampling") { call in
        try call.require(.sampling) // -32021 with data.requiredCapabilities {"sampling":{}}
        return .text("Success")
    }

    static let mrtrElicitation = modern(
        "test_input_required_result_elicitation", "MRTR: returns InputRequiredResult with elicitation request"
    ) { call in
        let r = try await call.elicit(key: "user_name", message: "What is your name?", schema: nameSchema)
        return .text("Hello, \(r.string("name") ?? "unknown")!")
    }

    static let mrtrSampling = modern(
        "test_input_required_result_sampling", "MRTR: returns InputRequiredResult with sampling request"
    ) { call in
        let r = try await call.sample(key: "sample_request", prompt: "What is the capital of France?", maxTokens: 100)
        return .text("Sampling result: \(r.text ?? "no response")")
    }

    static let mrtrListRoots = modern(
        "test_input_required_result_list_roots", "MRTR: returns InputRequiredResult with roots/list request"
    ) { call in
        let roots = try await call.listRoots(key: "roots_request")
        return .text("Found \(roots.count) root(s)")
    }

    /// Asks for `confirm` with the handler's state marked `kind`; completes only when the state
    /// came back from the previous round and the user confirmed.
    static func confirmWithState(_ call: ToolCall, kind: String, done: String) async throws -> ToolResult {
        let returned = call.requestState["kind"] == .string(kind)
        call.requestState["kind"] = .string(kind)
        if !returned { call.discardInput(key: "confirm") } // a confirmation without our state is asked again
        let r = try await call.elicit(key: "confirm", message: "Please confirm", schema: confirmSchema)
        guard r.accepted, r.content?["ok"] == .bool(true) else {
            call.discardInput(key: "confirm")
            _ = try await call.elicit(key: "confirm", message: "Please confirm", schema: confirmSchema)
            return .text("unreachable")
        }
        return .text(done)
    }

    static let mrtrRequestState = modern(
        "test_input_required_result_request_state", "MRTR: returns InputRequiredResult with requestState"
    ) { call in try await confirmWithState(call, kind: "request-state", done: "state-ok: requestState validated") }

    /// The front HMAC-wraps requestState and rejects a tampered one before it reaches us; a
    /// state that is not ours anyway is refused by the SDK with -32602.
    static let mrtrTamperedState = modern(
        "test_input_required_result_tampered_state", "MRTR: HMAC-signed requestState integrity test"
    ) { call in try await confirmWithState(call, kind: "tamper-test", done: "integrity-ok: state verified") }

    static let mrtrMultipleInputs = modern(
        "test_input_required_result_multiple_inputs", "MRTR: returns InputRequiredResult with multiple input requests"
    ) { call in
        call.requestState["kind"] = .string("multiple-inputs")
        let answers = try await call.inputs([
            .elicitation(key: "user_name", message: "What is your name?", schema: nameSchema),
            .sampling(key: "greeting", prompt: "Generate a greeting", maxTokens: 50),
            .roots(key: "client_roots"),
        ])
        let name = answers["user_name"]?["content"]?["name"]?.stringValue ?? "unknown"
        let greeting = SamplingResult(raw: answers["greeting"] ?? .null).text ?? "Hello there!"
        let roots = answers["client_roots"]?["roots"].flatMap { r -> Int? in
            if case .array(let a) = r { return a.count } else { return nil }
        } ?? 0
        return .text("Name: \(name); Greeting: \(greeting); Roots: \(roots)")
    }

    static let mrtrMultiRound = modern(
        "test_input_required_result_multi_round", "MRTR: multi-round InputRequiredResult workflow"
    ) { call in
        call.requestState["round"] = .number(1)
        let first = try await call.elicit(key: "step1", message: "Step 1: What is your name?", schema: nameSchema)
        let name = first.string("name") ?? "unknown"
        call.requestState["round"] = .number(2)
        call.requestState["name"] = .string(name)
        let second = try await call.elicit(key: "step2", message: "Step 2: What is your favorite color?",
                                           schema: schema(["color": string()], required: ["color"]))
        return .text("Multi-round complete for \(name) who likes \(second.string("color") ?? "unknown")")
    }

    static let mrtrCapabilities = modern(
        "test_input_required_result_capabilities", "MRTR: respects client capabilities in inputRequests"
    ) { call in
        if case .object(let responses)? = call.request.context.inputResponses, !responses.isEmpty {
            return .text("capabilities-ok: received \(responses.keys.sorted().joined(separator: ", "))")
        }
        var wanted: [InputRequest] = []
        if call.clientSupports(.elicitation) {
            wanted.append(.elicitation(key: "elicit_input", message: "Elicitation input",
                                       schema: schema(["value": string()], required: ["value"])))
        }
        if call.clientSupports(.sampling) {
            wanted.append(.sampling(key: "sample_input", prompt: "Sample request", maxTokens: 50))
        }
        if wanted.isEmpty { return .text("No supported capabilities declared") }
        call.requestState["kind"] = .string("capabilities")
        let got = try await call.inputs(wanted)
        return .text("capabilities-ok: received \(got.keys.sorted().joined(separator: ", "))")
    }

    static let streamingElicitation = modern(
        "test_streaming_elicitation", "Diagnostic tool validating response progress streams"
    ) { call in
        call.progress(50, total: 100, message: "streaming")
        return .text("Streaming complete")
    }

    static let loggingTool = modern("test_logging_tool", "Diagnostic logging validator tool") { call in
        // Sent only when the request carried a logLevel at or below info.
        call.log(.info, .string("Logging evaluated at the requested level"), logger: "conformance")
        return .text("Logging evaluated")
    }

    static let triggerToolChange = modern(
        "test_trigger_tool_change", "Sends notifications/tools/list_changed to every listening client"
    ) { call in
        call.notifyAll(method: "notifications/tools/list_changed")
        return .text("Mutation triggered")
    }

    static let triggerPromptChange = modern(
        "test_trigger_prompt_change", "Sends notifications/prompts/list_changed to every listening client"
    ) { call in
        call.notifyAll(method: "notifications/prompts/list_changed")
        return .text("Mutation triggered")
    }
}
