import MCPCore
import Security

/// `subscriptions/listen` (stateless era): a notification stream. An acknowledgement first
/// (with the filter the server honors), then every matching notification, each carrying the
/// subscription id (the request's id).
final class SubscriptionsListen: MethodHandler {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) {
        let n = r.envelope.params(in: r.body)?["notifications"]
        var f = Listeners.Filter()
        if case .bool(true)? = n?["toolsListChanged"] { f.tools = true }
        if case .bool(true)? = n?["promptsListChanged"] { f.prompts = true }
        if case .bool(true)? = n?["resourcesListChanged"] { f.resources = true }
        if case .array(let uris)? = n?["resourceSubscriptions"] {
            var honored = Set(uris.compactMap(\.stringValue))
            // As the lists do: only resources the caller may read; the acknowledgement's filter
            // says which were honored.
            if let policy = s.access?.policy {
                let principal = r.principal
                honored = honored.filter { policy.check(principal, .resource, $0) == nil }
            }
            f.resourceURIs = honored
        }
        let idText = String(decoding: r.id ?? [], as: UTF8.self)
        s.writer.openStream(r.slot)
        let ack = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{\"_meta\":"
            + "{\"io.modelcontextprotocol/subscriptionId\":\(idText)},\"notifications\":\(f.json)}}"
        s.writer.event(r.slot, r.connection, Array(ack.utf8))
        s.listeners.add(Listeners.Stream(connection: r.connection, slot: r.slot, subscriptionId: idText,
                                         filter: f, key: nil))
    }
}
