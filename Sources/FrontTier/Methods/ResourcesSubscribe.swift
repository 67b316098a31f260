import MCPCore

/// `resources/subscribe` and `resources/unsubscribe` (handshake era): the session's
/// subscriptions, shared with every front; updates reach the session's GET stream.
final class ResourcesSubscribe: MethodHandler {
    private let s: FrontServices
    private let subscribe: Bool

    init(_ services: FrontServices, subscribe: Bool) {
        s = services
        self.subscribe = subscribe
    }

    func handle(_ r: inout FrontRequest) {
        guard let session = r.session else { return }
        guard let uri = Envelope.string(r.body, r.envelope.raw.uri) else {
            s.writer.error(r.target, ProtocolError(.invalidParams, "Invalid params: uri is required"))
            return
        }
        // Answered once every front (of every host, with Redis) has it; the connection is held.
        let target = r.target, connection = r.connection
        s.sessions.subscribe(session.id, uri, subscribe) { [writer = s.writer] in
            withExtendedLifetime(connection) { writer.result(target, "{}") }
        }
    }
}
