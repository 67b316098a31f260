import MCPCore

/// Legacy-era server-to-client requests: numbers each REQUEST with a process-wide `requestId`
/// and resumes the asking handler when the matching RESPONSE arrives, on whichever link
/// (a front that did not send the call forwards the client's answer on stream 0).
///
/// Thread: any. Continuations are resumed outside the lock.
final class InputBroker: Sendable {
    static let shared = InputBroker()

    private struct State {
        var nextID = 0
        var waiting: [Int: CheckedContinuation<JSONValue, any Error>] = [:]
        /// Cancelled before they were registered (the cancel handler ran first).
        var cancelledEarly: Set<Int> = []
    }
    private let state = Locked(State())

    func nextRequestID() -> Int { state.withLock { $0.nextID += 1; return $0.nextID } }

    /// Sends a request through `send` (the REQUEST frame payload) and waits for its answer's
    /// `result`. Throws ClientRequestFailed for an `error` answer, CancellationError when the
    /// task is cancelled; a request already sent is then withdrawn through `withdraw` (the NOTIFY
    /// payload of `notifications/cancelled`, proto §5.9), so the client stops waiting for it.
    func request(method: String, params: JSONValue, send: @Sendable ([UInt8]) -> Void,
                 withdraw: @escaping @Sendable ([UInt8]) -> Void) async throws -> JSONValue {
        let id = nextRequestID()
        let payload = Array(JSONValue.object(["requestId": .number(Double(id)), "method": .string(method),
                                              "params": params]).compactJSON().utf8)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<JSONValue, any Error>) in
                // Sent under the lock: a cancellation comes before (nothing is sent) or after it
                // (the withdrawal follows the request), never between.
                let early = state.withLock { s -> Bool in
                    if s.cancelledEarly.remove(id) != nil { return true }
                    s.waiting[id] = cont
                    send(payload)
                    return false
                }
                if early { cont.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let cont = state.withLock { s -> CheckedContinuation<JSONValue, any Error>? in
                if let c = s.waiting.removeValue(forKey: id) { return c }
                s.cancelledEarly.insert(id)
                return nil
            }
            guard let cont else { return }
            cont.resume(throwing: CancellationError())
            withdraw(Array(JSONValue.object(["method": .string("notifications/cancelled"), "params": .object([
                "requestId": .number(Double(id)), "reason": .string("the tool no longer waits for it")])])
                .compactJSON().utf8))
        }
    }

    /// Handles a RESPONSE payload; returns false when it matches no waiting request (ignored).
    @discardableResult
    func deliver(_ payload: [UInt8]) -> Bool {
        guard let v = try? JSONValue.parse(payload), let id = v["requestId"]?.intValue else { return false }
        guard let cont = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return false }
        if let result = v["result"] {
            cont.resume(returning: result)
        } else {
            let code = v["error"]?["code"]?.intValue ?? -32603
            let message = v["error"]?["message"]?.stringValue ?? "the client answered with an error"
            cont.resume(throwing: ClientRequestFailed(code: code, message: message))
        }
        return true
    }

    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
