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
        // The log is opened when the front starts serving.
        guard let audit = services.auditLog else { return .proceed }
        let env = r.envelope
        let method = r.envelopeError != nil ? "invalid" : env.isBatch ? "batch" : r.method ?? "response"
        let name = method == "resources/read" || method == "resources/subscribe"
            ? Envelope.string(r.body, env.raw.uri) : env.name(in: r.body)
        var digest: ArgumentsDigest?
        if r.envelopeError == nil, env.raw.arguments.kind == Int32(SY_JSON_OBJECT) {
            digest = ArgumentsDigest(arguments: Envelope.bytes(r.body, env.raw.arguments), key: audit.argumentsKey)
        }
        // stdio has no header: its requests belong to the one implicit session, if any.
        let session = r.http.header(.mcpSessionId) ?? r.connection.implicitSessionId
        let note = AuditNote(sourceAddress: r.connection.sourceAddress(of: r.http), sessionId: session,
                             method: method, name: name, arguments: digest)
        r.slot.audit = note
        r.audit = note
        return .proceed
    }

    /// A batch member's own note, under the batch's (BatchStage): its method, item and
    /// arguments, the batch's caller.
    static func memberNote(_ m: FrontRequest, of batch: AuditNote, key: [UInt8]) -> AuditNote {
        let env = m.envelope
        let method = m.envelopeError != nil ? "invalid" : m.method ?? "response"
        let name = method == "resources/read" || method == "resources/subscribe"
            ? Envelope.string(m.body, env.raw.uri) : env.name(in: m.body)
        var digest: ArgumentsDigest?
        if m.envelopeError == nil, env.raw.arguments.kind == Int32(SY_JSON_OBJECT) {
            digest = ArgumentsDigest(arguments: Envelope.bytes(m.body, env.raw.arguments), key: key)
        }
        let note = AuditNote(sourceAddress: batch.sourceAddress, sessionId: batch.sessionId, method: method,
                             name: name, arguments: digest)
        note.principal = batch.principal
        batch.members.append(note)
        return note
    }
}
