import Security

/// What the pipeline learns about a request for its audit line, kept on its response slot
/// (and on the request, `FrontRequest.audit`) until the answer's head is written
/// (`ResponseWriter.count`), when the line is recorded with the status and duration. Made by
/// `AuditStage` only when `--audit-log` is set; stages that decide fill in the principal or the
/// reason for a denial. Each member of a batch has a note of its own (`members`), so a tool
/// called inside a batch is named in a line of its own.
final class AuditNote {
    var principal = Principal.anonymous
    let sourceAddress: String?
    let sessionId: String?
    let method: String
    let name: String?
    let arguments: ArgumentsDigest?
    /// Why the request was refused (authentication, policy, rate limit), and with which HTTP
    /// status; nil: allowed.
    private(set) var denial: String?
    private var deniedStatus: Int?
    /// The notes of a batch's members.
    var members: [AuditNote] = []

    init(sourceAddress: String?, sessionId: String?, method: String, name: String?, arguments: ArgumentsDigest?) {
        self.sourceAddress = sourceAddress
        self.sessionId = sessionId
        self.method = method
        self.name = name
        self.arguments = arguments
    }

    func deny(_ reason: String, status: Int) {
        denial = reason
        deniedStatus = status
    }

    /// This note's line and its members' (a member answered inside the batch's 200 has the
    /// status its own refusal had, else the batch's).
    func records(status: Int, durationNs: UInt64) -> [AuditRecord] {
        [record(status: status, durationNs: durationNs)]
            + members.map { $0.record(status: $0.deniedStatus ?? status, durationNs: durationNs) }
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
