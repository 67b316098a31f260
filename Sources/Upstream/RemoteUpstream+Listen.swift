import EventLoop
import HTTPClient
import MCPCore

/// The remote's notification stream, for `list_changed`: the GET stream of a 2025-11-25 session,
/// or `subscriptions/listen` in 2026-07-28. Opened once the remote is ready, opened again
/// (backing off) when it ends. Thread: the loop thread.
extension RemoteUpstream {
    /// The server said it sends list_changed: listen (a GET stream in a 2025-11-25 session,
    /// `subscriptions/listen` in 2026-07-28). A stream that ends is opened again, backing off.
    func openListenStream() {
        guard state == .ready, listen == nil else { return }
        let changes = ["tools", "prompts", "resources"].filter { serverCapabilities[$0]?["listChanged"] == .bool(true) }
        // A 2025-11-25 server may send list_changed without declaring it (FastMCP does): its GET
        // stream is opened anyway (one idle connection; a server without one answers 405).
        if case .modern? = era, changes.isEmpty { return }
        let onMessage: (JSONRPCLines.Message) -> Void = { [weak self] message in
            guard let self else { return }
            switch message {
            case .notification(let method, _) where method.hasSuffix("/list_changed"):
                self.listenBackoffMs = 1_000
                self.log.info("the remote upstream's list changed; listing again", [("notification", method)])
                self.onListChanged?(method)
            case .notification:
                self.listenBackoffMs = 1_000
            case .request(let id, let method, _):
                // Not attributable to any client's call: refused, as stdio does. A server sending
                // them faster than it takes the refusals loses the stream (opened again later).
                let refusal = JSONRPCLines.Outcome.error(code: -32603, message: "Switchyard cannot deliver \(method) outside a call",
                                                         data: nil)
                if !self.answerBack(id, refusal, on: self.listenBackChannel) { self.listenFlooded() }
            default: break
            }
        }
        let ended: (RemotePost.End) -> Void = { [weak self] end in
            guard let self else { return }
            self.listen = nil
            if case .status(let s, _) = end, s == 405 || s == 404 && self.sessionID == nil {
                self.log.info("the remote upstream offers no notification stream; list changes are not followed",
                              [("url", self.label)])
                return
            }
            if case .status(404, _) = end {
                self.renewSession { ok in if !ok { self.scheduleListen() } }
                return
            }
            self.scheduleListen()
        }
        let p = RemotePost()
        p.onMessage = onMessage
        p.onEnd = ended
        listen = p
        switch era {
        case .modern?:
            var filter: [String: JSONValue] = [:]
            for c in changes { filter["\(c)ListChanged"] = .bool(true) }
            let body = JSONRPCLines.request(id: newRequestID(), method: "subscriptions/listen",
                                            params: withMeta(.object(["notifications": .object(filter)])))
            let request = HTTPRequest(method: "POST", target: endpoint.path,
                                      headers: headers(method: "subscriptions/listen", name: nil), body: Array(body.dropLast()))
            p.exchange = http.send(request, reserved: true, handler: p)
        case .legacy?:
            let request = HTTPRequest(method: "GET", target: endpoint.path, headers: headers(method: nil, name: nil, stream: true))
            p.exchange = http.send(request, reserved: true, handler: p)
        case nil:
            listen = nil
        }
    }

    func scheduleListen() {
        guard state == .ready, listenTimer == nil else { return }
        let after = listenBackoffMs
        listenBackoffMs = min(listenBackoffMs * 2, 30_000)
        listenTimer = Timer.once(loop: loop, after: after, unref: true) { [weak self] in
            guard let self else { return }
            self.listenTimer = nil
            self.withSession { ok in if ok { self.openListenStream() } else { self.scheduleListen() } }
        }
    }

    /// Too many refusals in flight on the notification stream: it is closed (at the end of the
    /// turn: this runs inside its parsing callback) and opened again after the back-off.
    private func listenFlooded() {
        guard let p = listen, p.onMessage != nil else { return }
        p.onMessage = nil
        log.warning("the remote upstream sent too many requests on the notification stream; closing it",
                    [("limit", String(RemoteBackChannel.maxInFlight))])
        loop.runAtEndOfTurn { [weak self, weak p] in
            guard let self, let p, self.listen === p else { return }
            self.closeListenStream()
            self.scheduleListen()
        }
    }

    func closeListenStream() {
        listen?.cancel()
        listen = nil
    }
}
