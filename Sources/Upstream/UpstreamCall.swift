import MCPCore

/// What the bridge tells a waiting handler about its call, in order; `.finished` is last.
enum UpstreamEvent: Sendable {
    /// `notifications/progress` for this call (its token already replaced by the client's).
    case progress(progress: Double, total: Double?, message: String?)
    /// `notifications/message` attributed to this call.
    case log(level: String, data: JSONValue, logger: String?)
    /// A server-to-client request the copy made during this call (elicitation, sampling, roots):
    /// the handler asks the client and answers with `UpstreamCommand.answer(call, token, …)`.
    case serverRequest(token: Int, method: String, params: JSONValue)
    /// The copy withdrew that request (`notifications/cancelled`): the client is no longer asked.
    case withdrawn(token: Int)
    /// The answer, or the error the call ends with.
    case finished(Result<JSONValue, UpstreamFailure>)
}

/// How a call failed: a JSON-RPC error for the client (the upstream's own, or ours).
struct UpstreamFailure: Error, Sendable {
    var code: Int
    var message: String
    var data: JSONValue?
}

/// What a handler (any thread) asks of the bridge (its loop thread).
enum UpstreamCommand: Sendable {
    case submit(UpstreamCall.Request)
    case cancel(callID: Int)
    /// The client's answer to a server request (`result`, or an error for the copy).
    case answer(callID: Int, token: Int, JSONRPCLines.Outcome)
}

/// One call on its way to a copy and back. Thread: the loop thread.
final class UpstreamCall {
    /// Server requests of one call waiting for the client at once; beyond, a remote's call
    /// fails and a stdio copy's request is refused.
    static let maxServerRequests = 32

    /// What a handler submits.
    struct Request: Sendable {
        let id: Int
        let method: String
        /// The JSON-RPC params for the copy, without `_meta.progressToken` (the bridge sets its own).
        let params: JSONValue
        let wantsProgress: Bool
        /// Read-only or idempotent: may run again on another copy when its copy dies.
        let retryable: Bool
        /// per-session mode: the client session the call belongs to.
        let session: String?
        let deliver: @Sendable (UpstreamEvent) -> Void
    }

    let request: Request
    var id: Int { request.id }
    var method: String { request.method }
    let deadline: UInt64
    /// On a copy: its request id there, and the copy.
    var upstreamID: Int?
    weak var copy: UpstreamCopy?
    var attempts = 0
    /// Server requests made for this call, waiting for the client: our token → the copy's id.
    var serverRequests: [Int: JSONValue] = [:]
    /// The copy's answer, held until those requests are answered (per-session copies only).
    var held: JSONRPCLines.Outcome?
    private(set) var finished = false

    init(_ request: Request, deadline: UInt64) {
        self.request = request
        self.deadline = deadline
    }

    /// The progress token the copy sees: unique per call within the bridge.
    var progressToken: String { "sy-\(request.id)" }

    /// The params sent to the copy: the handler's, with our progress token when the client asked.
    var upstreamParams: JSONValue {
        guard request.wantsProgress, case .object(var o) = request.params else { return request.params }
        var meta = o["_meta"]?.objectValue ?? [:]
        meta["progressToken"] = .string(progressToken)
        o["_meta"] = .object(meta)
        return .object(o)
    }

    func send(_ event: UpstreamEvent) {
        guard !finished else { return }
        if case .finished = event { finished = true }
        request.deliver(event)
    }

    func fail(_ code: Int, _ message: String) {
        send(.finished(.failure(UpstreamFailure(code: code, message: message, data: nil))))
    }
}
