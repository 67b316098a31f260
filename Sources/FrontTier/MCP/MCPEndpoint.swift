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
    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    @exclusivity(unchecked) var draining = false
    /// The front's event-loop lag, worst of the last second (ms).
    var loopLagMs: UInt64 = 0
    let metrics = FrontMetrics()

    /// Counts an answer once, when its head is queued.
    func count(_ slot: ResponseSlot, _ status: Int) {
        guard !slot.counted else { return }
        slot.counted = true
        metrics.answered(method: slot.methodIndex, status: status, startedNs: slot.startedNs)
        if let accessLog {
            accessLog.record(method: LabelValues.method[slot.methodIndex], status: status,
                             durationNs: uv_hrtime() &- slot.startedNs, tool: slot.tool,
                             requestId: slot.requestId, traceparent: slot.traceparent)
        }
    }

    /// Set when the front writes an access log.
    var accessLog: AccessLog?
    /// Open subscriptions/listen streams.
    var listeners: Listeners!
    /// Numbers the requests this front sends to executors.
    @exclusivity(unchecked) var requestCounter: UInt64 = 0
    /// `f<front>-<pid>-`, built once (getpid is a system call on every call).
    lazy var requestIdPrefix = "f\(options.index)-\(getpidValue())-"
    /// Requests answered, for logs and tests.
    @exclusivity(unchecked) private(set) var requests = 0

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
        setUpClientRequests()
        listeners = Listeners(loop: loop, front: options.index,
                              limits: .init(maxEvents: options.eventStoreSize, maxAgeMs: options.eventStoreAgeMs))
        listeners.isSubscribed = { [unowned self] session, uri in self.sessions.isSubscribed(session, uri) }
        pool.onNotification = { [unowned self] payload in self.listeners.deliver(payload) }
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
            else if req.methodIs("GET"), req.header(.mcpSessionId) != nil {
                slot.methodIndex = LabelIndex.method("get")
                getStream(req, slot, connection)
            } else {
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

    func keepAlive(_ slot: ResponseSlot) -> Bool { !slot.closeAfter && !draining }

    /// Health and readiness, for /healthz, /readyz and the admin listener.
    func healthReport() -> (ready: Bool, body: String) {
        let ok = pool.hasReadyLink && !draining
        let status = draining ? "draining" : ok ? "ok" : "no-executors"
        let body = "{\"status\":\"\(status)\",\"front\":\(options.index),\"pid\":\(getpidValue()),\"loopLagMs\":\(loopLagMs),\"notificationStreams\":\(listeners.count),\"eventsEvicted\":\(listeners.evicted),\"calls\":\(router.statusJSON),\"executors\":\(pool.statusJSON)}"
        return (ok, body)
    }

    /// Serves /metrics, /status and health; set by the front.
    var admin: AdminRoutes?
    /// Without an admin listener, /metrics and /status are served on the main port too.
    var adminOnMainPort = true

    private lazy var listensOnLoopback = isLoopbackHost(options.host)

    /// DNS-rebinding protection: a browser page from another origin must not reach a local server.
    private func checkOrigin(_ req: HTTPRequest) -> String? {
        if let origin = req.header(.origin), !origin.isEmpty, origin != "null" {
            if !isLoopbackURL(origin) && !options.allowedOrigins.contains(origin) {
                return "Forbidden: origin \(origin) is not allowed"
            }
        }
        if listensOnLoopback, let host = req.headerBytes(.host), !isLoopbackAuthority(bytes: host) {
            return "Forbidden: host \(String(decoding: host, as: UTF8.self)) is not allowed"
        }
        return nil
    }

    // MARK: POST

    private func post(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection) {
        let ka = keepAlive(slot)
        guard req.header(.contentType, contains: "application/json") == true else {
            plain(slot, c, status: 415, error: ProtocolError(.invalidRequest, "Unsupported Media Type: Content-Type must be application/json", httpStatus: 415), keepAlive: ka)
            return
        }
        let acceptsJSON = accepts(req, json: true)
        let acceptsSSE = accepts(req, json: false)
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
            if env.isResponse {
                // An answer to a request a tool made of the client: back to its executor.
                _ = routeClientResponse(env, body)
                accepted(req, slot, c, ka)
            }
            else { plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Invalid Request: no method"), keepAlive: ka) }
            return
        }
        slot.methodIndex = idJSON == nil ? LabelIndex.method(method.hasPrefix("notifications/initialized") ? method : "notification")
                                         : LabelIndex.method(method)
        let versionHeader = req.header(.mcpProtocolVersion)
        let sessionHeader = req.header(.mcpSessionId)
        if ModernRequest.isModern(sessionHeader: sessionHeader, versionHeader: versionHeader,
                                  metaHasVersion: env.raw.meta.kind == Int32(SY_JSON_OBJECT)
                                      && memmemAny(Envelope.bytes(body, env.raw.meta), "io.modelcontextprotocol/protocolVersion")) {
            modernPost(req, env, body, method, idJSON, slot, c, format, ka)
            return
        }
        if method == "initialize" {
            guard idJSON != nil else {
                plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Invalid Request: initialize must be a request with an id"), keepAlive: ka)
                return
            }
            initialize(env, body, idJSON!, slot, c, format, ka)
            return
        }
        // Every other message belongs to a session.
        guard let token = sessionHeader else {
            plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Bad Request: Mcp-Session-Id header is required"), keepAlive: ka)
            return
        }
        guard let session = sessions.use(token) else {
            plain(slot, c, status: 404, error: ProtocolError(.sessionNotFound, "Session not found"), keepAlive: ka)
            return
        }
        if let v = versionHeader, !ProtocolVersion.isSupported(v) {
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
        let r = Request(id: id, format: format, keepAlive: ka, modern: nil, session: session)
        switch method {
        case "tools/call":
            callTool(env, body, req, id, session, slot, c, format)
        case "ping":
            result(slot, c, id: id, resultJSON: Array("{}".utf8), format: format, keepAlive: ka)
        case "logging/setLevel":
            guard let level = env.params(in: body)?["level"]?.stringValue, Self.logLevels.contains(level) else {
                rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: level must be one of \(Self.logLevels.joined(separator: ", "))"),
                         format: format, keepAlive: ka)
                return
            }
            sessions.setLevel(session.id, level)
            result(slot, c, id: id, resultJSON: Array("{}".utf8), format: format, keepAlive: ka)
        case "resources/subscribe", "resources/unsubscribe":
            guard let uri = env.params(in: body)?["uri"]?.stringValue else {
                rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: uri is required"), format: format, keepAlive: ka)
                return
            }
            sessions.subscribe(session.id, uri, method == "resources/subscribe")
            result(slot, c, id: id, resultJSON: Array("{}".utf8), format: format, keepAlive: ka)
        default:
            sharedMethod(method, env, body, req, r, slot, c)
        }
    }

    static let logLevels = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

    /// Methods both eras serve the same way (lists, reads, prompts, completions).
    func sharedMethod(_ method: String, _ env: Envelope, _ body: UnsafeRawBufferPointer, _ req: HTTPRequest,
                      _ r: Request, _ slot: ResponseSlot, _ c: HTTPConnection) {
        let modern = r.modern != nil
        let lists = pool.catalog.lists[modern ? 1 : 0]
        let params = env.raw.params.kind == Int32(SY_JSON_OBJECT) ? env.params(in: body) : nil
        let lists_: [String: (String, [[UInt8]])] = [
            "tools/list": ("tools", lists.tools), "resources/list": ("resources", lists.resources),
            "resources/templates/list": ("resourceTemplates", lists.resourceTemplates), "prompts/list": ("prompts", lists.prompts),
        ]
        if let (member, entries) = lists_[method] {
            do throws(ProtocolError) {
                let page = try listResult(member, entries, cursor: params?["cursor"]?.stringValue, modern: modern)
                result(slot, c, id: r.id, resultJSON: page, format: r.format, keepAlive: r.keepAlive)
            } catch {
                rpcError(slot, c, id: r.id, error, format: r.format, keepAlive: r.keepAlive)
            }
            return
        }
        switch method {
        case "resources/read":
            guard let uri = params?["uri"]?.stringValue else {
                rpcError(slot, c, id: r.id, ProtocolError(.invalidParams, "Invalid params: uri is required"), format: r.format, keepAlive: r.keepAlive)
                return
            }
            startCall(.resource, name: uri, arguments: nil, env, body, req, r, slot, c)
        case "prompts/get":
            guard let name = env.name(in: body) else {
                rpcError(slot, c, id: r.id, ProtocolError(.invalidParams, "Invalid params: name is required"), format: r.format, keepAlive: r.keepAlive)
                return
            }
            startCall(.prompt, name: name, arguments: env.raw.arguments, env, body, req, r, slot, c)
        case "completion/complete":
            guard params?["ref"] != nil else {
                rpcError(slot, c, id: r.id, ProtocolError(.invalidParams, "Invalid params: ref is required"), format: r.format, keepAlive: r.keepAlive)
                return
            }
            if pool.catalog.completionLinks.isEmpty {
                let empty = modern ? "{\"completion\":{\"values\":[],\"total\":0,\"hasMore\":false},\"resultType\":\"complete\"}"
                                   : "{\"completion\":{\"values\":[],\"total\":0,\"hasMore\":false}}"
                result(slot, c, id: r.id, resultJSON: Array(empty.utf8), format: r.format, keepAlive: r.keepAlive)
                return
            }
            startCall(.completion, name: "", arguments: env.raw.params, env, body, req, r, slot, c)
        default:
            let e = ProtocolError(.methodNotFound, "Method not found: \(method)", httpStatus: modern ? 404 : 200)
            rpcError(slot, c, id: r.id, e, format: r.format, keepAlive: r.keepAlive)
        }
    }

    func accepted(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection, _ ka: Bool) {
        finish(slot, c, status: 202, contentType: nil, body: "", keepAlive: ka)
    }

    private func initialize(_ env: Envelope, _ body: UnsafeRawBufferPointer, _ id: [UInt8], _ slot: ResponseSlot,
                            _ c: HTTPConnection, _ format: AnswerFormat, _ ka: Bool) {
        guard let params = env.params(in: body), case .string(let requested)? = params["protocolVersion"] else {
            rpcError(slot, c, id: id, ProtocolError(.invalidParams, "Invalid params: initialize needs params.protocolVersion"), format: format, keepAlive: ka)
            return
        }
        let version = ProtocolVersion.negotiate(requested: requested)
        var flags: UInt8 = 0
        if let caps = params["capabilities"] {
            if caps["sampling"] != nil { flags |= 1 }
            if caps["elicitation"] != nil { flags |= 2 }
            if caps["roots"] != nil { flags |= 4 }
        }
        let session = sessions.issue(protocolVersion: version, capabilities: flags)
        metrics.sessionsCreated.counter(LabelIndex.protocolVersion(version)).increment()
        let result = "{\"protocolVersion\":\"\(version)\",\"capabilities\":\(capabilitiesJSON(modern: false)),"
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
        let r = Request(id: id, format: format, keepAlive: ka, modern: nil, session: session)
        startCall(.tool, name: name, arguments: raw.arguments, env, body, req, r, slot, c)
    }

    func acceptsSSE(_ req: HTTPRequest) -> Bool { accepts(req, json: false) }

    /// Does the Accept header allow JSON (or SSE)? An absent header allows both.
    func accepts(_ req: HTTPRequest, json: Bool) -> Bool {
        let f = req.acceptFlags
        let wanted = json ? SY_ACCEPT_ABSENT | SY_ACCEPT_JSON | SY_ACCEPT_ANY | SY_ACCEPT_APPLICATION
                          : SY_ACCEPT_ABSENT | SY_ACCEPT_SSE | SY_ACCEPT_ANY | SY_ACCEPT_TEXT
        return f & Int32(wanted) != 0
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

    func startStreamIfNeeded(_ call: PendingCall) { startStream(call) }

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
            json += call.modern && type == .result ? stampModern(call, payload) : Array(payload)
            json.append(UInt8(ascii: "}"))
            endStream(call, c, json)
            return
        }
        if type != .result && type != .error { return }
        let ka = keepAlive(call.slot)
        // Stateless answers are stamped: `resultType` and cache hints go in after the result's
        // opening brace (the rest follows as a slice); an input-required result is rewritten.
        var status = 200
        var opening: [UInt8] = []
        var body = payload
        var rewritten: [UInt8]?
        if call.modern {
            if type == .error {
                if memmemAny(payload, "-32021") { status = 400 }
            } else if payload.first == UInt8(ascii: "{") {
                if let whole = rewriteInputRequired(call, payload) {
                    rewritten = whole
                } else {
                    opening = stampOpening(call, payload)
                    body = UnsafeRawBufferPointer(rebasing: payload[1...])
                }
            }
        }
        let format: AnswerFormat = status == 200 ? call.format : .json
        var copied: [UInt8]? = rewritten
        // JSON between tokens may hold raw newlines; an SSE data line may not.
        if format == .sse, copied == nil, memchrAny(body, 0x0A) || memchrAny(body, 0x0D) {
            copied = body.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        }
        let prefixLength = 22 + call.idJSON.count + member.utf8CodeUnitCount + opening.count
        let jsonLength = prefixLength + (copied?.count ?? body.count) + 1
        // The head and the message's opening in one buffer; the result follows as a slice.
        var prefix: [UInt8] = []
        prefix.reserveCapacity(320 + call.idJSON.count + opening.count) // the head with a session id fits: one allocation
        appendHead(to: &prefix, call.slot, status: status, format: format, jsonLength: jsonLength, keepAlive: ka, extra: [])
        prefix += "{\"jsonrpc\":\"2.0\",\"id\":".utf8
        prefix += call.idJSON
        prefix += UnsafeRawBufferPointer(start: member.utf8Start, count: member.utf8CodeUnitCount)
        prefix += opening
        call.slot.append(.bytes(prefix))
        if let copied {
            call.slot.append(.bytes(copied))
        } else if let chunk {
            call.slot.append(.slice(chunk, body))
        } else {
            call.slot.append(.bytes(Array(body)))
        }
        call.slot.append(.text(format == .sse ? "}\n\n" : "}"))
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

    // MARK: GET: the session's stream of server-initiated messages

    /// Opens the standalone SSE stream of a handshake-era session: list changes and updates of
    /// subscribed resources. Resumes with `Last-Event-ID` (same front, within the store's limits).
    private func getStream(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection) {
        let ka = keepAlive(slot)
        guard let token = req.header(.mcpSessionId), let session = sessions.use(token) else {
            plain(slot, c, status: 404, error: ProtocolError(.sessionNotFound, "Session not found"), keepAlive: ka)
            return
        }
        guard accepts(req, json: false), req.header(.accept) != nil else {
            plain(slot, c, status: 406, error: ProtocolError(.invalidRequest, "Not Acceptable: the stream is text/event-stream", httpStatus: 406),
                  keepAlive: ka)
            return
        }
        var filter = Listeners.Filter()
        filter.tools = true; filter.prompts = true; filter.resources = true
        filter.session = session.id
        count(slot, 200)
        slot.streaming = true
        slot.append(.text(HTTPResponse.streamHead(keepAlive: ka)))
        if !ka { slot.closeAfter = true }
        let (stream, replay) = listeners.openResumable(connection: c, slot: slot, filter: filter,
                                                       lastEventId: req.header(.lastEventId))
        // Priming: an id and a reconnection delay before anything else, so the client can resume.
        let priming = "id: \(listeners.eventId(stream, stream.seq))\nretry: 3000\ndata: \n\n"
        slot.append(.text(String(priming.utf8.count, radix: 16) + "\r\n" + priming + "\r\n"))
        for e in replay { slot.appendEventChunk(e.json, id: listeners.eventId(stream, e.seq)) }
        c.push(slot)
    }

    // MARK: DELETE

    private func delete(_ req: HTTPRequest, _ slot: ResponseSlot, _ c: HTTPConnection) {
        let ka = keepAlive(slot)
        guard let token = req.header(.mcpSessionId) else {
            if ModernRequest.isModern(sessionHeader: nil, versionHeader: req.header(.mcpProtocolVersion), metaHasVersion: false) {
                plain(slot, c, status: 405, error: ProtocolError(.invalidRequest, "Method not allowed: the stateless revision has no sessions to delete", httpStatus: 405),
                      extra: [("Allow", "POST")], keepAlive: ka)
                return
            }
            plain(slot, c, status: 400, error: ProtocolError(.invalidRequest, "Bad Request: Mcp-Session-Id header is required"), keepAlive: ka)
            return
        }
        guard let ended = sessions.use(token) else {
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
        var head: [UInt8] = []
        head.reserveCapacity(160)
        appendHead(to: &head, slot, status: status, format: format, jsonLength: jsonLength, keepAlive: keepAlive, extra: extra)
        slot.append(.bytes(head))
    }

    /// The head of a one-message answer (JSON, or one SSE event), and the SSE event's framing.
    private func appendHead(to head: inout [UInt8], _ slot: ResponseSlot, status: Int, format: AnswerFormat,
                            jsonLength: Int, keepAlive: Bool, extra: [(String, String)]) {
        count(slot, status)
        switch format {
        case .json:
            HTTPResponse.appendHead(to: &head, status: status, contentType: "application/json", contentLength: jsonLength,
                                    keepAlive: keepAlive, extra: extra)
        case .sse:
            let framing: StaticString = "event: message\ndata: "
            HTTPResponse.appendHead(to: &head, status: status, contentType: "text/event-stream",
                                    contentLength: framing.utf8CodeUnitCount + jsonLength + 2, keepAlive: keepAlive,
                                    extra: [("Cache-Control", "no-cache")] + extra)
            head += UnsafeBufferPointer(start: framing.utf8Start, count: framing.utf8CodeUnitCount)
        }
        if !keepAlive { slot.closeAfter = true }
    }

    func result(_ slot: ResponseSlot, _ c: HTTPConnection, id: [UInt8], resultJSON: [UInt8], format: AnswerFormat,
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

    func rpcError(_ slot: ResponseSlot, _ c: HTTPConnection, id: [UInt8], _ e: ProtocolError, format: AnswerFormat,
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
    func plain(_ slot: ResponseSlot, _ c: HTTPConnection, status: Int, error: ProtocolError,
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
