import EventLoop
import HTTPClient
import MCPCore
import TLS

/// A remote upstream: a Streamable HTTP MCP server behind the bridge (README.md, "Remote
/// upstreams"). It negotiates the newest era the server speaks (2026-07-28 `server/discover`,
/// else a 2025-11-25 `initialize` session whose `Mcp-Session-Id` it keeps and renews when the
/// server forgets it), sends our own requests (lists, pings) and the clients' calls over a pool
/// of keep-alive connections (`HTTPConnectionPool`, at most `pool` of them), and keeps one
/// notification stream open for `list_changed` when the server offers one.
///
/// Ownership: owns its connection pool and timers, and closes them in `stop()`.
/// Thread: the loop thread.
final class RemoteUpstream: UpstreamRequester {
    enum State: Equatable { case starting, ready, dead }
    enum Era: Equatable {
        /// 2026-07-28: every request carries its version and capabilities in `_meta`.
        case modern(String)
        /// 2025-11-25 and earlier: an `initialize` session.
        case legacy(String)
    }

    /// The stateless revision we speak, offered first.
    static let modernVersion = "2026-07-28"

    let spec: UpstreamSpec
    let endpoint: RemoteEndpoint
    let loop: Loop
    let log: Log
    let http: HTTPConnectionPool
    private(set) var state = State.starting
    private(set) var era: Era?
    private(set) var serverCapabilities: [String: JSONValue] = [:]
    /// The session id a 2025-11-25 server gave (`Mcp-Session-Id`), if any.
    private(set) var sessionID: String?
    /// The server gives sessions: without one (a renewal failed), a new one is made first.
    private var usesSessions = false
    /// Requests waiting for a new session after the server forgot ours (HTTP 404).
    private var renewing: [(Bool) -> Void]?
    private var nextRequestID = 0
    // The notification stream (RemoteUpstream+Listen.swift).
    var listen: RemotePost?
    var listenTimer: Timer?
    var listenBackoffMs: UInt64 = 1_000
    /// Our answers in flight to requests the server made on the notification stream.
    var listenBackChannel = RemoteBackChannel()
    var endReason = ""

    // Calls (RemoteUpstream+Calls.swift).
    var queue: [UpstreamCall] = []
    var calls: [Int: UpstreamCall] = [:]
    var runs: [Int: RemoteRun] = [:]
    var nextToken = 0
    var sweeper: Timer?

    /// A `list_changed` notification arrived (method name).
    var onListChanged: ((String) -> Void)?

    /// Throws when the URL is not one, or the CA file cannot be read.
    init(spec: UpstreamSpec, loop: Loop, log: Log) throws(UpstreamSpec.Invalid) {
        guard let url = spec.url, let endpoint = RemoteEndpoint(url) else {
            throw UpstreamSpec.Invalid("no http:// or https:// URL")
        }
        self.spec = spec; self.endpoint = endpoint; self.loop = loop; self.log = log
        var context: TLSContext?
        if endpoint.tls {
            do {
                context = try TLSContext.verifyingClient(caFile: spec.caFile)
            } catch {
                throw UpstreamSpec.Invalid("\(error)") // the caller names the upstream
            }
        }
        http = HTTPConnectionPool(loop: loop, origin: HTTPOrigin(tls: endpoint.tls, host: endpoint.host, port: endpoint.port),
                                  tlsContext: context, limit: spec.pool,
                                  connectTimeoutMs: min(spec.timeoutMs, 10_000))
    }

    /// The URL for logs and errors, without its query (which may hold a token).
    var label: String { http.origin.description + (endpoint.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/") }

    // MARK: start

    /// Negotiates the era; `done` gets nil when ready, else why the server cannot be used.
    func start(_ done: @escaping (String?) -> Void) {
        let t = Timer(loop: loop) { [unowned self] in self.sweep() }
        t.start(after: 100, repeat: 100)
        t.unref()
        sweeper = t
        discover { [weak self] failure in
            guard let self else { return }
            if let failure {
                self.endReason = failure
                self.state = .dead
                done(failure)
                return
            }
            self.state = .ready
            self.log.info("remote upstream ready", [("url", self.label), ("protocolVersion", self.versionText),
                                                    ("session", self.sessionID == nil ? "none" : "yes")])
            self.openListenStream()
            self.dispatch()
            done(nil)
        }
    }

    var versionText: String {
        switch era {
        case .modern(let v)?, .legacy(let v)?: return v
        case nil: return "none"
        }
    }

    /// `server/discover` first; a server that does not know it gets `initialize`.
    private func discover(_ done: @escaping (String?) -> Void) {
        if spec.era == "2025-11-25" { initialize(done); return }
        let onlyModern = spec.era == Self.modernVersion
        era = .modern(Self.modernVersion)
        post("server/discover", nil, done: { [weak self] outcome in
            guard let self else { return }
            switch outcome {
            case .answer(.result(let r)):
                var versions: [String] = []
                if case .array(let a)? = r["supportedVersions"] { versions = a.compactMap(\.stringValue) }
                if versions.contains(Self.modernVersion) {
                    self.serverCapabilities = r["capabilities"]?.objectValue ?? [:]
                    done(nil)
                } else if onlyModern {
                    done("server/discover does not list \(Self.modernVersion) (protocol is set to it)")
                } else {
                    self.initialize(done)
                }
            case .answer(.error), .http, .sessionExpired:
                if case .http(let status, let detail) = outcome, status == 401 || status == 403 {
                    done(Self.refusal(status, detail))
                    return
                }
                if onlyModern {
                    done("server/discover failed: \(Self.describe(outcome, method: "server/discover")) (protocol is set to \(Self.modernVersion))")
                    return
                }
                self.initialize(done)
            case .accepted:
                done("answered server/discover with no result (HTTP 202): not an MCP server")
            case .notMCP(let why):
                done("not an MCP server: \(why)")
            case .failed(let e):
                done(e.message)
            }
        })
    }

    private func initialize(_ done: @escaping (String?) -> Void) {
        era = .legacy(UpstreamCopy.revisions[0])
        sessionID = nil
        let params: JSONValue = .object([
            "protocolVersion": .string(UpstreamCopy.revisions[0]),
            "capabilities": Self.clientCapabilities,
            "clientInfo": .object(["name": .string("switchyard"), "version": .string("1")]),
        ])
        post("initialize", params, captureSession: true, done: { [weak self] outcome in
            guard let self else { return }
            switch outcome {
            case .answer(.result(let r)):
                guard let version = r["protocolVersion"]?.stringValue else {
                    done("initialize answer without a protocolVersion: not an MCP server")
                    return
                }
                guard UpstreamCopy.revisions.contains(version) else {
                    done("initialize answered protocol version \(version), which Switchyard does not speak")
                    return
                }
                self.era = .legacy(version)
                self.serverCapabilities = r["capabilities"]?.objectValue ?? [:]
                self.notify("notifications/initialized", nil) { failure in done(failure) }
            case .answer(.error(let code, let message, _)):
                done("initialize failed: \(message) (\(code))")
            case .http(let status, let detail):
                done(status == 401 || status == 403 ? Self.refusal(status, detail)
                     : "initialize answered HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)"): not a Streamable HTTP MCP endpoint?")
            case .sessionExpired:
                done("initialize answered HTTP 404: not a Streamable HTTP MCP endpoint")
            case .accepted:
                done("answered initialize with no result (HTTP 202): not an MCP server")
            case .notMCP(let why):
                done("not an MCP server: \(why)")
            case .failed(let e):
                done(e.message)
            }
        })
    }

    static func refusal(_ status: Int, _ detail: String) -> String {
        "the server refused our request: HTTP \(status)\(detail.isEmpty ? "" : " (\(detail))"); "
            + "set its credentials in the upstream's 'headers' (for example Authorization)"
    }

    /// What we tell servers we can do: clients' answers reach them through us.
    static let clientCapabilities: JSONValue = .object([
        "elicitation": .object(["form": .object([:])]), "sampling": .object([:]), "roots": .object([:]),
    ])

    /// Our session was forgotten (HTTP 404): one new `initialize` for every request that saw it;
    /// `done(true)` once there is a new session.
    /// Runs `then` once a session that the server needs exists (made again when a renewal
    /// failed earlier, say while the server was down); `then(false)` when it cannot be made.
    func withSession(_ then: @escaping (Bool) -> Void) {
        guard case .legacy? = era, usesSessions, sessionID == nil, state == .ready else { then(true); return }
        renewSession(then)
    }

    func renewSession(_ done: @escaping (Bool) -> Void) {
        if renewing != nil { renewing!.append(done); return }
        renewing = [done]
        log.info("the remote upstream forgot our session; initializing again", [("url", label)])
        closeListenStream()
        initialize { [weak self] failure in
            guard let self else { return }
            let waiting = self.renewing ?? []
            self.renewing = nil
            if let failure {
                self.log.warning("could not initialize a new session", [("url", self.label), ("error", failure)])
            } else {
                self.openListenStream()
            }
            for w in waiting { w(failure == nil) }
        }
    }

    // MARK: requests

    enum PostOutcome {
        /// The JSON-RPC answer to our request.
        case answer(JSONRPCLines.Outcome)
        /// HTTP 202: a notification or answer was taken.
        case accepted
        /// HTTP 404 while we hold a session: the server forgot it.
        case sessionExpired
        case http(Int, String)
        case notMCP(String)
        case failed(HTTPClientError)
    }

    /// The next JSON-RPC id of ours.
    func newRequestID() -> Int { nextRequestID += 1; return nextRequestID }

    /// POSTs one JSON-RPC message: a request (`id`), a notification, or an answer (`answer`).
    /// Messages other than our answer that arrive on its stream go to `onMessage`.
    @discardableResult
    func post(_ method: String?, _ params: JSONValue?, id: Int? = nil, answer: (JSONValue, JSONRPCLines.Outcome)? = nil,
              name: String? = nil, reserved: Bool = false, resendable: Bool = true, captureSession: Bool = false,
              timeoutMs: UInt64? = nil,
              onMessage: ((JSONRPCLines.Message) -> Void)? = nil, done: @escaping (PostOutcome) -> Void) -> RemotePost {
        var body: [UInt8]
        // MCP names every notification notifications/…: those carry no id.
        let isRequest = answer == nil && method.map { !$0.hasPrefix("notifications/") } == true
        let requestID = isRequest ? (id ?? newRequestID()) : nil
        if let (answerID, outcome) = answer {
            body = JSONRPCLines.response(id: answerID, outcome: outcome)
        } else if let requestID {
            body = JSONRPCLines.request(id: requestID, method: method!, params: withMeta(params))
        } else {
            body = JSONRPCLines.notification(method: method!, params: withMeta(params))
        }
        body.removeLast() // the newline of the stdio framing
        let request = HTTPRequest(method: "POST", target: endpoint.path, headers: headers(method: method, name: name),
                                  body: body)
        let p = RemotePost()
        var answered: JSONRPCLines.Outcome?
        let hadSession = sessionID != nil
        if captureSession {
            p.onHead = { [weak self] head in
                if head.status == 200, let s = head.header("mcp-session-id"), !s.isEmpty,
                   HTTPRequest.isValidHeaderValue(s) { self?.sessionID = s; self?.usesSessions = true }
            }
        }
        var reported = false
        p.onMessage = { [weak self, weak p] message in
            if case .response(let rid, let outcome) = message, rid == requestID {
                answered = outcome
                // On an SSE stream the answer is the last message: report it now rather than when
                // the server ends the stream, and close the stream if the server does not.
                guard let self, let p, p.isStream, !reported else { return }
                reported = true
                p.onMessage = nil
                let end = p.onEnd
                p.onEnd = { _ in }
                end?(.complete)
                // Usually the stream's last chunk came in the same read; a timer only otherwise.
                self.loop.runAtEndOfTurn { [weak self, weak p] in
                    guard let self, let p, p.exchange?.isDone == false else { return }
                    Timer.once(loop: self.loop, after: 2_000, unref: true) { [weak p] in p?.cancel() }
                }
            } else {
                onMessage?(message)
            }
        }
        // Our own requests end after `timeoutMs` (0: none; calls have their deadline sweep), or
        // the upstream's timeout: a server that accepts and never answers must not hold them forever.
        var timer: Timer?
        let limit = timeoutMs ?? spec.timeoutMs
        if method != "subscriptions/listen" && limit > 0 {
            timer = Timer.once(loop: loop, after: limit, unref: true) { [weak p] in
                timer = nil
                guard let p, let end = p.onEnd else { return }
                p.cancel()
                end(.failed(HTTPClientError(.timeout, "no answer to \(method ?? "our answer") within \(limit) ms")))
            }
        }
        p.onEnd = { [weak p] end in
            timer?.close()
            timer = nil
            switch end {
            case .complete:
                if let answered { done(.answer(answered)) }
                else if requestID == nil || p?.status == 202 { done(requestID == nil ? .accepted : .notMCP("HTTP 202 for a request")) }
                else { done(.failed(HTTPClientError(.closed, "the server ended its answer without a result"))) }
            case .status(let status, let detail):
                if status == 404 && hadSession { done(.sessionExpired) } else { done(.http(status, detail)) }
            case .notMCP(let why): done(.notMCP(why))
            case .failed(let e): done(.failed(e))
            }
        }
        p.exchange = http.send(request, reserved: reserved, resendable: resendable, handler: p)
        return p
    }

    /// Sends a notification; `done` gets nil when the server took it.
    func notify(_ method: String, _ params: JSONValue?, done: ((String?) -> Void)? = nil) {
        post(method, params, reserved: true) { outcome in
            switch outcome {
            case .accepted, .answer: done?(nil)
            case .http(let s, let d): done?("\(method) answered HTTP \(s)\(d.isEmpty ? "" : ": \(d)")")
            case .sessionExpired: done?("\(method) answered HTTP 404")
            case .notMCP(let why): done?("not an MCP server: \(why)")
            case .failed(let e): done?(e.message)
            }
        }
    }

    /// UpstreamRequester: one of our own requests (lists, ping), renewing the session once if needed.
    func request(_ method: String, _ params: JSONValue?, done: @escaping (JSONRPCLines.Outcome) -> Void) {
        request(method, params, renewed: false, done: done)
    }

    private func request(_ method: String, _ params: JSONValue?, renewed: Bool,
                         done: @escaping (JSONRPCLines.Outcome) -> Void) {
        guard state != .dead else { done(.error(code: -32603, message: "upstream \(spec.name) is stopped", data: nil)); return }
        guard renewed || sessionID != nil || !usesSessions || state != .ready else {
            withSession { [weak self] ok in
                if ok { self?.request(method, params, renewed: true, done: done) }
                else { done(.error(code: -32603, message: "the remote upstream has no session and a new one could not be made", data: nil)) }
            }
            return
        }
        post(method, params, reserved: true, done: { [weak self] outcome in
            guard let self else { return }
            switch outcome {
            case .answer(let o): done(o)
            case .sessionExpired where !renewed:
                self.renewSession { ok in
                    if ok { self.request(method, params, renewed: true, done: done) }
                    else { done(.error(code: -32603, message: "the remote upstream forgot our session", data: nil)) }
                }
            default: done(.error(code: -32603, message: Self.describe(outcome, method: method), data: nil))
            }
        })
    }

    static func describe(_ outcome: PostOutcome, method: String) -> String {
        switch outcome {
        case .answer(.error(_, let m, _)): return m
        case .answer(.result): return "\(method) succeeded"
        case .accepted: return "\(method) got no answer (HTTP 202)"
        case .sessionExpired: return "the remote upstream forgot our session (HTTP 404)"
        case .http(let s, let d):
            if s == 401 || s == 403 { return refusal(s, d) }
            return "the remote upstream answered HTTP \(s)\(d.isEmpty ? "" : ": \(d)")"
        case .notMCP(let why): return "the remote upstream's answer is not MCP: \(why)"
        case .failed(let e): return e.message
        }
    }

    /// The header fields of a POST: the era's, then the configured ones.
    func headers(method: String?, name: String?, stream: Bool = false) -> [(name: String, value: String)] {
        var h: [(name: String, value: String)] = stream
            ? [("Accept", "text/event-stream")]
            : [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        switch era {
        case .modern(let v)?:
            h.append(("MCP-Protocol-Version", v))
            if let method { h.append(("Mcp-Method", method)) }
            if let name, let method, ModernRequest.needsName(method) { h.append(("Mcp-Name", Self.headerValue(name))) }
        case .legacy(let v)?:
            if method != "initialize" {
                if let sessionID { h.append(("Mcp-Session-Id", sessionID)) }
                h.append(("MCP-Protocol-Version", v))
            }
        case nil:
            break
        }
        for (k, v) in spec.headers.sorted(by: { $0.key < $1.key }) { h.append((k, v)) }
        return h
    }

    /// A header value as is when it is printable ASCII, else the `=?base64?…?=` form.
    static func headerValue(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && s.first != " " && s.last != " " { return s }
        return "=?base64?\(Base64.encode(Array(s.utf8)))?="
    }

    /// In the stateless era every request carries its version and our capabilities in `_meta`.
    func withMeta(_ params: JSONValue?, logLevel: Bool = false) -> JSONValue? {
        guard case .modern(let v)? = era else { return params }
        var o = params?.objectValue ?? [:]
        var meta = o["_meta"]?.objectValue ?? [:]
        meta[ModernRequest.versionKey] = .string(v)
        meta[ModernRequest.capabilitiesKey] = Self.clientCapabilities
        if logLevel && meta[ModernRequest.logLevelKey] == nil { meta[ModernRequest.logLevelKey] = .string("debug") }
        o["_meta"] = .object(meta)
        return .object(o)
    }

    // MARK: stop

    /// Ends a 2025-11-25 session with DELETE (the server frees it now rather than at its idle
    /// timeout); `done` runs when answered, or at once without a session. Any answer will do: a
    /// server may refuse DELETE (405), and a session it already forgot is gone anyway.
    func endSession(_ done: @escaping () -> Void) {
        guard case .legacy? = era, sessionID != nil, state != .dead else { done(); return }
        let p = RemotePost()
        var finished = false
        let finish = { if !finished { finished = true; done() } }
        p.onEnd = { _ in finish() }
        p.exchange = http.send(HTTPRequest(method: "DELETE", target: endpoint.path, headers: headers(method: nil, name: nil)),
                               reserved: true, handler: p)
        Timer.once(loop: loop, after: 1_000, unref: true) { [weak p] in p?.cancel(); finish() }
        sessionID = nil
    }

    /// Ends every call with an error, closes the notification stream and the connections.
    func stop() {
        guard state != .dead else { return }
        state = .dead
        if endReason.isEmpty { endReason = "stopped" }
        sweeper?.close(); sweeper = nil
        listenTimer?.close(); listenTimer = nil
        closeListenStream()
        failEverything(-32002, "upstream \(spec.name) is shutting down")
        http.close()
    }
}
