import CSupport
import EventLoop

/// One simulated MCP client: a connection (re-opened when lost, or per request in churn
/// mode), its session and the request in flight. Reads answers off the pooled read buffer.
///
/// Thread: its worker's loop thread. Ownership: the worker holds every client; the
/// connection holds no reference back except as its (weak) delegate.
final class Client: StreamDelegate {
    enum Step { case initialize, initialized, call }
    enum State { case down, connecting, setup, ready, busy, dead }

    let index: Int
    let source: String?
    unowned let worker: Worker
    var conn: StreamConnection?
    var state: State = .down
    var step: Step = .call
    var sessionID: String?
    /// The session handshake is done (or not needed): calls may go out.
    var established = false
    /// Counted once toward the worker's setup.
    var setupCounted = false
    /// The call head up to Content-Length, built once the session is known.
    var callHead: [UInt8] = []
    /// A request waiting for the connection to open (churn, reconnect): its scheduled time.
    var pending: UInt64?
    var scheduledAt: UInt64 = 0
    var sentAt: UInt64 = 0
    var requestID: UInt64 = 0
    /// Earliest time to try connecting again after a failure.
    var retryAt: UInt64 = 0

    private var response: ResponseHead?
    private var chunked = sy_chunked_t()
    private var chunkIn = 0
    private var chunkOut = 0

    init(index: Int, source: String?, worker: Worker) {
        self.index = index
        self.source = source
        self.worker = worker
    }

    /// Forgets a partly read answer (the connection is gone).
    func resetRead() { response = nil }

    func streamReadable(_ s: StreamConnection) {
        while conn === s {
            let bytes = s.readable
            if bytes.isEmpty { return }
            if response == nil {
                do {
                    guard let h = try ResponseHead.parse(bytes) else { return }
                    response = h
                    chunked = sy_chunked_t()
                    chunkIn = h.headLength
                    chunkOut = h.headLength
                } catch {
                    worker.failed(self, kind: "bad_http", sample: bytes)
                    return
                }
            }
            guard let h = response else { return }
            let body: Range<Int>
            let total: Int
            if h.chunked {
                guard let base = s.mutableReadBase else { return }
                var inOff = chunkIn, outLen = chunkOut
                let rc = sy_chunked_decode(&chunked, base, bytes.count, &inOff, &outLen, 256 << 20)
                chunkIn = inOff
                chunkOut = outLen
                if rc < 0 { worker.failed(self, kind: "bad_http", sample: bytes); return }
                if rc == 0 { return }
                body = h.headLength..<outLen
                total = inOff
            } else {
                var length = h.contentLength
                if length < 0 {
                    guard h.status == 202 || h.status == 204 || h.status == 304 else {
                        worker.failed(self, kind: "bad_http", sample: bytes)
                        return
                    }
                    length = 0
                }
                total = h.headLength + length
                if bytes.count < total {
                    if total > 16 * 1024 { _ = s.reserve(total) }
                    return
                }
                body = h.headLength..<total
            }
            response = nil
            worker.answered(self, head: h, body: UnsafeRawBufferPointer(rebasing: s.readable[body]))
            if conn === s { s.consume(total) }
        }
    }

    func streamClosed(_ s: StreamConnection, status: Int32) {
        guard conn === s else { return }
        conn = nil
        response = nil
        worker.lost(self, status: status)
    }
}
