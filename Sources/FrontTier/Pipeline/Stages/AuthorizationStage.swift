import CSupport
import MCPCore
import Security

/// What the caller may use (README.md, "Security"): `tools/call`, `resources/read`,
/// `resources/subscribe` and `prompts/get` are checked against the policy for the tool, the
/// resource's URI or the prompt. A caller without a needed scope gets 403 with an
/// `insufficient_scope` challenge naming the scopes to ask for (a client steps up with them);
/// a caller the item is not for at all gets 403 without one. Other methods need only
/// authentication; the list methods filter what they show (CatalogList).
/// In the pipeline only when authentication is configured; after the batch stage, so each
/// member of a batch is checked on its own.
final class AuthorizationStage: RequestStage {
    let name = "authorization"
    private let access: AccessControl
    private let writer: ResponseWriter
    /// Method table indexes of the methods that use an item, and the kind of item.
    private let checked: [Int: Policy.Kind]

    init(access: AccessControl, writer: ResponseWriter, methods: MethodTable) {
        self.access = access
        self.writer = writer
        var checked: [Int: Policy.Kind] = [:]
        for (method, kind) in [("tools/call", Policy.Kind.tool), ("resources/read", .resource),
                               ("resources/subscribe", .resource), ("prompts/get", .prompt)] {
            if let i = methods.index(of: method) { checked[i] = kind }
        }
        self.checked = checked
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard let index = r.methodIndex, let kind = checked[index] else { return .proceed }
        // A request without the item's name is the method handler's to refuse (invalid params).
        let item = kind == .resource ? Envelope.string(r.body, r.envelope.raw.uri) : r.envelope.name(in: r.body)
        guard let item, let denial = access.policy.check(r.principal, kind, item) else { return .proceed }
        switch denial {
        case .insufficientScope(let needed): r.slot.audit?.denial = "policy: needs scope \(needed.joined(separator: " "))"
        case .notAllowed: r.slot.audit?.denial = "policy: not for this principal or client"
        }
        let (error, extra) = Self.refusal(denial, kind, item, access)
        writer.error(r.target, error, extra: extra)
        return .answered
    }

    static func refusal(_ denial: Policy.Denial, _ kind: Policy.Kind, _ item: String, _ access: AccessControl)
        -> (ProtocolError, [(String, String)]) {
        switch denial {
        case .insufficientScope(let needed):
            let why = "Forbidden: \(kind.rawValue) \(Challenge.safe(item)) needs scope \(needed.joined(separator: " "))"
            return (ProtocolError(.invalidRequest, why, httpStatus: 403),
                    [("WWW-Authenticate", Challenge.insufficientScope(needed, access.resource))])
        case .notAllowed:
            return (ProtocolError(.invalidRequest, "Forbidden: \(kind.rawValue) \(Challenge.safe(item)) is not "
                                  + "available to this caller", httpStatus: 403), [])
        }
    }
}
