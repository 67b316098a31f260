import Security

/// What the pipeline learns about a request for its audit line, kept on its response slot
/// until the answer's head is written (`ResponseWriter.count`), when the line is recorded with
/// the status and duration. Made by `AuditStage` only when `--audit-log` is set; stages that
/// decide fill in the principal or the reason for a denial.
final class AuditNote {
    var principal = Principal.anonymous
    let sourceAddress: String?
    let sessionId: String?
    let method: String
    let name: String?
    let arguments: ArgumentsDigest?
    /// Why the request was refused (authentication, policy, rate limit); nil: allowed.
    var denial: String?

    init(sourceAddress: String?, sessionId: String?, method: String, name: String?, arguments: ArgumentsDigest?) {
        self.sourceAddress = sourceAddress
        self.sessionId = sessionId
        self.method = method
        self.name = name
        self.arguments = arguments
    }

    func record(status: Int, durationNs: UInt64) -> AuditRecord {
        // A refusal the pipeline did not name (a malformed request, an unknown session) is
        // still a denial when its status says so.
        let denied = denial != nil || status == 401 || status == 403 || status == 429
        return AuditRecord(principal: principal, sourceAddress: sourceAddress, sessionId: sessionId, method: method,
                           name: name, decision: denied ? .deny : .allow,
                           reason: denial ?? (denied ? "refused with HTTP \(status)" : nil),
                           status: status, durationNs: durationNs, arguments: arguments)
    }
}
