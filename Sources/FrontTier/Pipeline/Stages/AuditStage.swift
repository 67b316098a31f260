import CSupport
import MCPCore
import Security

/// Starts the audit line of a request (`--audit-log`): where it came from, its session, method
/// and item, and a keyed digest of a call's arguments (never their value). The line is
/// written with the answer's status; later stages add the principal or why it was refused.
/// In the pipeline only when the audit log is on, first after the origin check.
final class AuditStage: RequestStage {
    let name = "audit"
    private let services: FrontServices

    init(services: FrontServices) { self.services = services }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        // The log is opened when the front starts serving; a batch member's POST has its line.
        guard let audit = services.auditLog, r.slot.audit == nil else { return .proceed }
        let env = r.envelope
        let method = r.envelopeError != nil ? "invalid" : env.isBatch ? "batch" : r.method ?? "response"
        let name = method == "resources/read" || method == "resources/subscribe"
            ? Envelope.string(r.body, env.raw.uri) : env.name(in: r.body)
        var digest: ArgumentsDigest?
        if r.envelopeError == nil, env.raw.arguments.kind == Int32(SY_JSON_OBJECT) {
            digest = ArgumentsDigest(arguments: Envelope.bytes(r.body, env.raw.arguments), key: audit.argumentsKey)
        }
        r.slot.audit = AuditNote(sourceAddress: r.connection.peerAddress, sessionId: r.http.header(.mcpSessionId),
                                 method: method, name: name, arguments: digest)
        return .proceed
    }
}
