// The official MCP Swift SDK's StatelessHTTPServerTransport serving an `echo` tool, for the
// benchmark's side-by-side runs. The SDK leaves HTTP to the application (its own conformance
// server does the same), so this wraps the transport in a plain SwiftNIO HTTP/1.1 server:
// one `Server` and one transport for all connections, as the SDK documents.
//   swift-sdk-anchor [PORT=18183] [THREADS=cores]
import Foundation
import MCP
import NIOCore
import NIOHTTP1
import NIOPosix

let args = CommandLine.arguments
let port = args.count > 1 ? Int(args[1]) ?? 18183 : 18183
let threads = args.count > 2 ? Int(args[2]) ?? System.coreCount : System.coreCount

let transport = StatelessHTTPServerTransport()
let server = Server(name: "swift-sdk-anchor", version: "1.0.0",
                    capabilities: .init(tools: .init(listChanged: false)))

await server.withMethodHandler(ListTools.self) { _ in
    .init(tools: [Tool(name: "echo", description: "Returns the given text unchanged.",
                       inputSchema: .object(["type": "object",
                                             "properties": ["text": ["type": "string"]],
                                             "required": ["text"]]))])
}
await server.withMethodHandler(CallTool.self) { params in
    guard params.name == "echo", let text = params.arguments?["text"]?.stringValue else {
        return .init(content: [.text(text: "unknown tool or missing text", annotations: nil, _meta: nil)], isError: true)
    }
    return .init(content: [.text(text: text, annotations: nil, _meta: nil)], isError: false)
}
try await server.start(transport: transport)

/// Collects one request, hands it to the transport, writes the answer with Content-Length.
final class MCPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let transport: StatelessHTTPServerTransport
    var head: HTTPRequestHead?
    var body: ByteBuffer?

    init(transport: StatelessHTTPServerTransport) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var b):
            body?.writeBuffer(&b)
        case .end:
            guard let h = head else { return }
            head = nil
            var headers: [String: String] = [:]
            for (name, value) in h.headers {
                headers[name] = headers[name].map { $0 + ", " + value } ?? value
            }
            let bytes = body.flatMap { $0.getBytes(at: $0.readerIndex, length: $0.readableBytes) } ?? []
            body = nil
            let request = HTTPRequest(method: h.method.rawValue, headers: headers,
                                      body: bytes.isEmpty ? nil : Data(bytes), path: h.uri)
            let keepAlive = h.isKeepAlive
            let version = h.version
            let loop = context.eventLoop
            nonisolated(unsafe) let ctx = context
            Task {
                let response = await self.transport.handleRequest(request)
                loop.execute { self.write(response, version: version, keepAlive: keepAlive, context: ctx) }
            }
        }
    }

    func write(_ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        let payload = response.bodyData ?? Data()
        var head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.statusCode))
        for (name, value) in response.headers { head.headers.add(name: name, value: value) }
        head.headers.replaceOrAdd(name: "Content-Length", value: String(payload.count))
        if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: payload.count)
        buffer.writeBytes(payload)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 4096)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap {
            channel.pipeline.addHandler(MCPHandler(transport: transport))
        }
    }
let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
print("swift-sdk-anchor: serving MCP at http://127.0.0.1:\(port)/mcp")
fflush(stdout)
try await channel.closeFuture.get()
