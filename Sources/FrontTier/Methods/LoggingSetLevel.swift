import MCPCore

/// `logging/setLevel` (handshake era): the session's level, shared with every front; tools
/// see it in their call context.
final class LoggingSetLevel: MethodHandler {
    static let levels = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) {
        guard let session = r.session else { return }
        guard let level = r.envelope.params(in: r.body)?["level"]?.stringValue, Self.levels.contains(level) else {
            let e = ProtocolError(.invalidParams,
                                  "Invalid params: level must be one of \(Self.levels.joined(separator: ", "))")
            s.writer.error(r.target, e)
            return
        }
        // Answered once every front (of every host, with Redis) has it; the connection is held.
        let target = r.target, connection = r.connection
        s.sessions.setLevel(session.id, level) { [writer = s.writer] in
            withExtendedLifetime(connection) { writer.result(target, "{}") }
        }
    }
}
