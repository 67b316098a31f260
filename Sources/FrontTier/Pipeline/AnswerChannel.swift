/// Where a front writes the answers of one client: an HTTP connection (answers in request
/// order, HTTP framing) or the stdio session (one JSON line per message, in any order). The
/// pipeline, the method handlers and `ResponseWriter` see only this; how a slot's parts are
/// framed is the slot's (`ResponseSlot.lineFramed`, set by the channel that made it).
/// Thread: the loop thread.
protocol AnswerChannel: AnyObject {
    /// The client is gone: answers have nowhere to go.
    var isClosed: Bool { get }
    /// Marks `slot` answered and writes what can go out.
    func finish(_ slot: ResponseSlot)
    /// Writes what a streaming answer has so far (an HTTP connection waits until it is first in line).
    func push(_ slot: ResponseSlot)
    /// The unanswered 2026-07-28 calls made through this channel (closing it cancels them).
    var modernCalls: [ObjectIdentifier: PendingCall] { get set }
    /// The client's IP address, when known (rate limits, audit lines, the per-address cap).
    var peerAddress: String? { get }
    /// Where one request comes from: the peer, or the client a trusted proxy names
    /// (HTTPConnection+Source.swift).
    func sourceAddress(of request: HTTPRequest) -> String?
    /// The subject of a verified client certificate (HTTPS with `--tls-client-ca`).
    var peerCertificateSubject: String? { get }
    /// False for a transport without a header layer (stdio): everything a request carries is
    /// in its body, and the 2026-07-28 header checks do not apply.
    var hasHeaderLayer: Bool { get }
    /// The handshake-era session a transport holds for its client (stdio's one implicit
    /// session, after `initialize`); nil where each request names it (`Mcp-Session-Id`).
    var implicitSessionId: String? { get }
    /// `initialize` issued `id` for this channel's client.
    func sessionIssued(_ id: String)
}

extension HTTPConnection: AnswerChannel {
    var hasHeaderLayer: Bool { true }
    var implicitSessionId: String? { nil }
    /// The session id goes out in the `Mcp-Session-Id` header; the client sends it back.
    func sessionIssued(_ id: String) {}
}
