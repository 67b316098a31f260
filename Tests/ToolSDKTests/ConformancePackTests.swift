import DemoTools
import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

/// The conformance pack answers as the suite's scenarios require: as its everything-server does, except
/// for the input-required keys, which follow the scenario descriptions (see InputExchangeTests).
final class ConformancePackTests: XCTestCase {
    let pack = ConformancePack.pack

    func entries(_ list: [Catalog.Entry]) -> [JSONValue] { list.map { try! JSONValue.parse($0.json) } }
    func era(_ v: JSONValue) -> String? { v["_meta"]?["io.switchyard/era"]?.stringValue }

    func testCatalog() {
        let catalog = pack.catalog
        let tools = entries(catalog.tools)
        let both = tools.filter { era($0) == nil }.compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(both, ["test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
                              "test_multiple_content_types", "test_tool_with_logging", "test_tool_with_progress",
                              "test_error_handling", "test_reconnection", "test_sampling", "test_elicitation",
                              "test_elicitation_sep1034_defaults", "test_elicitation_sep1330_enums",
                              "json_schema_2020_12_tool"])
        let modern = Set(tools.filter { era($0) == "modern" }.compactMap { $0["name"]?.stringValue })
        XCTAssertEqual(modern.count, 13)
        XCTAssertTrue(modern.isSuperset(of: ["test_missing_capability", "test_streaming_elicitation",
                                             "test_logging_tool", "test_trigger_tool_change",
                                             "test_trigger_prompt_change"]))
        // + the prompt = 9 MRTR entries
        XCTAssertEqual(modern.filter { $0.hasPrefix("test_input_required_result_") }.count, 8)
        for t in tools {
            XCTAssertFalse(t["description"]?.stringValue?.isEmpty ?? true, "\(t)")
            XCTAssertTrue(Tool.isValidName(t["name"]!.stringValue!))
        }
        XCTAssertEqual(tools[0]["inputSchema"], json(#"{"properties":{},"type":"object"}"#), "first tool argument-free")
        let fixture = tools.first { $0["name"] == .string("json_schema_2020_12_tool") }!["inputSchema"]!
        XCTAssertEqual(fixture["$schema"], .string("https://json-schema.org/draft/2020-12/schema"))
        XCTAssertEqual(fixture["$defs"]?["address"]?["$anchor"], .string("addressDef"))
        XCTAssertEqual(fixture["additionalProperties"], .bool(false))
        XCTAssertNotNil(fixture["allOf"]?.compactJSON().contains("anyOf"))
        XCTAssertEqual(fixture["if"]?["properties"]?["contactMethod"]?["const"], .string("phone"))
        XCTAssertEqual(fixture["else"]?["required"], json(#"["email"]"#))

        let prompts = entries(catalog.prompts)
        XCTAssertEqual(prompts.map { $0["name"]!.stringValue! }, ["test_simple_prompt", "test_prompt_with_arguments",
                       "test_prompt_with_embedded_resource", "test_prompt_with_image",
                       "test_input_required_result_prompt"])
        XCTAssertTrue(prompts.allSatisfy { !($0["description"]?.stringValue?.isEmpty ?? true) })
        XCTAssertEqual(era(prompts[4]), "modern")
        XCTAssertEqual(prompts[1]["arguments"], json(#"""
            [{"description":"First test argument","name":"arg1","required":true},
             {"description":"Second test argument","name":"arg2","required":true}]
            """#))
        let resources = entries(catalog.resources)
        XCTAssertEqual(resources.map { $0["uri"]!.stringValue! }, ["test://static-text", "test://static-binary",
                       "test://watched-resource", "test://stateless-static-text"])
        XCTAssertEqual(era(resources[3]), "modern")
        XCTAssertEqual(entries(catalog.resourceTemplates), [json(#"""
            {"description":"A resource template with parameter substitution","mimeType":"application/json",
             "name":"template","title":"Resource Template","uriTemplate":"test://template/{id}/data"}
            """#)])
        XCTAssertTrue(catalog.completions)
        XCTAssertTrue(catalog.subscriptions)
    }

    func testBase64Constants() throws {
        let png = try XCTUnwrap(Base64.decode(ConformancePack.imageBase64))
        XCTAssertEqual(png.count, 70)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let wav = try XCTUnwrap(Base64.decode(ConformancePack.audioBase64))
        XCTAssertEqual(wav.count, 44)
        XCTAssertEqual(String(decoding: wav[0..<4], as: UTF8.self), "RIFF")
        XCTAssertEqual(String(decoding: wav[8..<12], as: UTF8.self), "WAVE")
        XCTAssertEqual(Base64.encode(png), ConformancePack.imageBase64)
        XCTAssertEqual(Base64.encode(wav), ConformancePack.audioBase64)
    }

    func tool(_ name: String, _ args: String = "{}", meta: JSONValue? = nil,
              link: FakeLink = FakeLink()) async -> JSONValue {
        let (t, r) = await runCall(pack, kind: .tool, name, meta: meta, args: args, link: link)
        XCTAssertEqual(t, .result, name)
        return r
    }

    func testContentTools() async {
        let img = ConformancePack.imageBase64, wav = ConformancePack.audioBase64
        var r = await tool("test_simple_text", "")
        XCTAssertEqual(r, json(#"""
            {"content":[{"text":"This is a simple text response for testing.","type":"text"}],"isError":false}
            """#))
        r = await tool("test_image_content")
        XCTAssertEqual(r["content"], json(#"[{"data":"\#(img)","mimeType":"image/png","type":"image"}]"#))
        r = await tool("test_audio_content")
        XCTAssertEqual(r["content"], json(#"[{"data":"\#(wav)","mimeType":"audio/wav","type":"audio"}]"#))
        r = await tool("test_embedded_resource")
        XCTAssertEqual(r["content"], json(#"""
            [{"resource":{"mimeType":"text/plain","text":"This is an embedded resource content.",
                          "uri":"test://embedded-resource"},"type":"resource"}]
            """#))
        r = await tool("test_multiple_content_types")
        XCTAssertEqual(r["content"], json(#"""
            [{"text":"Multiple content types test:","type":"text"},
             {"data":"\#(img)","mimeType":"image/png","type":"image"},
             {"resource":{"mimeType":"application/json","text":"{\"test\":\"data\",\"value\":123}",
                          "uri":"test://mixed-content-resource"},"type":"resource"}]
            """#))
        r = await tool("test_error_handling")
        XCTAssertEqual(r, json(#"""
            {"content":[{"text":"This tool intentionally returns an error for testing","type":"text"}],"isError":true}
            """#))
        r = await tool("json_schema_2020_12_tool", #"{"name":"n","email":"e@x"}"#)
        XCTAssertEqual(text(r), #"JSON Schema 2020-12 tool called with: {"email":"e@x","name":"n"}"#)
        r = await tool("test_reconnection")
        XCTAssertTrue(text(r)!.hasPrefix("Reconnection test completed successfully."))
    }

    func testLoggingAndProgressTools() async {
        let link = FakeLink()
        var r = await tool("test_tool_with_logging", meta: json(#"{"era":"legacy","logLevel":"debug"}"#), link: link)
        XCTAssertEqual(text(r), "Tool with logging executed successfully")
        XCTAssertEqual(link.notifications.map { $0["params"]?["data"]?.stringValue ?? "" },
                       ["Tool execution started", "Tool processing data", "Tool execution completed"])
        XCTAssertEqual(link.notifications.first?["method"], .string("notifications/message"))
        let quiet = FakeLink()
        _ = await tool("test_tool_with_logging", meta: json(#"{"era":"legacy","logLevel":"warning"}"#), link: quiet)
        XCTAssertTrue(quiet.notifications.isEmpty)
        let p = FakeLink()
        let progressMeta = json(#"{"era":"modern","clientCapabilities":{},"#
                                + #""_meta":{"progressToken":"progress-test-1"}}"#)
        r = await tool("test_tool_with_progress", meta: progressMeta, link: p)
        XCTAssertEqual(text(r), "progress-test-1")
        XCTAssertEqual(p.progress, [json(#"{"message":"Completed step 0 of 100","progress":0,"total":100}"#),
                                    json(#"{"message":"Completed step 50 of 100","progress":50,"total":100}"#),
                                    json(#"{"message":"Completed step 100 of 100","progress":100,"total":100}"#)])
        let none = FakeLink()
        _ = await tool("test_tool_with_progress", link: none)
        XCTAssertTrue(none.progress.isEmpty, "no token, no progress")
    }

    func testResourcesPromptsAndCompletion() async {
        var (_, r) = await runCall(pack, kind: .resource, "test://static-text")
        XCTAssertEqual(r, json(#"""
            {"contents":[{"mimeType":"text/plain","text":"This is the content of the static text resource.",
                          "uri":"test://static-text"}]}
            """#))
        (_, r) = await runCall(pack, kind: .resource, "test://static-binary")
        XCTAssertEqual(r["contents"], json(#"""
            [{"blob":"\#(ConformancePack.imageBase64)","mimeType":"image/png","uri":"test://static-binary"}]
            """#))
        (_, r) = await runCall(pack, kind: .resource, "test://template/123/data")
        XCTAssertEqual(r["contents"], json(#"""
            [{"mimeType":"application/json",
              "text":"{\"id\":\"123\",\"templateTest\":true,\"data\":\"Data for ID: 123\"}",
              "uri":"test://template/123/data"}]
            """#))
        (_, r) = await runCall(pack, kind: .resource, "test://watched-resource")
        XCTAssertEqual(r["contents"]?.compactJSON().contains("Watched resource content"), true)
        var t: FrameType
        (t, r) = await runCall(pack, kind: .resource, "test://nonexistent-resource-for-conformance-testing",
                               meta: modernMeta())
        XCTAssertEqual(t, .error)
        XCTAssertEqual(r["data"]?["uri"], .string("test://nonexistent-resource-for-conformance-testing"))
        (t, r) = await runCall(pack, kind: .resource, "test://stateless-static-text")
        XCTAssertEqual(t, .error, "modern-only resource")

        (_, r) = await runCall(pack, kind: .prompt, "test_simple_prompt")
        XCTAssertEqual(r, json(#"""
            {"messages":[{"content":{"text":"This is a simple prompt for testing.","type":"text"},"role":"user"}]}
            """#))
        (_, r) = await runCall(pack, kind: .prompt, "test_prompt_with_arguments",
                               args: #"{"arg1":"testValue1","arg2":"testValue2"}"#)
        XCTAssertEqual(r["messages"], json(#"""
            [{"content":{"text":"Prompt with arguments: arg1='testValue1', arg2='testValue2'","type":"text"},
              "role":"user"}]
            """#))
        (_, r) = await runCall(pack, kind: .prompt, "test_prompt_with_embedded_resource",
                               args: #"{"resourceUri":"test://example-resource"}"#)
        XCTAssertEqual(r["messages"], json(#"""
            [{"content":{"resource":{"mimeType":"text/plain","text":"Embedded resource content for testing.",
                                     "uri":"test://example-resource"},"type":"resource"},"role":"user"},
             {"content":{"text":"Please process the embedded resource above.","type":"text"},"role":"user"}]
            """#))
        (_, r) = await runCall(pack, kind: .prompt, "test_prompt_with_image")
        XCTAssertEqual(r["messages"], json(#"""
            [{"content":{"data":"\#(ConformancePack.imageBase64)","mimeType":"image/png","type":"image"},"role":"user"},
             {"content":{"text":"Please analyze the image above.","type":"text"},"role":"user"}]
            """#))

        (_, r) = await runCall(pack, kind: .completion, "",
                               args: #"{"ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"#
                                   + #""argument":{"name":"arg1","value":"test"}}"#)
        XCTAssertEqual(r["completion"]?["values"], json(#"["test","testValue1","test-arg-1"]"#))
        (_, r) = await runCall(pack, kind: .completion, "",
                               args: #"{"ref":{"type":"ref/resource","uri":"test://template/{id}/data"},"#
                                   + #""argument":{"name":"id","value":"1"}}"#)
        XCTAssertEqual(r["completion"]?["values"], json(#"["1","123"]"#))
    }
}
