import DemoTools
import MCPCore
@testable import ToolSDK
import WireProtocol
import XCTest

/// Every CALL kind through the link's entry point, with a small pack.
final class CallKindTests: XCTestCase {
    static let pack = ToolPack(
        tools: [DemoPack.echo,
                Tool(name: "modern_only", description: "m", inputSchema: .object(["type": .string("object")]),
                     availableIn: .modern) { _ in .text("modern") }],
        resources: [Resource(uri: "mem://a", name: "a", mimeType: "text/plain", contents: .text("A")),
                    Resource(uri: "mem://b", name: "b", mimeType: "image/png", contents: .blob("AAEC"))],
        resourceTemplates: [ResourceTemplate(uriTemplate: "mem://users/{user}/posts/{post}", name: "posts") { r in
            [.text(r.uri, "\(r.variables["user"]!)#\(r.variables["post"]!)")]
        }],
        prompts: [Prompt(name: "greet", description: "Greets", arguments: [PromptArgument("who", required: true)],
                         complete: { c in .matching(["Ada", "Alan", "Grace"], prefix: c.argumentValue) }) { p in
            PromptResult(description: "greeting", messages: [.user("Hello \(p["who"])"), .assistant("Hi")])
        }])

    func testToolKind() async {
        let (t, r) = await runCall(Self.pack, kind: .tool, "echo", args: #"{"text":"x"}"#)
        XCTAssertEqual(t, .result)
        XCTAssertEqual(text(r), "x")
        let (t2, e) = await runCall(Self.pack, kind: .tool, "nope")
        XCTAssertEqual(t2, .error)
        XCTAssertEqual(e, json(#"{"code":-32602,"message":"Unknown tool: nope"}"#))
    }

    func testEraFilter() async {
        var (t, r) = await runCall(Self.pack, kind: .tool, "modern_only")
        XCTAssertEqual(t, .error, "legacy call of a modern-only tool")
        XCTAssertEqual(r["code"], .number(-32602))
        (t, r) = await runCall(Self.pack, kind: .tool, "modern_only", meta: modernMeta(), args: "{}")
        XCTAssertEqual(text(r), "modern")
        let entry = Self.pack.catalog.tools[1]
        XCTAssertEqual(try JSONValue.parse(entry.json)["_meta"]?["io.switchyard/era"], .string("modern"))
        XCTAssertNil(try JSONValue.parse(Self.pack.catalog.tools[0].json)["_meta"]?["io.switchyard/era"])
    }

    func testResourceKind() async {
        var (t, r) = await runCall(Self.pack, kind: .resource, "mem://a")
        XCTAssertEqual(t, .result)
        XCTAssertEqual(r, json(#"{"contents":[{"mimeType":"text/plain","text":"A","uri":"mem://a"}]}"#))
        (_, r) = await runCall(Self.pack, kind: .resource, "mem://b")
        XCTAssertEqual(r["contents"], json(#"[{"blob":"AAEC","mimeType":"image/png","uri":"mem://b"}]"#))
        (_, r) = await runCall(Self.pack, kind: .resource, "mem://users/ada/posts/7")
        XCTAssertEqual(r["contents"],
                       json(#"[{"mimeType":"text/plain","text":"ada#7","uri":"mem://users/ada/posts/7"}]"#))
        for missing in ["mem://c", "mem://users/a/b/posts/7", "mem://users//posts/7", "mem://users/ada/posts/"] {
            (t, r) = await runCall(Self.pack, kind: .resource, missing)
            XCTAssertEqual(t, .error, missing)
            XCTAssertEqual(r, .object(["code": .number(-32602), "message": .string("Resource not found: \(missing)"),
                                       "data": .object(["uri": .string(missing)])]))
        }
    }

    func testPromptKind() async {
        var (t, r) = await runCall(Self.pack, kind: .prompt, "greet", args: #"{"who":"Ada"}"#)
        XCTAssertEqual(t, .result)
        XCTAssertEqual(r, json(#"{"description":"greeting","messages":["#
                               + #"{"content":{"text":"Hello Ada","type":"text"},"role":"user"},"#
                               + #"{"content":{"text":"Hi","type":"text"},"role":"assistant"}]}"#))
        (t, r) = await runCall(Self.pack, kind: .prompt, "greet")
        XCTAssertEqual(t, .error)
        XCTAssertEqual(r["code"], .number(-32602), "missing required argument")
        (t, r) = await runCall(Self.pack, kind: .prompt, "greet", args: "[1]")
        XCTAssertEqual(r["code"], .number(-32602))
        (t, r) = await runCall(Self.pack, kind: .prompt, "nope")
        XCTAssertEqual(r, json(#"{"code":-32602,"message":"Unknown prompt: nope"}"#))
    }

    func testCompletionKind() async {
        let params = #"{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"who","value":"A"}}"#
        var (t, r) = await runCall(Self.pack, kind: .completion, "", args: params)
        XCTAssertEqual(t, .result)
        XCTAssertEqual(r, json(#"{"completion":{"hasMore":false,"total":2,"values":["Ada","Alan"]}}"#))
        // A template without a completer: an empty completion.
        (_, r) = await runCall(Self.pack, kind: .completion, "",
                               args: #"{"ref":{"type":"ref/resource","uri":"mem://users/{user}/posts/{post}"},"#
                                   + #""argument":{"name":"user","value":""}}"#)
        XCTAssertEqual(r["completion"]?["values"], .array([]))
        (t, r) = await runCall(Self.pack, kind: .completion, "", args: #"{"ref":{"type":"ref/other"}}"#)
        XCTAssertEqual(t, .error)
        XCTAssertEqual(r["code"], .number(-32602))
        XCTAssertTrue(Self.pack.catalog.completions)
        XCTAssertFalse(ToolPack(DemoPack.tools).catalog.completions)
    }

    func testUnknownKindAndBadMeta() async {
        var call = CallPayload(kind: .tool, name: "echo")
        call.kind = 9
        var (t, p) = await ExecutorLink.run(call, pack: Self.pack)
        XCTAssertEqual(t, .error)
        XCTAssertEqual(try JSONValue.parse(p)["code"], .number(-32601))
        call = CallPayload(kind: .tool, name: "echo", meta: Array("[1]".utf8), arguments: Array(#"{"text":"x"}"#.utf8))
        (t, p) = await ExecutorLink.run(call, pack: Self.pack)
        XCTAssertEqual(try JSONValue.parse(p)["code"], .number(-32602))
    }

    func testTemplateMatching() {
        let t = ResourceTemplate(uriTemplate: "test://template/{id}/data", name: "t") { _ in [] }
        XCTAssertEqual(t.match("test://template/123/data"), ["id": "123"])
        XCTAssertNil(t.match("test://template//data"))
        XCTAssertNil(t.match("test://template/1/2/data"))
        XCTAssertNil(t.match("test://template/123/datum"))
        let two = ResourceTemplate(uriTemplate: "x://{a}-{b}", name: "two") { _ in [] }
        XCTAssertEqual(two.match("x://p-q-r"), ["a": "p", "b": "q-r"])
    }

    func testProgressOnlyWithTokenAndLogFiltering() async {
        let tool = Tool(name: "chatty", description: "logs",
                        inputSchema: .object(["type": .string("object")])) { call in
            call.progress(1, total: 2)
            for level in LogLevel.allCases { call.log(level, .string(level.rawValue)) }
            return .text("done")
        }
        let pack = ToolPack([tool])
        func levels(_ link: FakeLink) -> [String] {
            link.notifications.compactMap { $0["params"]?["level"]?.stringValue }
        }
        // Legacy without a level: info and above.
        var link = FakeLink()
        _ = await runCall(pack, kind: .tool, "chatty", link: link)
        XCTAssertEqual(levels(link), ["info", "notice", "warning", "error", "critical", "alert", "emergency"])
        XCTAssertTrue(link.progress.isEmpty, "no progressToken: no PROGRESS")
        // Legacy at debug, with a progress token.
        link = FakeLink()
        _ = await runCall(pack, kind: .tool, "chatty",
                          meta: json(#"{"era":"legacy","logLevel":"debug","_meta":{"progressToken":"p"}}"#), link: link)
        XCTAssertEqual(levels(link).count, 8)
        XCTAssertEqual(link.progress, [json(#"{"progress":1,"total":2}"#)])
        // Modern without a level: none; with "error": error and above.
        link = FakeLink()
        _ = await runCall(pack, kind: .tool, "chatty", meta: modernMeta(), link: link)
        XCTAssertEqual(levels(link), [])
        link = FakeLink()
        _ = await runCall(pack, kind: .tool, "chatty", meta: modernMeta(logLevel: "error"), link: link)
        XCTAssertEqual(levels(link), ["error", "critical", "alert", "emergency"])
        // An older front's bare _meta still carries the progress token.
        link = FakeLink()
        _ = await runCall(pack, kind: .tool, "chatty", meta: json(#"{"progressToken":5}"#), link: link)
        XCTAssertEqual(link.progress.count, 1)
    }

    func testLinkWideNotificationsAndCatalogReplacement() async {
        let tool = Tool(name: "mutate", description: "m", inputSchema: .object(["type": .string("object")])) { call in
            call.notifyAll(method: "notifications/resources/updated", params: .object(["uri": .string("mem://a")]))
            call.replaceCatalog(ToolPack([DemoPack.echo]))
            return .text("ok")
        }
        let link = FakeLink()
        _ = await runCall(ToolPack([tool]), kind: .tool, "mutate", link: link)
        XCTAssertEqual(link.linkWide,
                       [json(#"{"method":"notifications/resources/updated","params":{"uri":"mem://a"}}"#)])
        let replaced = link.events.compactMap { e -> ToolPack? in
            if case .replaceCatalog(let p) = e { return p } else { return nil }
        }
        XCTAssertEqual(replaced.map { $0.tools.map(\.name) }, [["echo"]])
        // What the runtime sends as CATALOG.
        let catalog = try! Catalog.decode(replaced[0].catalog.encoded())
        XCTAssertEqual(catalog.tools.map(\.key), ["echo"])
        let c = ExecutorRuntime.Completion(link: 3, stream: 9, event: .notifyAll([1]))
        XCTAssertEqual(c.link, 0, "link-wide frames go to every link")
        XCTAssertEqual(ExecutorRuntime.Completion(link: 3, stream: 9, event: .request([1])).rawType,
                       ExtraFrameType.request.rawValue)
    }
}
