import MCPCore

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
        if case .array(let uris)? = n?["resourceSubscriptions"] { f.resourceURIs = Set(uris.compactMap(\.stringValue)) }
        let idText = String(decoding: r.id ?? [], as: UTF8.self)
        s.writer.openStream(r.slot)
        let ack = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{\"_meta\":"
            + "{\"io.modelcontextprotocol/subscriptionId\":\(idText)},\"notifications\":\(f.json)}}"
        s.writer.event(r.slot, r.connection, Array(ack.utf8))
        s.listeners.add(Listeners.Stream(connection: r.connection, slot: r.slot, subscriptionId: idText,
                                         filter: f, key: nil))
    }
}
