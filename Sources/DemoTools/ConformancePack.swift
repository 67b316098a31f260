import MCPCore
import ToolSDK

/// The `conformance` pack: exactly the tools, resources, prompts and completions the official
/// MCP conformance suite's server scenarios expect, for 2025-11-25 (legacy) and 2026-07-28
/// (modern), behaving as its reference everything-server does. Entries listed in one era only
/// carry `_meta["io.switchyard/era"]`.
public enum ConformancePack {
    public static var pack: ToolPack {
        ToolPack(tools: legacyTools + modernTools, resources: resources, resourceTemplates: [template],
                 prompts: prompts, subscriptions: true)
    }

    /// A 1×1 PNG (70 bytes).
    public static let imageBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
        + "z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    /// A WAV header (44 bytes: 8 kHz mono 16-bit; its data chunk declares 2 bytes).
    public static let audioBase64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

    /// `{"type":"object","properties":{}}`: the schema of argument-free tools.
    static let noArguments: JSONValue = .object(["type": .string("object"), "properties": .object([:])])

    static func schema(_ props: [String: JSONValue], required: [String]) -> JSONValue {
        .object(["type": .string("object"), "properties": .object(props),
                 "required": .array(required.map { .string($0) })])
    }

    static func string(_ description: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": .string("string")]
        if let description { o["description"] = .string(description) }
        return .object(o)
    }

    static func sleep(ms: UInt64) async throws { try await Task.sleep(nanoseconds: ms * 1_000_000) }

    /// `JSON.stringify` of an object the way the reference prints it (compact).
    static func stringify(_ o: [String: JSONValue]?) -> String { JSONValue.object(o ?? [:]).compactJSON() }

    // MARK: tools listed in both eras (the everything-server's legacy list, in its order)

    static var legacyTools: [Tool] {
        [simpleText, image, audio, embeddedResource, multipleContent, withLogging, withProgress, errorHandling,
         reconnection, sampling, elicitation, elicitationDefaults, elicitationEnums, jsonSchema202012]
    }

    /// First in the list and argument-free: header-validation scenarios call tools[0] with `{}`.
    static let simpleText = Tool(
        name: "test_simple_text", description: "Tests simple text content response", inputSchema: noArguments
    ) { _ in .text("This is a simple text response for testing.") }

    static let image = Tool(
        name: "test_image_content", description: "Tests image content response", inputSchema: noArguments
    ) { _ in ToolResult(content: [.image(base64: imageBase64, mimeType: "image/png")]) }

    static let audio = Tool(
        name: "test_audio_content", description: "Tests audio content response", inputSchema: noArguments
    ) { _ in ToolResult(content: [.audio(base64: audioBase64, mimeType: "audio/wav")]) }

    static let embeddedResource = Tool(
        name: "test_embedded_resource", description: "Tests embedded resource content response",
        inputSchema: noArguments
    ) { _ in
        ToolResult(content: [.resource(.text("test://embedded-resource", "This is an embedded resource content."))])
    }

    static let multipleContent = Tool(
        name: "test_multiple_content_types",
        description: "Tests response with multiple content types (text, image, resource)", inputSchema: noArguments
    ) { _ in
        ToolResult(content: [
            .text("Multiple content types test:"),
            .image(base64: imageBase64, mimeType: "image/png"),
            .resource(.text("test://mixed-content-resource", #"{"test":"data","value":123}"#,
                            mimeType: "application/json")),
        ])
    }

    static let withLogging = Tool(
        name: "test_tool_with_logging", description: "Tests tool that emits log messages during execution",
        inputSchema: noArguments
    ) { call in
        call.log(.info, .string("Tool execution started"))
        try await sleep(ms: 50)
        call.log(.info, .string("Tool processing data"))
        try await sleep(ms: 50)
        call.log(.info, .string("Tool execution completed"))
        return .text("Tool with logging executed successfully")
    }

    static let errorHandling = Tool(
        name: "test_error_handling", description: "Tests error response handling", inputSchema: noArguments
    ) { _ in throw ToolError("This tool intentionally returns an error for testing") }

    static let withProgress = Tool(
        name: "test_tool_with_progress", description: "Tests tool that reports progress notifications",
        inputSchema: noArguments
    ) { call in
        // Progress goes out only when the client sent a progressToken (the SDK drops it otherwise).
        for (i, step) in [0.0, 50, 100].enumerated() {
            if i > 0 { try await sleep(ms: 50) }
            call.progress(step, total: 100, message: "Completed step \(JSONValue.formatNumber(step)) of 100")
        }
        switch call.progressToken {
        case .string(let s)?: return .text(s)
        case let t?: return .text(t.compactJSON())
        case nil: return .text("0")
        }
    }

    static let sampling = Tool(
        name: "test_sampling", description: "Tests server-initiated sampling (LLM completion request)",
        inputSchema: schema(["prompt": string("The prompt to send to the LLM")], required: ["prompt"])
    ) { call in
        do {
            let r = try await call.sample(key: "sampling", prompt: try call.string("prompt"), maxTokens: 100)
            return .text("LLM response: " + (r.text ?? "No response"))
        } catch let e as InputRequired {
            throw e
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .text("Sampling not supported or error: \(describe(error))")
        }
    }

    static let elicitation = Tool(
        name: "test_elicitation", description: "Tests server-initiated elicitation (user input request)",
        inputSchema: schema(["message": string("The message to show the user")], required: ["message"])
    ) { call in
        do {
            let r = try await call.elicit(key: "elicitation", message: try call.string("message"),
                                          schema: schema(["response": string("User's response")],
                                                         required: ["response"]))
            return .text("User response: action=\(r.action), content=\(stringify(r.content))")
        } catch let e as InputRequired {
            throw e
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .text("Elicitation not supported or error: \(describe(error))")
        }
    }

    static let elicitationDefaults = Tool(
        name: "test_elicitation_sep1034_defaults", description: "Tests elicitation with default values per SEP-1034",
        inputSchema: noArguments
    ) { call in
        let props: [String: JSONValue] = [
            "name": .object(["type": .string("string"), "description": .string("User name"),
                             "default": .string("John Doe")]),
            "age": .object(["type": .string("integer"), "description": .string("User age"), "default": .number(30)]),
            "score": .object(["type": .string("number"), "description": .string("User score"),
                              "default": .number(95.5)]),
            "status": .object(["type": .string("string"), "description": .string("User status"),
                               "enum": .array(["active", "inactive", "pending"].map { .string($0) }),
                               "default": .string("active")]),
            "verified": .object(["type": .string("boolean"), "description": .string("Verification status"),
                                 "default": .bool(true)]),
        ]
        let r = try await call.elicit(key: "defaults",
                                      message: "Please review and update the form fields with defaults",
                                      schema: schema(props, required: []))
        return .text("Elicitation completed: action=\(r.action), content=\(stringify(r.content))")
    }

    static let elicitationEnums = Tool(
        name: "test_elicitation_sep1330_enums",
        description: "Tests elicitation with enum schema improvements per SEP-1330",
        inputSchema: noArguments
    ) { call in
        func options(_ pairs: [(String, String)]) -> JSONValue {
            .array(pairs.map { .object(["const": .string($0.0), "title": .string($0.1)]) })
        }
        func strings(_ s: [String]) -> JSONValue { .array(s.map { .string($0) }) }
        let props: [String: JSONValue] = [
            "untitledSingle": .object(["type": .string("string"), "description": .string("Select one option"),
                                       "enum": strings(["option1", "option2", "option3"])]),
            "titledSingle": .object(["type": .string("string"), "description": .string("Select one option with titles"),
                                     "oneOf": options([("value1", "First Option"), ("value2", "Second Option"),
                                                       ("value3", "Third Option")])]),
            "legacyEnum": .object(["type": .string("string"), "description": .string("Select one option (legacy)"),
                                   "enum": strings(["opt1", "opt2", "opt3"]),
                                   "enumNames": strings(["Option One", "Option Two", "Option Three"])]),
            "untitledMulti": .object(["type": .string("array"), "description": .string("Select multiple options"),
                                      "minItems": .number(1), "maxItems": .number(3),
                                      "items": .object(["type": .string("string"),
                                                        "enum": strings(["option1", "option2", "option3"])])]),
            "titledMulti": .object(["type": .string("array"),
                                    "description": .string("Select multiple options with titles"),
                                    "minItems": .number(1), "maxItems": .number(3),
                                    "items": .object(["anyOf": options([("value1", "First Choice"),
                                                                        ("value2", "Second Choice"),
                                                                        ("value3", "Third Choice")])])]),
        ]
        let r = try await call.elicit(key: "enums", message: "Please select options from the enum fields",
                                      schema: schema(props, required: []))
        return .text("Elicitation completed: action=\(r.action), content=\(stringify(r.content))")
    }

    /// The SEP-1613 fixture, served verbatim.
    static let jsonSchema202012Input: JSONValue = {
        let text = ##"""
            {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",\##
            "$defs":{"address":{"$anchor":"addressDef","type":"object",\##
            "properties":{"street":{"type":"string"},"city":{"type":"string"}}}},\##
            "properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"},\##
            "contactMethod":{"type":"string","enum":["phone","email"]},"phone":{"type":"string"},\##
            "email":{"type":"string"}},"allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],\##
            "if":{"properties":{"contactMethod":{"const":"phone"}},"required":["contactMethod"]},\##
            "then":{"required":["phone"]},"else":{"required":["email"]},"additionalProperties":false}
            """##
        return try! JSONValue.parse(Array(text.utf8))
    }()

    static let jsonSchema202012 = Tool(
        name: "json_schema_2020_12_tool",
        description: "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        inputSchema: jsonSchema202012Input
    ) { call in .text("JSON Schema 2020-12 tool called with: \(stringify(call.arguments))") }

    /// The front closes the POST SSE stream mid-call for this tool when it implements SEP-1699
    /// resumption (`_meta["io.switchyard/sseReconnectTest"]`); the executor only waits 100 ms.
    static let reconnection = Tool(
        name: "test_reconnection",
        description: "Tests SSE stream disconnection and client reconnection (SEP-1699). "
            + "Server will close the stream mid-call and send the result after client reconnects.",
        inputSchema: noArguments, meta: ["io.switchyard/sseReconnectTest": .bool(true)]
    ) { _ in
        try await sleep(ms: 100)
        return .text("Reconnection test completed successfully. "
                     + "If you received this, the client properly reconnected after stream closure.")
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as MissingClientCapability:
            return "client does not support " + e.capabilities.map(\.rawValue).joined(separator: ", ")
        case let e as ClientRequestFailed: return e.message
        default: return "\(error)"
        }
    }
}
