import EventLoop

/// One keep-alive connection to an origin (a TCP `StreamConnection` or a `TLSStream` over one),
/// carrying one request at a time. Between requests it keeps reading, so a close by the server
/// (idle timeout) is noticed and the pool drops it.
///
/// Ownership: the connection owns its stream and closes it in `close()`; the stream holds its
/// delegate (this object) weakly, the pool holds this object. Thread: the loop thread.
final class HTTPClientConnection: ByteStreamDelegate {
    let stream: any ByteStream
    let id: Int
    private var parser = HTTPResponseParser()
    private(set) var handler: (any HTTPResponseHandler)?
    /// Requests carried so far (a reused connection may have been closed by the server meanwhile).
    private(set) var requests = 0
    /// Bytes of the current response seen (none: the request may be sent again elsewhere).
    private(set) var receivedAny = false
    private var keepAlive = true
    /// The response is complete and the connection may carry another request.
    var onIdle: ((HTTPClientConnection) -> Void)?
    /// The connection closed (after `handler` was told, when there was one).
    var onClosed: ((HTTPClientConnection, _ wasReused: Bool, _ receivedAny: Bool,
                    _ handler: (any HTTPResponseHandler)?) -> Void)?

    init(stream: any ByteStream, id: Int) {
        self.stream = stream
        self.id = id
        stream.delegate = self
        stream.startReading()
    }

    var isBusy: Bool { handler != nil }
    var isClosed: Bool { stream.isClosed }

    /// Sends a rendered request; `handler` gets its response.
    func send(_ bytes: [UInt8], handler: any HTTPResponseHandler) {
        precondition(self.handler == nil, "one request at a time on a connection")
        self.handler = handler
        parser = HTTPResponseParser()
        receivedAny = false
        requests += 1
        stream.write(bytes)
    }

    /// Ends the current exchange without telling its handler (the caller gave up on it):
    /// the connection closes, since the rest of that response would still arrive on it.
    func abandon() {
        handler = nil
        close()
    }

    func close() {
        stream.close()
    }

    func streamReadable(_ stream: any ByteStream) {
        let bytes = stream.readable
        guard !bytes.isEmpty else { return }
        guard let handler else {
            // Bytes with no request outstanding: the server is not speaking HTTP as agreed.
            close()
            return
        }
        receivedAny = true
        var used = 0
        var finished = false
        do {
            used = try parser.parse(bytes) { event in
                switch event {
                case .head(let head):
                    keepAlive = head.keepsAlive
                    handler.responseHead(head)
                case .body(let piece):
                    if self.handler === handler { handler.responseBody(piece) }
                case .end:
                    finished = true
                }
            }
        } catch {
            self.handler = nil
            handler.responseFailed(HTTPClientError(.malformed, "the server's answer is not HTTP/1.1: \(error.description)"))
            close()
            return
        }
        stream.consume(used)
        if self.handler !== handler { return } // abandoned by a handler callback
        if finished {
            self.handler = nil
            handler.responseEnd()
            // Bytes behind a finished response answer no request: reusing the connection would hand
            // them to the next exchange (possibly another session's) as its response. Close instead.
            let leftover = !stream.readable.isEmpty
            if keepAlive && !leftover && !stream.isClosed { onIdle?(self) } else { close() }
            return
        }
        // An incomplete head or chunk line waits for more bytes: make room for it in one piece.
        let rest = stream.readable.count
        if rest > 0 && rest >= 8 * 1024 { _ = stream.reserve(min(rest * 2, HTTPResponseParser.maxHead * 2)) }
    }

    func streamClosed(_ stream: any ByteStream, status: Int32) {
        var current = handler
        handler = nil
        if let h = current {
            var ended = false
            do {
                try parser.finish { event in if case .end = event { ended = true } }
            } catch {
                // Reported by the pool (it may send the request again on a fresh connection).
                _ = error
            }
            if ended { h.responseEnd(); current = nil }
        }
        onClosed?(self, requests > 1, receivedAny, current)
    }
}
