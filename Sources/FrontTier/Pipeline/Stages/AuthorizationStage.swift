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
    /// `completion/complete`: its `params.ref` names a prompt or a resource template.
    private let completion: Int?

    init(access: AccessControl, writer: ResponseWriter, methods: MethodTable) {
        self.access = access
        self.writer = writer
        var checked: [Int: Policy.Kind] = [:]
        for (method, kind) in [("tools/call", Policy.Kind.tool), ("resources/read", .resource),
                               ("resources/subscribe", .resource), ("prompts/get", .prompt)] {
            if let i = methods.index(of: method) { checked[i] = kind }
        }
        self.checked = checked
        completion = methods.index(of: "completion/complete")
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard let index = r.methodIndex else { return .proceed }
        let kind: Policy.Kind, item: String?
        if let k = checked[index] {
            kind = k
            // A request without the item's name is the method handler's to refuse (invalid params).
            item = k == .resource ? Envelope.string(r.body, r.envelope.raw.uri) : r.envelope.name(in: r.body)
        } else if index == completion, let ref = Self.completionRef(r) {
            (kind, item) = ref
        } else {
            return .proceed
        }
        guard let item, let denial = access.policy.check(r.principal, kind, item) else { return .proceed }
        switch denial {
        case .insufficientScope(let needed):
            r.audit?.deny("policy: needs scope \(needed.joined(separator: " "))", status: 403)
        case .notAllowed: r.audit?.deny("policy: not for this principal or client", status: 403)
        }
        let (error, extra) = Self.refusal(denial, kind, item, access)
        writer.error(r.target, error, extra: extra)
        return .answered
    }

    /// What a completion request completes: `ref/prompt` by name, `ref/resource` by its URI
    /// template's literal prefix (as the lists filter templates). nil: not a reference the
    /// policy knows (the method handler refuses a missing one).
    static func completionRef(_ r: FrontRequest) -> (Policy.Kind, String)? {
        guard let ref = r.envelope.params(in: r.body)?["ref"], let type = ref["type"]?.stringValue else { return nil }
        switch type {
        case "ref/prompt":
            return ref["name"]?.stringValue.map { (.prompt, $0) }
        case "ref/resource":
            return ref["uri"]?.stringValue.map {
                (.resource, CatalogList.policyName($0, kind: .resource, member: "resourceTemplates"))
            }
        default: return nil
        }
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
