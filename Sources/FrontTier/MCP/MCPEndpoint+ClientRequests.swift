import CSupport
import MCPCore
import WireProtocol

/// Requests a tool makes of the client while it runs (sampling, elicitation, roots) in the
/// handshake era: sent on the call's SSE stream with an id that names the executor, and the
/// client's answer (a POST to any front) carried back to that executor.
extension MCPEndpoint {
    static let clientRequestPrefix = "sy-"

    func setUpClientRequests() {
        pool.onClientRequest = { [unowned self] call, link, payload in self.clientRequest(call, link, payload) }
    }

    private func clientRequest(_ call: PendingCall, _ link: FrontLink, _ payload: [UInt8]) {
        guard case .object(let o)? = try? JSONValue.parse(payload), let rid = o["requestId"],
              case .number = rid, case .string(let method)? = o["method"] else { return }
        let ridText = rid.compactJSON()
        guard call.acceptsSSE, !call.modern, let c = call.connection, !c.isClosed else {
            link.respond(requestId: ridText, member: "error",
                         json: ProtocolError(.internalError, "the client cannot receive requests on this call (no SSE stream)").errorObjectJSON)
            return
        }
        let id = Self.clientRequestPrefix + link.name + "-" + ridText
        var msg: [String: JSONValue] = ["jsonrpc": .string("2.0"), "id": .string(id), "method": .string(method)]
        if let p = o["params"] { msg["params"] = p }
        startStreamIfNeeded(call)
        call.slot.appendEventChunk(Array(JSONValue.object(msg).compactJSON().utf8))
        c.push(call.slot)
    }

    /// A client's answer to one of our requests; false when the id is not one of ours.
    func routeClientResponse(_ env: Envelope, _ body: UnsafeRawBufferPointer) -> Bool {
        guard let id = Envelope.string(body, env.raw.id), id.hasPrefix(Self.clientRequestPrefix),
              let dash = id.lastIndex(of: "-") else { return false }
        let executor = String(id[id.index(id.startIndex, offsetBy: Self.clientRequestPrefix.count)..<dash])
        let rid = String(id[id.index(after: dash)...])
        guard Int(rid) != nil, let link = pool.link(named: executor) else { return false }
        if env.raw.result.kind != 0 {
            link.respond(requestId: rid, member: "result", json: Envelope.text(body, env.raw.result.span))
        } else if env.raw.error.kind == Int32(SY_JSON_OBJECT) {
            link.respond(requestId: rid, member: "error", json: Envelope.text(body, env.raw.error.span))
        }
        return true
    }
}
