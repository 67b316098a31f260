import CSupport
import MCPCore

/// A client's answer to a request a tool made of it (sampling, elicitation, roots; handshake
/// era): carried back to the executor whose tool waits, named in the request id
/// (`sy-<executor>-<n>`, see ExecutorAnswers.clientRequest). 202 Accepted either way.
final class ClientAnswers: MethodHandler {
    static let idPrefix = "sy-"
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) {
        route(r.envelope, r.body)
        s.writer.accepted(r.target)
    }

    /// False when the id is not one of ours or its executor is gone.
    @discardableResult
    func route(_ env: Envelope, _ body: UnsafeRawBufferPointer) -> Bool {
        guard let id = Envelope.string(body, env.raw.id), id.hasPrefix(Self.idPrefix),
              let dash = id.lastIndex(of: "-") else { return false }
        let executor = String(id[id.index(id.startIndex, offsetBy: Self.idPrefix.count)..<dash])
        let rid = String(id[id.index(after: dash)...])
        guard Int(rid) != nil, let link = s.pool.link(named: executor) else { return false }
        if env.raw.result.kind != 0 {
            link.respond(requestId: rid, member: "result", json: Envelope.text(body, env.raw.result.span))
        } else if env.raw.error.kind == Int32(SY_JSON_OBJECT) {
            link.respond(requestId: rid, member: "error", json: Envelope.text(body, env.raw.error.span))
        }
        return true
    }
}
