import CSupport
import MCPCore

/// A client's answer to a request a tool made of it (sampling, elicitation, roots; handshake
/// era): carried back to the executor whose tool waits, named in the request's sealed id
/// (ClientRequestIds) and only when the answer comes from the session the request was sent to:
/// 202 Accepted. An answer with an id that is not ours, or that was made for another session,
/// is refused (400, -32600, `id: null`) and never delivered. With Redis, an answer for a tool
/// waiting on another host is forwarded there (SharedAnswers).
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
              let (executor, requestId, origin) = ids.open(id, session: session.id) else {
            // The transport: a response the server cannot accept gets an HTTP error, and the body
            // may be a JSON-RPC error "that has no id".
            let target = AnswerTarget(slot: r.slot, connection: r.connection, id: nil, format: .json,
                                      batch: r.batch, batchIndex: r.batchIndex)
            s.writer.error(target, ProtocolError(.invalidRequest,
                                                 "Invalid Request: no request of this session has this id"))
            return
        }
        var answer: (member: String, json: String)?
        if env.raw.result.kind != 0 {
            answer = ("result", Envelope.text(r.body, env.raw.result.span))
        } else if env.raw.error.kind == Int32(SY_JSON_OBJECT) {
            answer = ("error", Envelope.text(r.body, env.raw.error.span))
        }
        if let origin, let shared = s.sharedAnswers, !shared.isThisHost(origin), let answer {
            forward(answer, to: origin, executor: executor, requestId: requestId, shared, r.target)
            return
        }
        if let link = s.pool.link(named: executor), let answer {
            link.respond(requestId: requestId, member: answer.member, json: answer.json)
        }
        // An executor gone meanwhile has failed the call already; the answer has nowhere to go.
        s.writer.accepted(r.target)
    }

    /// The tool waits on another host: the answer goes there through Redis, and the client
    /// hears 202 once that front has it. Nobody listening there: the call is over (400, as for
    /// an id no request waits on); Redis away: 503, the client may answer again.
    private func forward(_ answer: (member: String, json: String), to origin: String, executor: String,
                         requestId: String, _ shared: SharedAnswers, _ target: AnswerTarget) {
        // A target holds its connection unowned for one loop turn; the reply comes later, so the
        // closure keeps the connection (a closed one ignores what is written to it).
        let connection = target.connection
        shared.forward(to: origin, executor: executor, requestId: requestId, member: answer.member,
                       json: answer.json) { [s] outcome in
            let target = AnswerTarget(slot: target.slot, connection: connection, id: target.id, format: target.format,
                                      batch: target.batch, batchIndex: target.batchIndex)
            let refused = AnswerTarget(slot: target.slot, connection: connection, id: nil, format: .json,
                                       batch: target.batch, batchIndex: target.batchIndex)
            switch outcome {
            case .delivered:
                s.writer.accepted(target)
            case .nobody:
                s.writer.error(refused, ProtocolError(.invalidRequest,
                                                      "Invalid Request: no request of this session waits for this id"))
            case .unavailable:
                s.writer.error(refused, ProtocolError(.internalError,
                                                      "the answer cannot reach the host whose tool waits; retry",
                                                      httpStatus: 503))
            }
        }
    }
}
