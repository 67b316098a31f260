import HTTPClient
import MCPCore

/// One HTTP exchange with a remote upstream's MCP endpoint (Streamable HTTP transport), read
/// as JSON-RPC messages: an `application/json` body is one message, a `text/event-stream` body
/// any number (notifications and requests for the call, then its answer); `202 Accepted` has
/// none. Anything else ends it with a status the owner turns into an error.
/// Thread: the loop thread.
final class RemotePost: HTTPResponseHandler {
    enum End {
        /// The body is over (every message already given).
        case complete
        /// The server answered with an HTTP error status; `detail` is the JSON-RPC error's
        /// message or the body's first bytes.
        case status(Int, detail: String)
        /// Not an MCP answer (status 200 with another media type, a JSON body that is not JSON-RPC).
        case notMCP(String)
        case failed(HTTPClientError)
    }

    /// The largest JSON body kept, and the largest event of an SSE stream (limited one by one).
    /// Every call in flight may hold one: 16 MiB × `maxConcurrency` bounds the bridge's memory
    /// (a stdio copy's line may be 64 MiB, but there one copy runs one call at a time).
    static let maxBody = 16 << 20
    static let maxErrorBody = 4096

    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var sse: SSEParser?
    private var ended = false
    private(set) var messages = 0
    var exchange: HTTPExchange?

    /// The response head (before any message): the owner reads `Mcp-Session-Id` here.
    var onHead: ((HTTPResponseHead) -> Void)?
    var onMessage: ((JSONRPCLines.Message) -> Void)?
    var onEnd: ((End) -> Void)?

    var status: Int { head?.status ?? 0 }
    /// The answer is an SSE stream (not one JSON body). A flag of its own: handlers read it while
    /// `sse` is being mutated (feeding), which exclusivity forbids.
    private(set) var isStream = false

    /// Gives up on the exchange (its connection closes); nothing more is reported.
    func cancel() {
        ended = true
        onMessage = nil
        onEnd = nil
        exchange?.cancel()
    }

    func responseHead(_ head: HTTPResponseHead) {
        self.head = head
        onHead?(head)
        if head.status == 200 && head.mediaType == "text/event-stream" { sse = SSEParser(maxEvent: Self.maxBody); isStream = true }
    }

    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        guard !ended, let head else { return }
        if sse != nil {
            // Events are collected first and delivered after the parser is done with this piece:
            // a handler may end or cancel this post while it runs.
            var events: [SSEEvent] = []
            do {
                try sse!.feed(bytes) { events.append($0) }
            } catch {
                finish(.notMCP("bad event stream: \(error.description)"))
                exchange?.cancel()
                return
            }
            for event in events where !ended && event.event == "message" && !event.data.isEmpty {
                deliver(event.data) // (an event without data is a priming event: an id only)
            }
            return
        }
        let cap = head.status == 200 ? Self.maxBody : Self.maxErrorBody
        let room = cap - body.count
        if room > 0 { body += UnsafeRawBufferPointer(rebasing: bytes.prefix(room)) }
        if head.status == 200 && bytes.count > room {
            finish(.notMCP("answer over \(Self.maxBody) bytes"))
            exchange?.cancel()
        }
    }

    private func deliver(_ bytes: [UInt8]) {
        let message = bytes.withUnsafeBytes { JSONRPCLines.decode($0) }
        messages += 1
        // A local copy: the handler may replace `onMessage` while it runs.
        let handler = onMessage
        handler?(message)
    }

    func responseEnd() {
        guard !ended, let head else { return }
        switch head.status {
        case 200:
            if sse != nil { finish(.complete); return }
            guard head.mediaType == "application/json" else {
                finish(.notMCP("HTTP 200 with Content-Type '\(quotedText(head.header("content-type") ?? "none"))', not JSON or an event stream"))
                return
            }
            let message = body.withUnsafeBytes { JSONRPCLines.decode($0) }
            if case .garbage(let text) = message {
                finish(.notMCP("HTTP 200 with a body that is not a JSON-RPC message: '\(quotedText(text))'"))
                return
            }
            messages += 1
            let handler = onMessage
            handler?(message)
            finish(.complete)
        case 202, 204:
            finish(.complete)
        default:
            finish(.status(head.status, detail: Self.errorDetail(body)))
        }
    }

    func responseFailed(_ error: HTTPClientError) {
        finish(.failed(error))
    }

    private func finish(_ end: End) {
        guard !ended else { return }
        ended = true
        let done = onEnd
        onMessage = nil
        onEnd = nil
        done?(end)
    }

    /// An error body's JSON-RPC message, else its first printable bytes.
    static func errorDetail(_ body: [UInt8]) -> String {
        if let v = try? JSONValue.parse(body), let m = v["error"]?["message"]?.stringValue { return quotedText(m, max: 300) }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0.isPunctuation || $0 == " ") ? $0 : " " })
            .trimmingSpaces
    }
}
