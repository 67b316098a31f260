import MCPCore
import Metrics

/// `initialize` (handshake era): negotiates the version, records the client's sampling,
/// elicitation and roots capabilities in a new session id, and answers with the server's.
final class Initialize: MethodHandler {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) {
        guard let params = r.envelope.params(in: r.body),
              case .string(let requested)? = params["protocolVersion"] else {
            s.writer.error(r.target, ProtocolError(.invalidParams,
                                                   "Invalid params: initialize needs params.protocolVersion"))
            return
        }
        let version = ProtocolVersion.negotiate(requested: requested)
        var flags: UInt8 = 0
        if let caps = params["capabilities"] {
            if caps["sampling"] != nil { flags |= 1 }
            if caps["elicitation"] != nil { flags |= 2 }
            if caps["roots"] != nil { flags |= 4 }
        }
        let session = s.sessions.issue(protocolVersion: version, capabilities: flags,
                                         owner: r.principal.bindingDigest)
        s.metrics.sessionsCreated.counter(LabelIndex.protocolVersion(version)).increment()
        r.connection.sessionIssued(session.id)
        let result = "{\"protocolVersion\":\"\(version)\",\"capabilities\":\(s.capabilitiesJSON(stateless: false)),"
            + "\"serverInfo\":{\"name\":\"switchyard\",\"title\":\"Switchyard\","
            + "\"version\":\"\(s.options.serverVersion)\"},"
            + "\"instructions\":\(JSONValue.quote(FrontServices.instructions))}"
        s.writer.result(r.target, result, extra: [("Mcp-Session-Id", session.id)])
    }
}
