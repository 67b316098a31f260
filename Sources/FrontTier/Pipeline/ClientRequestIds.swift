import COpenSSL
import MCPCore

/// The ids of requests a tool makes of its client (sampling, elicitation, roots; handshake
/// era). An id names the executor and its request number, carries 128 random bits, and is
/// sealed (HMAC-SHA256 with the key every front shares) for the session the request was sent
/// to: any front can route the client's answer back to the executor, and an answer from
/// another session, or with a made-up id, is refused and never delivered. With Redis, the id
/// also names its origin (`<host>.<front>`), so a front of another host forwards the answer
/// there (SharedAnswers).
/// Thread: the loop thread.
struct ClientRequestIds {
    static let prefix = "sy-"
    let sessions: SessionTokens

    /// A new id for request `requestId` of `executor`, bound to `session`; `origin` names the
    /// front that sent it (`<host>.<front>`, with Redis).
    func make(executor: String, requestId: String, session: String, origin: String? = nil) -> String {
        var nonce = [UInt8](repeating: 0, count: 16)
        _ = nonce.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, 16) }
        var state = executor + "|" + requestId + "|" + Base64URL.encode(nonce)
        if let origin { state += "|" + origin }
        return Self.prefix + sessions.seal(state, subject: Self.subject(session))
    }

    /// The executor, request number and origin an answer's id names, when the id is ours and
    /// was made for `session`; nil otherwise.
    func open(_ id: String, session: String) -> (executor: String, requestId: String, origin: String?)? {
        guard id.hasPrefix(Self.prefix),
              let state = sessions.unseal(String(id.dropFirst(Self.prefix.count)),
                                          subject: Self.subject(session)) else {
            return nil
        }
        let parts = state.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4, Int(parts[1]) != nil else { return nil }
        return (String(parts[0]), String(parts[1]), parts.count == 4 ? String(parts[3]) : nil)
    }

    private static func subject(_ session: String) -> String { "client-request:" + session }
}
