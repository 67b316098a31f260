import CSupport
import MCPCore

/// A client's answer to a request a tool made of it (sampling, elicitation, roots; handshake
/// era): carried back to the executor whose tool waits, named in the request's sealed id
/// (ClientRequestIds) and only when the answer comes from the session the request was sent to:
/// 202 Accepted. An answer with an id that is not ours, or that was made for another session,
/// is refused (400, -32600, `id: null`) and never delivered.
final class ClientAnswers: MethodHandler {
    private let s: FrontServices
    private let ids: ClientRequestIds

    init(_ services: FrontServices) {
        s = services
        ids = ClientRequestIds(sessions: services.sessions)
    }

    func handle(_ r: inout FrontRequest) {
        let env = r.envelope
        guard let session = r.session, let id = Envelope.string(r.body, env.raw.id),
              let (executor, requestId) = ids.open(id, session: session.id) else {
            // The transport: a response the server cannot accept gets an HTTP error, and the body
            // may be a JSON-RPC error "that has no id".
            let target = AnswerTarget(slot: r.slot, connection: r.connection, id: nil, format: .json,
                                      batch: r.batch, batchIndex: r.batchIndex)
            s.writer.error(target, ProtocolError(.invalidRequest,
                                                 "Invalid Request: no request of this session has this id"))
            return
        }
        if let link = s.pool.link(named: executor) {
            if env.raw.result.kind != 0 {
                link.respond(requestId: requestId, member: "result", json: Envelope.text(r.body, env.raw.result.span))
            } else if env.raw.error.kind == Int32(SY_JSON_OBJECT) {
                link.respond(requestId: requestId, member: "error", json: Envelope.text(r.body, env.raw.error.span))
            }
        }
        // An executor gone meanwhile has failed the call already; the answer has nowhere to go.
        s.writer.accepted(r.target)
    }
}
