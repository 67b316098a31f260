import MCPCore

/// The last stage: hands a request to its method's handler (MethodTable), a notification to
/// `Notifications`, a client's answer to `ClientAnswers`. An unknown method, or one the era does
/// not serve, is -32601: HTTP 200 in the handshake era, 404 in the stateless era (which removed
/// `initialize`, `ping`, `logging/setLevel` and the subscribe methods).
final class MethodStage: RequestStage {
    let name = "method"
    private let services: FrontServices
    private let table: MethodTable
    private let notifications: Notifications
    private let clientAnswers: ClientAnswers

    init(services: FrontServices, table: MethodTable) {
        self.services = services
        self.table = table
        notifications = Notifications(services)
        clientAnswers = ClientAnswers(services)
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard r.hasMethod else {
            if r.envelope.isResponse {
                clientAnswers.handle(&r)
            } else {
                services.writer.error(r.target, ProtocolError(.invalidRequest, "Invalid Request: no method"))
            }
            return .answered
        }
        guard r.id != nil else {
            notifications.handle(&r)
            return .answered
        }
        let stateless = r.isStateless
        if let i = r.methodIndex, table.entries[i].eras.contains(stateless ? .stateless : .handshake) {
            table.entries[i].handler.handle(&r)
            return .answered
        }
        let method = r.method ?? ""
        if stateless {
            let why = ModernRequest.removedMethods.contains(method) ? " (removed in 2026-07-28)" : ""
            services.writer.error(r.target, ProtocolError(.methodNotFound, "Method not found: \(method)\(why)",
                                                          httpStatus: 404))
        } else {
            services.writer.error(r.target, ProtocolError(.methodNotFound, "Method not found: \(method)"))
        }
        return .answered
    }
}
