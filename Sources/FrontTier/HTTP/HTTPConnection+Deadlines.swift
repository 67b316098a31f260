import EventLoop
import Metrics
import TLS

/// The connection's deadlines and closing: the timeout sweep (head, body, idle), graceful
/// closes for shutdown. Thread: the loop thread.
extension HTTPConnection {
    /// Closes in `afterMs` unless a request arrives meanwhile (graceful shutdown of idle keep-alives).
    func closeIfQuiet(afterMs: UInt64) {
        let quietSince = lastActivity
        conn.schedule(after: afterMs) { [weak self] in
            guard let self, !self.conn.isClosed, self.lastActivity == quietSince, self.inFlight == 0 else { return }
            self.conn.closeWhenFlushed()
        }
    }

    /// Closes connections that stalled: a head not complete within the head timeout of its first
    /// byte (dripping bytes do not extend it), a body silent for the body timeout or slower than
    /// the minimum rate after its grace period, an idle keep-alive. Nothing counts while reading
    /// is paused by the pipelining limit: that wait is the server's.
    func checkTimeouts(now: UInt64) {
        guard !conn.isClosed, !pausedForPipeline else { return }
        switch state {
        case .head:
            if let tls = conn as? TLSStream, tls.isHandshaking {
                // The TLS handshake counts as the head: done within the head timeout of the accept.
                if now &- tls.startedAt > limits.headTimeoutMs {
                    onServerClose?(.headTimeout)
                    conn.close()
                }
                return
            }
            if phaseStartedAt != 0 && conn.readable.count > 0 {
                if now &- phaseStartedAt > limits.headTimeoutMs {
                    failAndClose(status: 408, message: "request head timed out", reason: .headTimeout)
                }
            } else if inFlight == 0 && now &- lastActivity > limits.idleTimeoutMs {
                onServerClose?(.idleTimeout)
                conn.close()
            }
        case .body(let total):
            checkBody(now: now, received: conn.readable.count, of: total)
        case .chunked(_, let inOff, _):
            checkBody(now: now, received: inOff, of: nil)
        }
    }

    /// `received` counts the head too (it is subtracted here); `total` is nil for chunked bodies.
    private func checkBody(now: UInt64, received: Int, of total: Int?) {
        if now &- lastActivity > limits.bodyTimeoutMs {
            failAndClose(status: 408, message: "request body timed out", reason: .bodyTimeout)
            return
        }
        let elapsed = now &- phaseStartedAt
        guard elapsed > limits.bodyGraceMs, let h = head else { return }
        let bytes = UInt64(max(0, received - Int(h.pointee.head_length)))
        if bytes &* 1000 < limits.bodyMinRate &* elapsed {
            failAndClose(status: 408, message: "request body arrived slower than \(limits.bodyMinRate) bytes/s",
                         reason: .bodyTooSlow)
        }
    }
}
