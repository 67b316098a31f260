import CLibUV
import CSupport
import EventLoop
import Glibc
import MCPCore
import Metrics
import WireProtocol

/// MCP Streamable HTTP (revision 2025-11-25, negotiating 2025-06-18 and 2025-03-26) at one
/// endpoint, plus /healthz. Routes on the scanned envelope; only initialize decodes params.
/// Thread: the loop thread.
final class MCPEndpoint: HTTPHandler {
    let options: FrontOptions
    let pool: ExecutorPool
    let router: CallRouter
    let sessions: SessionTokens
    let log: Log
    let loop: Loop
    var draining = false
    /// The front's event-loop lag, worst of the last second (ms).
    var loopLagMs: UInt64 = 0
    let metrics = FrontMetrics()

    /// Counts an answer once, when its head is queued.
    private func count(_ slot: ResponseSlot, _ status: Int) {
        guard !slot.counted else { return }
        slot.counted = true
        metrics.answered(method: slot.methodIndex, status: status, startedNs: slot.startedNs)
        if let accessLog {
            accessLog.record(method: LabelValues.method[slot.methodIndex], status: status,
                             durationNs: uv_hrtime() &- slot.startedNs, tool: slot.tool)
        }
    }

    /// Set when the front writes an access log.
    var accessLog: AccessLog?
    /// Requests answered, for logs and tests.
    private(set) var requests = 0

    init(options: FrontOptions, pool: ExecutorPool, router: CallRouter, sessions: SessionTokens, loop: Loop, log: Log) {
        self.options = options
        self.pool = pool
        self.router = router
        self.sessions = sessions
        self.loop = loop
        self.log = log
        router.answer = { [unowned self] call, type, payload, chunk in self.deliver(call, type, payload, chunk) }
        router.fail = { [unowned self] call, error in self.answerError(call, error) }
        router.event = { [unowned self] call, type, payload in self.event(call, type, payload) }
    }

    // MARK: routing

    func handle(_ req: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
        requests += 1
        let path = req.path
        if path == options.endpointPath {
            if let problem = checkOrigin(req) {
                plain(slot, connection, status: 403, error: ProtocolError(.invalidRequest, problem, httpStatus: 403), keepAlive: keepAlive(slot))
                return
            }
            if req.methodIs("POST") { post(req, slot, connection) }
            else if req.methodIs("DELETE") { slot.methodIndex = LabelIndex.method("delete"); delete(req, slot, connection) }
            else {
                slot.methodIndex = LabelIndex.method("get")
                plain(slot, connection, status: 405,
                      error: ProtocolError(.invalidRequest, "Method not allowed: this endpoint takes POST and DELETE", httpStatus: 405),
                      extra: [("Allow", "POST, DELETE")], keepAlive: keepAlive(slot))
            }
        } else if AdminRoutes.paths.contains(path), let admin, path == "/healthz" || path == "/readyz" || adminOnMainPort {
            admin.handle(req, slot: slot, connection: connection)
        } else {
            let body = "{\"error\":\"not found\"}"
            finish(slot, connection, status: 404, contentType: "application/json", body: body)
        }
    }

    private func keepAlive(_ slot: ResponseSlot) -> Bool { !slot.closeAfter && !draining }

    /// Health and readiness, for /healthz, /readyz and the admin listener.
    func healthReport() -> (ready: Bool, body: String) {
        let ok = pool.hasReadyLink && !draining
        let status = draining ? "draining" : ok ? "ok" : "no-executors"
        let body = "{\"status\":\"\(status)\",\"front\":\(options.index),\"pid\":\(getpidValue()),\"loopLagMs\":\(loopLagMs),\"calls\":\(router.statusJSON),\"executors\":\(pool.statusJSON)}"
        return (ok, body)
    }

    /// Serves /metrics, /status and health; set by the front.
    var admin: AdminRoutes?
    /// Without an admin listener, /metrics and /status are served on the main port too.
    var adminOnMainPort = true

    /// DNS-rebinding protection: a browser page from another origin must not reach a local server.
    private func checkOrigin(_ req: HTTPRequest) -> String? {
        if let origin = req.header("origin"), !origin.isEmpty, origin != "null" {
            if !isLoopbackURL(origin) && !options.allowedOrigins.contains(origin) {
                return "Forbidden: origin \(origin) is not allowed"
            }
        }
        if isLoopbackHost(options.host), let host = req.header("host"), !isLoopbackAuthority(host) {
            return "Forbidden: host \(host) is not allowed"
        }
        return nil
    }

    // MARK: POST

    private func post(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection) {
        let ka = keepAlive(slot)
        let contentType = req.header("content-type")?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            plain(slot, c, status: 415, error: ProtocolError(.invalidRequest, "Unsupported Media Type: Content-Type must be application/json", httpStatus: 415), keepAlive: ka)
            return
        }
        let accept = req.header("accept")?.lowercased() ?? "*/*"
        let acceptsJSON = accept.contains("application/json") || accept.contains("*/*") || accept.contains("application/*")
        let acceptsSSE = accept.contains("text/event-stream") || accept.contains("*/*") || accept.contains("text/*")
        guard acceptsJSON || acceptsSSE else {
            plain(slot, c, status: 406, error: ProtocolError(.invalidRequest, "Not Acceptable: Accept must include application/json and text/event-stream", httpStatus: 406), keepAlive: ka)
            return
        }
        let format: AnswerFormat = (acceptsSSE && (options.preferSSE || !acceptsJSON)) ? .sse : .json
        let body = req.body
        let env: Envelope
        do throws(ProtocolError) {
            env = try Envelope.scan(body)
            guard !env.isBatch else { throw ProtocolError(.invalidRequest, "Invalid Request: batch requests are not supported") }
            try env.validateRequest(in: body)
        } catch {
            plain(slot, c, status: error.httpStatus, error: error, keepAlive: ka)
            return
        }
        let idJSON = env.idRange().map { Array(body[$0]) }
        guard let method = env.method(in: body) else {
            if env.isResponse { accepted(req, slot, c, ka) }
            else { plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Invalid Request: no method"), keepAlive: ka) }
            return
        }
        slot.methodIndex = idJSON == nil ? LabelIndex.method(method.hasPrefix("notifications/initialized") ? method : "notification")
                                         : LabelIndex.method(method)
        if method == "initialize" {
            guard idJSON != nil else {
                plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Invalid Request: initialize must be a request with an id"), keepAlive: ka)
                return
            }
            initialize(env, body, idJSON!, slot, c, format, ka)
            return
        }
        // Every other message belongs to a session.
        guard let token = req.header("mcp-session-id") else {
            plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Bad Request: Mcp-Session-Id header is required"), keepAlive: ka)
            return
        }
        guard let session = sessions.verify(token) else {
            plain(slot, c, status: 404, error: ProtocolError(.sessionNotFound, "Session not found"), keepAlive: ka)
            return
        }
        if let v = req.header("mcp-protocol-version"), !ProtocolVersion.isSupported(v) {
            plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Bad Request: unsupported MCP-Protocol-Version \(v)"), keepAlive: ka)
            return
        }
        guard let id = idJSON else {
            // A notification (notifications/initialized, notifications/cancelled, ...).
            if method == "notifications/cancelled", let params = env.params(in: body), let rid = params["requestId"] {
                let idText: String
                switch rid {
                case .string(let s): idText = JSONValue.quote(s)
                case .number(let n): idText = JSONValue.formatNumber(n)
                default: idText = ""
                }
                let reason = params["reason"]?.stringValue ?? "cancelled by the client"
                router.cancel(key: session.id + "|" + idText, reason: reason)
            }
            accepted(req, slot, c, ka)
            return
        }
        switch method {
        case "tools/call":
            callTool(env, body, req, id, session, slot, c, format)
        case "tools/list":
            result(slot, c, id: id, resultJSON: pool.toolsListResult, format: format, keepAlive: ka)
        case "ping":
            result(slot, c, id: id, resultJSON: Array("{}".utf8), format: format, keepAlive: ka)
        default:
            rpcError(slot, c, id: id, ProtocolError(.methodNotFound, "Method not found: \(method)"), format: format, keepAlive: ka)
        }
    }

    private func accepted(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection, _ ka: Bool) {
        finish(slot, c, status: 202, contentType: nil, body: "", keepAlive: ka)
    }

    private func initialize(_ env: Envelope, _ body: UnsafeRawBufferPointer, _ id: [UInt8], _ slot: ResponseSlot,
                            _ c: HTTPConnection, _ format: AnswerFormat, _ ka: Bool) {
        guard let params = env.params(in: body), case .string(let requested)? = params["protocolVersion"] else {
            rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: initialize needs params.protocolVersion"), format: format, keepAlive: ka)
            return
        }
        let version = ProtocolVersion.negotiate(requested: requested)
        let session = sessions.issue(protocolVersion: version)
        metrics.sessionsCreated.counter(LabelIndex.protocolVersion(version)).increment()
        let result = "{\"protocolVersion\":\"\(version)\",\"capabilities\":{\"tools\":{\"listChanged\":true}},"
            + "\"serverInfo\":{\"name\":\"switchyard\",\"title\":\"Switchyard\",\"version\":\"\(options.serverVersion)\"},"
            + "\"instructions\":\"Switchyard serves the tools of its executors; call tools/list to see them.\"}"
        self.result(slot, c, id: id, resultJSON: Array(result.utf8), format: format, keepAlive: ka,
                    extra: [("Mcp-Session-Id", session.id)])
    }

    // MARK: tools/call, the hot path

    private func callTool(_ env: Envelope, _ body: UnsafeRawBufferPointer, _ req: HTTPRequest, _ id: [UInt8],
                          _ session: SessionTokens.Session, _ slot: ResponseSlot, _ c: HTTPConnection, _ format: AnswerFormat) {
        let ka = keepAlive(slot)
        let raw = env.raw
        guard raw.params.kind == Int32(SY_JSON_OBJECT), let name = env.name(in: body) else {
            rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: tools/call needs params.name (a string)"), format: format, keepAlive: ka)
            return
        }
        let argKind = Int(raw.arguments.kind)
        guard argKind == Int(SY_JSON_ABSENT) || argKind == Int(SY_JSON_OBJECT) else {
            rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: arguments must be an object"), format: format, keepAlive: ka)
            return
        }
        // While draining, calls that reach us are still served (answers carry Connection: close).
        let args = argKind == Int(SY_JSON_ABSENT) ? UnsafeRawBufferPointer(start: nil, count: 0) : Envelope.bytes(body, raw.arguments)
        let meta = raw.meta.kind == Int32(SY_JSON_OBJECT) ? Array(Envelope.bytes(body, raw.meta)) : []
        let now = loop.now
        let call = PendingCall(connection: c, slot: slot, idJSON: id, format: format, tool: name, meta: meta,
                               arguments: args, argsChunk: args.count > 0 ? req.chunk : nil,
                               startedAt: now, deadline: router.deadline(for: name, now: now))
        call.acceptsSSE = acceptsSSE(req)
        slot.tool = name
        call.cancelKey = session.id + "|" + String(decoding: id, as: UTF8.self)
        if raw.progress_token.kind == Int32(SY_JSON_STRING) || raw.progress_token.kind == Int32(SY_JSON_NUMBER) {
            let t = raw.progress_token
            let range = t.kind == Int32(SY_JSON_STRING) ? Int(t.span.off) - 1..<Int(t.span.off + t.span.len) + 1
                                                          : Int(t.span.off)..<Int(t.span.off + t.span.len)
            call.progressToken = Array(body[range])
        }
        router.submit(call)
    }

    private func acceptsSSE(_ req: HTTPRequest) -> Bool {
        let accept = req.header("accept")?.lowercased() ?? "*/*"
        return accept.contains("text/event-stream") || accept.contains("*/*") || accept.contains("text/*")
    }

    // MARK: streaming (SSE) answers

    /// A notification of a call in flight: the answer becomes an SSE stream (when the client
    /// accepts one) and the notification goes out at once.
    private func event(_ call: PendingCall, _ type: FrameType, _ payload: [UInt8]) {
        guard call.acceptsSSE, let c = call.connection, !c.isClosed, payload.first == UInt8(ascii: "{") else { return }
        var json: [UInt8]
        switch type {
        case .progress:
            guard let token = call.progressToken else { return }
            json = Array("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":".utf8) + token
            if payload.count > 2 { json.append(UInt8(ascii: ",")) }
            json += payload.dropFirst()
            json.append(UInt8(ascii: "}"))
        case .notify:
            guard payload.count > 2 else { return }
            json = Array("{\"jsonrpc\":\"2.0\",".utf8) + payload.dropFirst()
        default:
            return
        }
        startStream(call)
        call.slot.appendEventChunk(sseSafe(json))
        c.push(call.slot)
    }

    private func startStream(_ call: PendingCall) {
        guard !call.slot.streaming else { return }
        call.slot.streaming = true
        let ka = keepAlive(call.slot)
        count(call.slot, 200)
        call.slot.append(.text(HTTPResponse.streamHead(keepAlive: ka)))
        if !ka { call.slot.closeAfter = true }
    }

    /// The last event of a streamed answer, then the end of the chunked body.
    private func endStream(_ call: PendingCall, _ c: HTTPConnection, _ json: [UInt8]) {
        call.slot.appendEventChunk(sseSafe(json))
        call.slot.append(.text("0\r\n\r\n"))
        c.finish(call.slot)
    }

    /// Raw CR/LF can only be whitespace between JSON tokens: blank them for an SSE data line.
    private func sseSafe(_ json: [UInt8]) -> [UInt8] {
        guard json.contains(0x0A) || json.contains(0x0D) else { return json }
        return json.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }

    /// An executor answered: splice its JSON into the JSON-RPC answer without decoding it.
    private func deliver(_ call: PendingCall, _ type: FrameType, _ payload: UnsafeRawBufferPointer,
                         _ chunk: UnsafeMutablePointer<sy_chunk_t>?) {
        let t = metrics.tool(call.tool)
        t.duration.observe((loop.now &- call.startedAt) &* 1_000_000)
        if type != .result { t.error.increment() }
        else if payload.count < 65_536, memmemAny(payload, "\"isError\":true") { t.toolError.increment() }
        else { t.ok.increment() }
        guard let c = call.connection, !c.isClosed else { return }
        let member: StaticString = type == .result ? ",\"result\":" : ",\"error\":"
        if call.slot.streaming {
            var json = Array("{\"jsonrpc\":\"2.0\",\"id\":".utf8) + call.idJSON
            json += UnsafeRawBufferPointer(start: member.utf8Start, count: member.utf8CodeUnitCount)
            json += payload
            json.append(UInt8(ascii: "}"))
            endStream(call, c, json)
            return
        }
        let ka = keepAlive(call.slot)
        let safe = payload
        var copied: [UInt8]?
        // JSON between tokens may hold raw newlines; an SSE data line may not.
        if call.format == .sse && (memchrAny(payload, 0x0A) || memchrAny(payload, 0x0D)) {
            copied = payload.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        }
        if type != .result && type != .error { return }
        let prefixLength = 22 + call.idJSON.count + member.utf8CodeUnitCount
        let jsonLength = prefixLength + payload.count + 1
        writeHead(call.slot, status: 200, format: call.format, jsonLength: jsonLength, keepAlive: ka, extra: [])
        var prefix = Array("{\"jsonrpc\":\"2.0\",\"id\":".utf8)
        prefix += call.idJSON
        prefix += UnsafeRawBufferPointer(start: member.utf8Start, count: member.utf8CodeUnitCount)
        call.slot.append(.bytes(prefix))
        if let copied {
            call.slot.append(.bytes(copied))
        } else if let chunk {
            call.slot.append(.slice(chunk, safe))
        } else {
            call.slot.append(.bytes(Array(safe)))
        }
        call.slot.append(.text(call.format == .sse ? "}\n\n" : "}"))
        c.finish(call.slot)
    }

    private func answerError(_ call: PendingCall, _ error: ProtocolError) {
        metrics.tool(call.tool).error.increment()
        guard let c = call.connection, !c.isClosed else { return }
        if call.slot.streaming {
            endStream(call, c, Array(error.responseJSON(idJSON: String(decoding: call.idJSON, as: UTF8.self)).utf8))
            return
        }
        rpcError(call.slot, c, id: call.idJSON, error, format: call.format, keepAlive: keepAlive(call.slot))
    }

    // MARK: DELETE

    private func delete(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection) {
        let ka = keepAlive(slot)
        guard let token = req.header("mcp-session-id") else {
            plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Bad Request: Mcp-Session-Id header is required"), keepAlive: ka)
            return
        }
        guard let ended = sessions.verify(token) else {
            plain(slot, c, status: 404, error: ProtocolError(.sessionNotFound, "Session not found"), keepAlive: ka)
            return
        }
        sessions.revoke(token)
        metrics.sessionsDeleted.counter(LabelIndex.protocolVersion(ended.protocolVersion)).increment()
        finish(slot, c, status: 200, contentType: nil, body: "", keepAlive: ka)
    }

    // MARK: answers

    private func writeHead(_ slot: ResponseSlot, status: Int, format: AnswerFormat, jsonLength: Int, keepAlive: Bool,
                           extra: [(String, String)]) {
        count(slot, status)
        switch format {
        case .json:
            slot.append(.text(HTTPResponse.head(status: status, contentType: "application/json", contentLength: jsonLength,
                                                keepAlive: keepAlive, extra: extra)))
        case .sse:
            let framing = "event: message\ndata: "
            slot.append(.text(HTTPResponse.head(status: status, contentType: "text/event-stream",
                                                contentLength: framing.utf8.count + jsonLength + 2, keepAlive: keepAlive,
                                                extra: [("Cache-Control", "no-cache")] + extra) + framing))
        }
        if !keepAlive { slot.closeAfter = true }
    }

    private func result(_ slot: ResponseSlot, _ c: HTTPConnection, id: [UInt8], resultJSON: [UInt8], format: AnswerFormat,
                        keepAlive: Bool, extra: [(String, String)] = []) {
        var body = Array("{\"jsonrpc\":\"2.0\",\"id\":".utf8)
        body += id
        body += Array(",\"result\":".utf8)
        body += resultJSON
        body.append(UInt8(ascii: "}"))
        writeHead(slot, status: 200, format: format, jsonLength: body.count, keepAlive: keepAlive, extra: extra)
        slot.append(.bytes(body))
        if format == .sse { slot.append(.text("\n\n")) }
        c.finish(slot)
    }

    private func rpcError(_ slot: ResponseSlot, _ c: HTTPConnection, id: [UInt8], _ e: ProtocolError, format: AnswerFormat,
                          keepAlive: Bool, extra: [(String, String)] = []) {
        metrics.error(FrontMetrics.kind(of: e))
        let body = Array(e.responseJSON(idJSON: String(decoding: id, as: UTF8.self)).utf8)
        var extra = extra
        if e.httpStatus == 503 && !extra.contains(where: { $0.0 == "Retry-After" }) { extra.append(("Retry-After", "1")) }
        writeHead(slot, status: e.httpStatus, format: e.httpStatus == 200 ? format : .json, jsonLength: body.count,
                  keepAlive: keepAlive, extra: extra)
        slot.append(.bytes(body))
        if format == .sse && e.httpStatus == 200 { slot.append(.text("\n\n")) }
        c.finish(slot)
    }

    /// An error answer outside any request id (malformed input, transport-level refusals).
    private func plain(_ slot: ResponseSlot, _ c: HTTPConnection, status: Int, error: ProtocolError,
                       extra: [(String, String)] = [], keepAlive: Bool) {
        count(slot, status)
        metrics.error(FrontMetrics.kind(of: error))
        let body = error.responseJSON(idJSON: nil)
        slot.append(.text(HTTPResponse.head(status: status, contentType: "application/json", contentLength: body.utf8.count,
                                            keepAlive: keepAlive, extra: extra)))
        slot.append(.text(body))
        if !keepAlive { slot.closeAfter = true }
        c.finish(slot)
    }

    private func finish(_ slot: ResponseSlot, _ c: HTTPConnection, status: Int, contentType: String?, body: String,
                        keepAlive: Bool? = nil) {
        count(slot, status)
        let ka = keepAlive ?? self.keepAlive(slot)
        slot.append(.text(HTTPResponse.head(status: status, contentType: contentType, contentLength: body.utf8.count, keepAlive: ka)))
        if !body.isEmpty { slot.append(.text(body)) }
        if !ka { slot.closeAfter = true }
        c.finish(slot)
    }
}

/// Whether `needle` occurs in `b`.
func memmemAny(_ b: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
    guard let base = b.baseAddress, b.count >= needle.utf8CodeUnitCount else { return false }
    return sy_memmem(base, b.count, needle.utf8Start, needle.utf8CodeUnitCount) != nil
}

@inline(__always)
func memchrAny(_ b: UnsafeRawBufferPointer, _ byte: UInt8) -> Bool {
    guard let base = b.baseAddress, b.count > 0 else { return false }
    return memchr(base, Int32(byte), b.count) != nil
}
