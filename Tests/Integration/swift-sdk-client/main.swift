// The official MCP Swift SDK's Client over its HTTPClientTransport, against a Switchyard server:
// initializes, lists tools, calls `echo`, and (when asked) reads `test://static-text`.
//   swift-sdk-client URL [resources] [TIMEOUT_SECONDS=30]
// Prints `PROTOCOL <version>`, `TOOLS <names>`, `TOOL <echo text>`, `RESOURCE <text>`, then `OK`.
// Exits 1 on any failure, 2 on bad arguments, 3 on timeout.
import Foundation
import MCP

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

setvbuf(stdout, nil, _IOLBF, 0)

let args = CommandLine.arguments
guard args.count >= 2, let url = URL(string: args[1]) else {
    FileHandle.standardError.write("usage: swift-sdk-client URL [resources] [TIMEOUT_SECONDS]\n".data(using: .utf8)!)
    exit(2)
}
let readResources = args.count > 2 && args[2] == "resources"
let timeout = args.count > 3 ? Double(args[3]) ?? 30 : 30

@Sendable func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write("swift-sdk-client: \(message)\n".data(using: .utf8)!)
    exit(code)
}

// A hard bound on the whole run, independent of the SDK's own request handling.
DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
    fail("timed out after \(timeout) s", code: 3)
}

do {
    let configuration = URLSessionConfiguration.default
    configuration.timeoutIntervalForRequest = timeout
    // streaming: false — the SDK's GET/SSE listener is unavailable on Linux; answers are plain JSON.
    let transport = HTTPClientTransport(endpoint: url, configuration: configuration, streaming: false)
    let client = Client(name: "switchyard-swift-sdk-test", version: "1.0.0")

    let initResult = try await client.connect(transport: transport)
    print("PROTOCOL \(initResult.protocolVersion)")
    print("SERVER \(initResult.serverInfo.name)")

    let (tools, _) = try await client.listTools()
    let names = tools.map(\.name).sorted()
    print("TOOLS \(names.joined(separator: ","))")
    guard names.contains("echo") else { fail("tools/list has no echo tool: \(names)") }

    let (content, isError) = try await client.callTool(name: "echo", arguments: ["text": "from swift"])
    if isError == true { fail("echo returned isError: \(content)") }
    guard case .text(let text, _, _)? = content.first, content.count == 1 else {
        fail("echo returned unexpected content: \(content)")
    }
    print("TOOL \(text)")

    if readResources {
        let contents = try await client.readResource(uri: "test://static-text")
        guard contents.count == 1, let first = contents.first, let body = first.text else {
            fail("resources/read returned unexpected contents: \(contents)")
        }
        guard first.uri == "test://static-text" else { fail("resources/read returned uri \(first.uri)") }
        print("RESOURCE \(body)")
    }

    await client.disconnect()
    print("OK")
    exit(0)
} catch {
    fail("\(error)")
}
