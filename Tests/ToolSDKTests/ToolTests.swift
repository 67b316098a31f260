import DemoTools
import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

final class ToolTests: XCTestCase {
    func run(_ tool: Tool, _ args: String) async -> (FrameType, String) {
        let call = CallPayload(kind: .tool, name: tool.name, arguments: Array(args.utf8))
        let (t, p) = await ExecutorLink.run(tool, call)
        return (t, String(decoding: p, as: UTF8.self))
    }

    func testDemoTools() async {
        var r = await run(DemoPack.echo, #"{"text":"hi \"there\""}"#)
        XCTAssertEqual(r.0, .result)
        XCTAssertEqual(r.1, #"{"content":[{"text":"hi \"there\"","type":"text"}],"isError":false}"#)
        r = await run(DemoPack.addNumbers, #"{"a":2,"b":40}"#)
        XCTAssertEqual(r.1,
                       #"{"content":[{"text":"42","type":"text"}],"isError":false,"structuredContent":{"sum":42}}"#)
        r = await run(DemoPack.sha256, #"{"text":"abc"}"#)
        XCTAssertTrue(r.1.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        r = await run(DemoPack.sleepMs, #"{"ms":1}"#)
        XCTAssertTrue(r.1.contains("slept 1 ms"))
    }

    /// The pure demo tools declare a fresh-result TTL (shared by every caller) and both hints; echo
    /// and sleep_ms declare none.
    func testCacheMetaInTheCatalog() {
        for tool in [DemoPack.addNumbers, DemoPack.sha256] {
            let meta = tool.catalogJSON["_meta"]
            XCTAssertEqual(meta?["io.switchyard/cacheTtlMs"], .number(Double(DemoPack.pureResultTtlMs)), tool.name)
            XCTAssertEqual(meta?["io.switchyard/cacheScope"], .string("shared"), tool.name)
            XCTAssertEqual(meta?["io.switchyard/staleOnError"], .bool(true), tool.name)
            XCTAssertNil(meta?["io.switchyard/cacheable"], tool.name)
            XCTAssertEqual(tool.catalogJSON["annotations"]?["readOnlyHint"], .bool(true))
            XCTAssertEqual(tool.catalogJSON["annotations"]?["idempotentHint"], .bool(true))
        }
        for tool in [DemoPack.echo, DemoPack.sleepMs] {
            XCTAssertNil(tool.catalogJSON["_meta"]?["io.switchyard/cacheTtlMs"], tool.name)
        }
        let perPrincipal = Tool.immediate(name: "p", description: "", inputSchema: .object([:]),
                                          annotations: ToolAnnotations(readOnlyHint: true, idempotentHint: true),
                                          cacheTtlMs: 5) { _ in .text("") }
        XCTAssertEqual(perPrincipal.catalogJSON["_meta"]?["io.switchyard/cacheTtlMs"], .number(5))
        XCTAssertNil(perPrincipal.catalogJSON["_meta"]?["io.switchyard/cacheScope"])
    }

    func testInvalidArgumentsAreToolErrorsNotProtocolErrors() async {
        for args in [#"{}"#, #"{"text":5}"#, #"[1]"#, #"{"text":"x","rounds":0}"#] {
            let tool = args.contains("rounds") ? DemoPack.sha256 : DemoPack.echo
            let (t, p) = await run(tool, args)
            XCTAssertEqual(t, .result, args)
            XCTAssertTrue(p.contains(#""isError":true"#), "\(args): \(p)")
        }
        let (_, p) = await run(DemoPack.sha256, #"{"text":"x","rounds":1.5}"#)
        XCTAssertTrue(p.contains(#""isError":true"#), "integer check")
    }

    func testCancelledHandlerAnswersRequestCancelled() async {
        let call = CallPayload(kind: .tool, name: "sleep_ms", arguments: Array(#"{"ms":10000}"#.utf8))
        let task = Task { await ExecutorLink.run(DemoPack.sleepMs, call) }
        try? await Task.sleep(nanoseconds: 20_000_000)
        task.cancel()
        let (t, p) = await task.value
        XCTAssertEqual(t, .error)
        XCTAssertTrue(String(decoding: p, as: UTF8.self).contains("-32800"))
    }

    func testSchemaCheck() {
        let schema = DemoPack.addNumbers.inputSchema
        XCTAssertNil(SchemaCheck.validate(["a": .number(1), "b": .number(2)], against: schema))
        XCTAssertEqual(SchemaCheck.validate(["a": .number(1)], against: schema), "missing required argument 'b'")
        XCTAssertEqual(SchemaCheck.validate(["a": .string("1"), "b": .number(2)], against: schema),
                       "argument 'a' must be of type number")
        // Unknown arguments pass unless the schema closes the object.
        XCTAssertNil(SchemaCheck.validate(["a": .number(1), "b": .number(2), "c": .null], against: schema))
        let closed = JSONValue.object(["type": .string("object"), "additionalProperties": .bool(false),
                                       "properties": .object(["n": .object(["type": .string("integer")]),
                                                              "any": .object([:])])])
        XCTAssertEqual(SchemaCheck.validate(["c": .null], against: closed), "unexpected argument 'c'")
        XCTAssertNil(SchemaCheck.validate(["any": .array([]), "n": .number(3)], against: closed),
                     "a property without a type takes anything")
        XCTAssertEqual(SchemaCheck.validate(["n": .number(3.5)], against: closed),
                       "argument 'n' must be of type integer")
    }

    func testToolNameRules() {
        XCTAssertTrue(Tool.isValidName("get_weather.v2-beta"))
        XCTAssertFalse(Tool.isValidName(""))
        XCTAssertFalse(Tool.isValidName("has space"))
        XCTAssertFalse(Tool.isValidName("a/b"))
        XCTAssertFalse(Tool.isValidName(String(repeating: "a", count: 65)))
    }

    /// The direct writer of a CallToolResult gives the bytes of the sorted-key JSON writer.
    func testResultBytesMatchTheSortedWriter() {
        let results: [ToolResult] = [
            .text("hello"), .error("bad \"input\"\n"), ToolResult(content: []),
            ToolResult(content: [.text("a"), .image(base64: "AAA=", mimeType: "image/png"), .text("日本\u{01}")],
                       structuredContent: .object(["sum": .number(3), "list": .array([.null, .bool(true)])])),
        ]
        for r in results {
            var o: [String: JSONValue] = ["content": .array(r.content.map(\.json)), "isError": .bool(r.isError)]
            if let s = r.structuredContent { o["structuredContent"] = s }
            XCTAssertEqual(String(decoding: r.jsonBytes, as: UTF8.self), JSONValue.object(o).compactJSON())
        }
    }
}
