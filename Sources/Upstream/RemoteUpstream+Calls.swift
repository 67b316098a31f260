import EventLoop
import HTTPClient
import MCPCore

/// One call on the remote: its POST (whose SSE stream carries the call's progress, log
/// messages and server requests before the answer), and what the server asked of the client.
/// Thread: the loop thread.
final class RemoteRun {
    let call: UpstreamCall
    var post: RemotePost?
    /// 2025-11-25: server requests on the call's stream waiting for the client: our token → their id.
    var serverRequests: [Int: JSONValue] = [:]
    /// 2026-07-28: an input-required result's requests waiting for the client: our token → its key.
    var inputKeys: [Int: String] = [:]
    var inputResponses: [String: JSONValue] = [:]
    var requestState: JSONValue?
    /// Input-required rounds so far (bounded: a server that keeps asking ends the call).
    var rounds = 0
    var renewed = false
    /// Our answers in flight to requests the server made on this call's stream.
    let backChannel = RemoteBackChannel()
    /// The server flooded the call with requests: the call is ending; its stream is ignored.
    var flooded = false
    init(_ call: UpstreamCall) { self.call = call }
}

/// Calls on a remote upstream: at most `maxConcurrency` in flight (each holds a connection of
/// the pool while it runs, so at most `pool` run at once), the rest queued up to `maxQueued`.
/// Everything on a call's SSE stream belongs to that call, so progress, log messages and
/// server requests (elicitation, sampling, roots) reach the calling client whatever else is
/// in flight; the client's answer is POSTed back. In 2026-07-28 a server asks through an
/// input-required result instead: the client's answers go into the call sent again.
extension RemoteUpstream {
    static let maxInputRounds = 10

    func submit(_ request: UpstreamCall.Request) {
        let call = UpstreamCall(request, deadline: loop.now + spec.timeoutMs)
        guard state != .dead else { call.fail(-32002, "upstream \(spec.name) is shutting down"); return }
        guard queue.count < spec.maxQueued || runs.count < spec.maxConcurrency else {
            call.fail(-32000, "upstream \(spec.name) is overloaded: \(queue.count) calls already waiting")
            return
        }
        calls[call.id] = call
        queue.append(call)
        dispatch()
    }

    func dispatch() {
        guard state == .ready else { return }
        while !queue.isEmpty && runs.count < spec.maxConcurrency {
            let call = queue.removeFirst()
            let run = RemoteRun(call)
            runs[call.id] = run
            send(run)
        }
    }

    /// Sends (or sends again) the call's request.
    private func send(_ run: RemoteRun) {
        if case .legacy? = era, sessionID == nil {
            // A session the server needs is gone (a renewal failed): make one first.
            withSession { [weak self, weak run] ok in
                guard let self, let run, self.runs[run.call.id] === run else { return }
                if ok { self.sendNow(run) }
                else { self.fail(run, -32603, "upstream \(self.spec.name): no session, and a new one could not be made") }
            }
            return
        }
        sendNow(run)
    }

    private func sendNow(_ run: RemoteRun) {
        let call = run.call
        call.attempts += 1
        var params = call.upstreamParams
        if !run.inputResponses.isEmpty || run.requestState != nil, case .object(var o) = params {
            o["inputResponses"] = .object(run.inputResponses)
            if let s = run.requestState { o["requestState"] = s }
            params = .object(o)
        }
        let id = newRequestID()
        call.upstreamID = id
        let name = params["name"]?.stringValue ?? params["uri"]?.stringValue
        // The call's deadline (the sweep) ends it, not a timer of the post's own. A call the server
        // may have acted on (a tool neither read-only nor idempotent) is never sent twice.
        run.post = post(call.method, withMeta(params, logLevel: true), id: id, name: name,
                        resendable: call.request.retryable, timeoutMs: 0,
                        onMessage: { [weak self, weak run] message in
                            guard let self, let run else { return }
                            self.streamed(message, run)
                        }, done: { [weak self, weak run] outcome in
                            guard let self, let run, self.runs[run.call.id] === run else { return }
                            self.ended(run, outcome)
                        })
    }

    /// A message on the call's stream before its answer.
    private func streamed(_ message: JSONRPCLines.Message, _ run: RemoteRun) {
        let call = run.call
        guard !run.flooded else { return }
        switch message {
        case .notification("notifications/progress", let params):
            guard let progress = params?["progress"]?.numberValue else { return }
            call.send(.progress(progress: progress, total: params?["total"]?.numberValue,
                                message: params?["message"]?.stringValue))
        case .notification("notifications/message", let params):
            call.send(.log(level: params?["level"]?.stringValue ?? "info", data: params?["data"] ?? .null,
                           logger: params?["logger"]?.stringValue))
        case .notification("notifications/cancelled", let params):
            // The remote withdrew a request it made of the client during this call.
            guard let withdrawn = params?["requestId"],
                  let token = run.serverRequests.first(where: { $0.value == withdrawn })?.key else { return }
            run.serverRequests[token] = nil
            call.send(.withdrawn(token: token))
        case .notification(let method, _) where method.hasSuffix("/list_changed"):
            log.info("the remote upstream's list changed; listing again", [("notification", method)])
            onListChanged?(method)
        case .request(let id, "ping", _):
            if !answerBack(id, .result(.object([:])), on: run.backChannel) { flooded(run) }
        case .request(let id, let method, let params):
            guard ["elicitation/create", "sampling/createMessage", "roots/list"].contains(method) else {
                let refusal = JSONRPCLines.Outcome.error(code: -32601, message: "Method not found: \(method)", data: nil)
                if !answerBack(id, refusal, on: run.backChannel) { flooded(run) }
                return
            }
            guard run.serverRequests.count < UpstreamCall.maxServerRequests else {
                flooded(run)
                return
            }
            nextToken += 1
            run.serverRequests[nextToken] = id
            call.send(.serverRequest(token: nextToken, method: method, params: params ?? .object([:])))
        default:
            break // other notifications, stray answers, lines that are not JSON-RPC
        }
    }

    /// The server sent requests on the call's stream faster than it takes our answers (or more
    /// than the client may have open): the call fails cleanly instead of holding ever more.
    /// Ended at the end of the turn: this runs inside the stream's own parsing callback.
    private func flooded(_ run: RemoteRun) {
        run.flooded = true
        log.warning("the remote upstream sent too many requests during a call; ending the call",
                    [("method", run.call.method), ("limit", String(UpstreamCall.maxServerRequests))])
        loop.runAtEndOfTurn { [weak self, weak run] in
            guard let self, let run, self.runs[run.call.id] === run else { return }
            self.refuseServerRequests(run, why: "the call they belong to has ended")
            self.fail(run, -32603, "upstream \(self.spec.name) sent more than \(UpstreamCall.maxServerRequests) requests at once during the call; the call did not complete")
        }
    }

    /// The call's POST is over.
    private func ended(_ run: RemoteRun, _ outcome: PostOutcome) {
        let call = run.call
        run.post = nil
        refuseServerRequests(run, why: "the call they belong to has ended")
        switch outcome {
        case .answer(.result(let r)) where r["resultType"]?.stringValue == "input_required":
            inputRequired(run, r)
        case .answer(.result(let r)):
            finish(run, .success(r))
        case .answer(.error(let code, let message, let data)):
            finish(run, .failure(UpstreamFailure(code: code, message: message, data: data)))
        case .sessionExpired where !run.renewed:
            run.renewed = true
            renewSession { [weak self, weak run] ok in
                guard let self, let run, self.runs[run.call.id] === run else { return }
                if ok { self.send(run) }
                else { self.fail(run, -32603, "upstream \(self.spec.name) forgot our session and a new one could not be made") }
            }
        case .failed(let e) where call.request.retryable && call.attempts < 2 && loop.now < call.deadline
            && (e.kind == .closed || e.kind == .connect) && run.inputKeys.isEmpty:
            log.info("running a call again", [("method", call.method), ("lost", e.message)])
            send(run)
        default:
            fail(run, -32603, "upstream \(spec.name): \(Self.describe(outcome, method: call.method)); the call did not complete")
        }
    }

    /// 2026-07-28: the server needs the client's input before it can answer.
    private func inputRequired(_ run: RemoteRun, _ r: JSONValue) {
        run.rounds += 1
        guard run.rounds <= Self.maxInputRounds, case .object(let requests)? = r["inputRequests"], !requests.isEmpty else {
            fail(run, -32603, run.rounds > Self.maxInputRounds
                 ? "upstream \(spec.name) asked for input more than \(Self.maxInputRounds) times"
                 : "upstream \(spec.name) answered input_required without inputRequests")
            return
        }
        run.requestState = r["requestState"]
        run.inputResponses = [:]
        for key in requests.keys.sorted() {
            guard let method = requests[key]?["method"]?.stringValue else {
                fail(run, -32603, "upstream \(spec.name): input request '\(key)' has no method")
                return
            }
            nextToken += 1
            run.inputKeys[nextToken] = key
            run.call.send(.serverRequest(token: nextToken, method: method, params: requests[key]?["params"] ?? .object([:])))
        }
    }

    /// The client's answer to a server request made during `callID`.
    func answer(_ callID: Int, token: Int, _ outcome: JSONRPCLines.Outcome) {
        guard let run = runs[callID] else { return }
        if let id = run.serverRequests.removeValue(forKey: token) {
            post(nil, nil, answer: (id, outcome), reserved: true) { [weak self] result in
                guard let self else { return }
                if case .failed(let e) = result {
                    self.log.warning("could not pass a client's answer to the remote upstream", [("error", e.message)])
                }
            }
            return
        }
        guard let key = run.inputKeys.removeValue(forKey: token) else { return }
        switch outcome {
        case .result(let r): run.inputResponses[key] = r
        case .error(let code, let message, let data):
            fail(run, code, message, data: data)
            return
        }
        if run.inputKeys.isEmpty { send(run) }
    }

    /// The client abandoned the call: its stream is closed (2026-07-28: that is the cancellation)
    /// and a 2025-11-25 session is sent `notifications/cancelled`.
    func cancel(_ callID: Int) {
        guard let call = calls[callID] else { return }
        queue.removeAll { $0 === call }
        if let run = runs[callID] { abandon(run, reason: "cancelled by the client") }
        calls[callID] = nil
        call.fail(-32800, "request cancelled")
        dispatch()
    }

    private func abandon(_ run: RemoteRun, reason: String) {
        runs[run.call.id] = nil
        refuseServerRequests(run, why: "the call they belong to was \(reason)")
        guard let p = run.post else { return }
        run.post = nil
        guard case .legacy? = era, let id = run.call.upstreamID else {
            p.cancel() // 2026-07-28: closing the call's stream is the cancellation
            return
        }
        // 2025-11-25: the stream stays open until the server has the cancellation (a server may
        // stop tracking a request whose stream closed, and then not cancel it); nothing more on
        // it reaches the client.
        p.onMessage = nil
        p.onEnd = nil
        notify("notifications/cancelled", .object(["requestId": .number(Double(id)), "reason": .string(reason)])) { _ in
            p.cancel()
        }
    }

    private func refuseServerRequests(_ run: RemoteRun, why: String) {
        for id in run.serverRequests.values {
            post(nil, nil, answer: (id, .error(code: -32603, message: why, data: nil)), reserved: true) { _ in }
        }
        run.serverRequests.removeAll()
    }

    private func finish(_ run: RemoteRun, _ result: Result<JSONValue, UpstreamFailure>) {
        runs[run.call.id] = nil
        calls[run.call.id] = nil
        run.call.send(.finished(result))
        dispatch()
    }

    private func fail(_ run: RemoteRun, _ code: Int, _ message: String, data: JSONValue? = nil) {
        if let p = run.post { p.cancel(); run.post = nil }
        finish(run, .failure(UpstreamFailure(code: code, message: message, data: data)))
    }

    /// Calls past their deadline end with -32003 (and are cancelled on the remote).
    func sweep() {
        let now = loop.now
        let expired = calls.values.filter { now >= $0.deadline }.sorted { $0.id < $1.id }
        for call in expired {
            calls[call.id] = nil
            queue.removeAll { $0 === call }
            if let run = runs[call.id] {
                abandon(run, reason: "timed out")
                call.fail(-32003, "upstream \(spec.name) did not answer within \(spec.timeoutMs) ms")
            } else {
                call.fail(-32003, "upstream \(spec.name): the call waited \(spec.timeoutMs) ms for a connection")
            }
        }
        if !expired.isEmpty { dispatch() }
    }

    func failEverything(_ code: Int, _ message: String) {
        let pending = calls.values.sorted { $0.id < $1.id }
        for run in runs.values { run.post?.cancel(); run.post = nil }
        runs.removeAll()
        calls.removeAll()
        queue.removeAll()
        for call in pending { call.fail(code, message) }
    }
}
