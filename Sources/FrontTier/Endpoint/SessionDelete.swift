import MCPCore
import Metrics

/// `DELETE` on the endpoint (handshake era): ends a session on every front, of every host
/// sharing a Redis, from the moment it is answered. The stateless revision has no sessions: 405 there.
final class SessionDelete {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    /// `owner`: the caller's `Principal.bindingDigest` (0 when authentication is off).
    func handle(_ req: HTTPRequest, _ t: AnswerTarget, owner: UInt64) {
        guard let token = req.header(.mcpSessionId) else {
            if ModernRequest.isStateless(versionHeader: req.header(.mcpProtocolVersion), metaVersion: nil) {
                let e = ProtocolError(.invalidRequest,
                                      "Method not allowed: the stateless revision has no sessions to delete",
                                      httpStatus: 405)
                s.writer.error(t, e, extra: [("Allow", "POST")])
                return
            }
            s.writer.error(t, ProtocolError(.invalidRequest, "Bad Request: Mcp-Session-Id header is required"))
            return
        }
        let connection = t.connection // held until the answer (the target does not hold it)
        s.sessions.use(token, askingHosts: { [self] ended in
            guard !connection.isClosed else { return }
            guard let ended else {
                self.s.writer.error(t, ProtocolError(.sessionNotFound, "Session not found"))
                return
            }
            self.end(ended, token, t, owner: owner)
        })
    }

    /// Ends a session found live (here or, asked through Redis, on another host).
    private func end(_ ended: SessionTokens.Session, _ token: String, _ t: AnswerTarget, owner: UInt64) {
        guard ended.owner == owner else {
            s.writer.error(t, EraStage.notOwner)
            return
        }
        s.metrics.sessionsDeleted.counter(LabelIndex.protocolVersion(ended.protocolVersion)).increment()
        // Answered once every front refuses the session (with Redis: every live host
        // acknowledged, within a bound). The connection is held until then.
        let slot = t.slot, connection = t.connection, writer = s.writer
        s.sessions.revoke(token) {
            writer.plain(slot, connection, status: 200, contentType: nil, body: "")
        }
    }
}
