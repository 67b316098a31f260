import CSupport
import MCPCore

/// Notifications from the client (handshake era): 202 Accepted, and for
/// `notifications/cancelled` the named call stops in its executor, on whichever front it runs.
final class Notifications: MethodHandler {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) {
        if r.method == "notifications/cancelled", let session = r.session,
           let params = r.envelope.params(in: r.body), let rid = params["requestId"] {
            let idText: String
            switch rid {
            case .string(let v): idText = JSONValue.quote(v)
            case .number(let n): idText = JSONValue.formatNumber(n)
            default: idText = ""
            }
            let reason = params["reason"]?.stringValue ?? "cancelled by the client"
            s.router.cancel(key: session.id + "|" + idText, reason: reason)
        }
        s.writer.accepted(r.target)
    }
}
