import MCPCore

/// Our answers in flight to server requests that arrived on one stream (a call's stream or the
/// notification stream). Each answer is a POST holding an exchange, its bytes and a timer until
/// the server takes it: counted, so a server that sends requests faster than it takes answers
/// cannot make the bridge hold an unbounded number of them. Thread: the loop thread.
final class RemoteBackChannel {
    /// Answers in flight per stream; a server request beyond ends the stream (see the callers).
    static let maxInFlight = 32
    private(set) var inFlight = 0
    var isFull: Bool { inFlight >= Self.maxInFlight }
    fileprivate func began() { inFlight += 1 }
    fileprivate func ended() { inFlight -= 1 }
}

extension RemoteUpstream {
    /// POSTs our answer to the server request `id`, counted on `channel`. False (nothing sent)
    /// when `channel` already has `maxInFlight` answers in flight.
    @discardableResult
    func answerBack(_ id: JSONValue, _ outcome: JSONRPCLines.Outcome, on channel: RemoteBackChannel?,
                    done: ((PostOutcome) -> Void)? = nil) -> Bool {
        if let channel {
            guard !channel.isFull else { return false }
            channel.began()
        }
        post(nil, nil, answer: (id, outcome), reserved: true) { outcome in
            channel?.ended()
            done?(outcome)
        }
        return true
    }
}
