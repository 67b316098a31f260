import CLibUV
import CSupport
import EventLoop
import Metrics

/// What the connection hands complete requests to.
protocol HTTPHandler: AnyObject {
    /// Handles one request. The answer goes into `slot`, now or later, then `connection.finish(slot)`.
    func handle(_ request: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection)
}

/// An HTTP/1.1 server connection: parses requests where they lie in the read buffer, hands
/// them on in order, and writes answers in request order (pipelining). It sees its socket only
/// as a `ByteStream` (clock and timers included), so tests drive it over a `MemoryStream`.
/// Thread: the loop thread.
final class HTTPConnection: ByteStreamDelegate {
    struct Limits {
        var maxHead = 16 * 1024
        var maxBody = 4 * 1024 * 1024
        /// A request head must be complete within this many ms of its first byte, however the
        /// bytes drip in (`--head-timeout`; 408).
        var headTimeoutMs: UInt64 = 10_000
        /// A body that receives nothing for this many ms is abandoned (408).
        var bodyTimeoutMs: UInt64 = 30_000
        /// After `bodyGraceMs` from the end of its head, a body must have arrived at this many
        /// bytes per second on average (`--body-min-rate`; 408): a client sending one byte every
        /// few seconds cannot hold a connection for the whole body timeout and beyond.
        var bodyMinRate: UInt64 = 1024
        var bodyGraceMs: UInt64 = 5_000
        /// A keep-alive connection with nothing in flight closes after this many ms.
        var idleTimeoutMs: UInt64 = 60_000
        /// Requests a connection may have in flight before reading pauses.
        var maxPipelined = 64
    }

    /// The head of the request being read is in `head` in the body states.
    enum State {
        case head
        /// Waiting for a Content-Length body of `total` bytes (head included).
        case body(total: Int)
        case chunked(decoder: sy_chunked_t, inOff: Int, outLen: Int)
    }

    let conn: any ByteStream
    unowned let handler: any HTTPHandler
    let limits: Limits
    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    @exclusivity(unchecked) private(set) var state = State.head
    /// The parsed head of the request being read (1 KB: 64 header spans). Ownership: this
    /// connection; allocated when a request arrives, freed when the connection goes quiet, so
    /// an idle keep-alive connection does not hold it. Handed to the handler by pointer: it is
    /// never copied on the request path.
    @exclusivity(unchecked) private(set) var head: UnsafeMutablePointer<sy_http_request_t>?
    @exclusivity(unchecked) private var slots: [ResponseSlot] = []
    @exclusivity(unchecked) private var slotHead = 0
    /// Loop time of the last progress, for the idle and body timeouts.
    @exclusivity(unchecked) private(set) var lastActivity: UInt64
    /// Loop time of the first byte of the head being read, or of the end of the head whose body
    /// is being read: the absolute deadlines count from it. 0 while no head has begun.
    @exclusivity(unchecked) private(set) var phaseStartedAt: UInt64 = 0
    /// Loop time of the accept, and whether any byte arrived since: connections that never
    /// sent one are the first evicted under descriptor pressure (ConnectionAdmission).
    let acceptedAt: UInt64
    @exclusivity(unchecked) private(set) var receivedAny = false
    /// The peer's address, for the per-address cap (set by the front).
    var peerAddress: String?
    /// Set (by the front) when the peer is a trusted proxy: requests then name their source in
    /// X-Forwarded-For (TrustedProxies).
    var trustedProxies: TrustedProxies?
    /// Set when the front evicts this connection (its close completes on a later loop turn).
    @exclusivity(unchecked) var evicted = false
    /// Nothing in flight, nothing buffered, not closing: closing it loses nothing.
    var isEvictable: Bool {
        !evicted && !conn.isClosed && !closingAfterAnswers && inFlight == 0 && conn.readable.count == 0
    }
    /// Reading stopped because `maxPipelined` requests are in flight.
    @exclusivity(unchecked) private(set) var pausedForPipeline = false
    @exclusivity(unchecked) private var sentContinue = false
    /// No new requests are read (shutdown or an error answer that closes).
    @exclusivity(unchecked) private(set) var closingAfterAnswers = false
    var onClose: ((HTTPConnection) -> Void)?
    /// Told of each request refused before it could be parsed (its HTTP status), for metrics.
    var onMalformed: ((Int) -> Void)?
    /// Told why, each time this connection closes itself (timeouts, limits), for metrics.
    var onServerClose: ((CloseReason) -> Void)?
    var isClosed: Bool { conn.isClosed }

    /// Free room a plain-HTTP client's read asks of its buffer. A call in flight holds its
    /// request's read chunk, and the smallest chunk (4 KiB) fits a typical request, also when
    /// it arrives in two pieces (3,000 calls in flight: 12 MiB, not the 48 of 16 KiB reads).
    /// A larger request grows its buffer: to the length its head gives, or by doubling for a
    /// chunked body, so big bodies still arrive in few reads.
    static let clientReadSize = 2048

    init(conn: any ByteStream, handler: any HTTPHandler, limits: Limits) {
        self.conn = conn
        self.handler = handler
        self.limits = limits
        self.lastActivity = conn.now
        acceptedAt = conn.now
        conn.delegate = self
    }

    /// A connection dropped without its close callback (tests, a failed accept) frees the head too.
    deinit { head?.deallocate() }

    var inFlight: Int { slots.count - slotHead }
    /// This connection's unanswered 2026-07-28 calls (closing the stream cancels them), so a
    /// close finds them without a search through every call in flight. A call enters when it is
    /// submitted and leaves when it finishes (`PendingCall.finish`).
    @exclusivity(unchecked) var modernCalls: [ObjectIdentifier: PendingCall] = [:]
    var isIdle: Bool { inFlight == 0 && conn.readable.count == 0 }

    func start() { conn.startReading() }

    // MARK: reading

    func streamReadable(_ stream: any ByteStream) {
        lastActivity = conn.now
        receivedAny = true
        parse()
    }

    /// True while `parse` runs: an answer finished synchronously must not re-enter it.
    @exclusivity(unchecked) private var parsing = false

    private func parse() {
        guard !parsing else { return }
        parsing = true
        defer { parsing = false; releaseHeadIfQuiet() }
        while !conn.isClosed && !closingAfterAnswers {
            if inFlight >= limits.maxPipelined {
                conn.stopReading()
                pausedForPipeline = true
                return
            }
            let bytes = conn.readable
            guard bytes.count > 0, let base = bytes.baseAddress else { return }
            switch state {
            case .head:
                if phaseStartedAt == 0 { phaseStartedAt = conn.now }
                let req: UnsafeMutablePointer<sy_http_request_t>
                if let h = head { req = h } else { req = .allocate(capacity: 1); head = req }
                let rc = sy_http_parse_request(base.assumingMemoryBound(to: UInt8.self), bytes.count,
                                               limits.maxHead, req)
                if rc == SY_EHTTP_INCOMPLETE { return }
                if rc < 0 {
                    let tooLarge = rc == SY_EHTTP_TOO_MANY
                    failAndClose(status: tooLarge ? 431 : rc == SY_EHTTP_VERSION ? 505 : 400,
                                 message: tooLarge ? "request header fields too large" : "malformed HTTP request",
                                 reason: tooLarge ? .headTooLarge : .malformed)
                    return
                }
                sentContinue = false
                phaseStartedAt = conn.now // the body's deadlines count from the end of the head
                let headLength = Int(req.pointee.head_length)
                if req.pointee.chunked != 0 {
                    state = .chunked(decoder: sy_chunked_t(), inOff: headLength, outLen: headLength)
                    continue
                }
                let length = max(0, Int(req.pointee.content_length))
                if length > limits.maxBody {
                    failAndClose(status: 413, message: "request body larger than \(limits.maxBody) bytes",
                                 reason: .bodyTooLarge)
                    return
                }
                state = .body(total: headLength + length)
            case .body(let total):
                guard let req = head else { return }
                guard bytes.count >= total else {
                    _ = conn.reserve(total)
                    sendContinueIfAsked(req)
                    return
                }
                state = .head
                phaseStartedAt = 0
                dispatch(req, bodyRange: Int(req.pointee.head_length)..<total)
                conn.consume(total)
            case .chunked(var decoder, var inOff, var outLen):
                guard let req = head, let mbase = conn.mutableReadBase else { return }
                let headLength = Int(req.pointee.head_length)
                let rc = sy_chunked_decode(&decoder, mbase, bytes.count, &inOff, &outLen, headLength + limits.maxBody)
                if rc < 0 {
                    switch Int(rc) {
                    case Int(SY_EHTTP_TOO_MANY):
                        failAndClose(status: 413, message: "request body too large", reason: .bodyTooLarge)
                    case Int(SY_EHTTP_TRAILERS):
                        failAndClose(status: 431, message: "request trailer fields too large",
                                     reason: .trailersTooLarge)
                    default:
                        failAndClose(status: 400, message: "malformed chunked body", reason: .malformed)
                    }
                    return
                }
                if rc == 0 {
                    state = .chunked(decoder: decoder, inOff: inOff, outLen: outLen)
                    sendContinueIfAsked(req)
                    // Room for the rest, doubling: a small body stays in a small chunk.
                    if bytes.count - inOff < 4096 { _ = conn.reserve(2 * bytes.count + 4096) }
                    return
                }
                state = .head
                phaseStartedAt = 0
                dispatch(req, bodyRange: headLength..<outLen)
                conn.consume(inOff)
            }
        }
    }

    /// Frees the head storage when nothing is being read (see `head`).
    private func releaseHeadIfQuiet() {
        guard let h = head, case .head = state, conn.readable.count == 0 else { return }
        h.deallocate()
        head = nil
    }

    /// The interim answer goes out only when every answer before it has: written earlier it
    /// would land inside them (in the chunked body of an open SSE stream, say). Behind pending
    /// answers it waits for `finish` to write the last of them.
    private func sendContinueIfAsked(_ req: UnsafeMutablePointer<sy_http_request_t>) {
        if req.pointee.expect_continue != 0 && !sentContinue && inFlight == 0 {
            sentContinue = true
            conn.write("HTTP/1.1 100 Continue\r\n\r\n" as StaticString)
        }
    }

    private func dispatch(_ head: UnsafeMutablePointer<sy_http_request_t>, bodyRange: Range<Int>) {
        let bytes = conn.readable
        guard let chunk = conn.readChunk else { return }
        let request = HTTPRequest(headPointer: head, bytes: bytes, chunk: chunk,
                                  body: UnsafeRawBufferPointer(rebasing: bytes[bodyRange]))
        let slot = ResponseSlot()
        slot.startedNs = uv_hrtime()
        if head.pointee.keep_alive == 0 { slot.closeAfter = true; closingAfterAnswers = true }
        slots.append(slot)
        handler.handle(request, slot: slot, connection: self)
    }

    /// Answers a request that cannot be parsed or arrived too slowly, then closes (the stream
    /// position is lost).
    func failAndClose(status: Int, message: String, reason: CloseReason) {
        closingAfterAnswers = true
        conn.stopReading()
        onServerClose?(reason)
        let body = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"\(message)\"}}"
        let slot = ResponseSlot()
        onMalformed?(status)
        slot.append(.text(HTTPResponse.head(status: status, contentType: "application/json",
                                            contentLength: body.utf8.count, keepAlive: false)))
        slot.append(.text(body))
        slot.closeAfter = true
        slots.append(slot)
        finish(slot)
    }

    // MARK: writing

    /// Marks a slot answered and writes every answered slot at the head of the queue.
    func finish(_ slot: ResponseSlot) {
        slot.ready = true
        guard !conn.isClosed else { return }
        var closeNow = false
        while slotHead < slots.count, slots[slotHead].ready {
            let s = slots[slotHead]
            slotHead += 1
            writeParts(of: s)
            if s.closeAfter { closeNow = true; break }
        }
        if slotHead == slots.count { slots.removeAll(keepingCapacity: true); slotHead = 0 }
        else if slotHead > 32 { slots.removeFirst(slotHead); slotHead = 0 }
        lastActivity = conn.now
        if closeNow { conn.closeWhenFlushed(); return }
        if closingAfterAnswers && inFlight == 0 { conn.closeWhenFlushed(); return }
        if inFlight == 0, let req = head {
            switch state {
            case .head: break
            case .body, .chunked: sendContinueIfAsked(req)
            }
        }
        if inFlight < limits.maxPipelined && !closingAfterAnswers && !parsing {
            if pausedForPipeline {
                // The wait was ours, not the client's: the deadlines of what is pending restart.
                pausedForPipeline = false
                if phaseStartedAt != 0 { phaseStartedAt = conn.now }
            }
            conn.startReading()
            if conn.readable.count > 0 { parse() }
        }
    }

    /// Writes what a streaming answer (SSE) has so far, if it is first in line; otherwise its
    /// parts wait in the slot until the answers before it are done.
    func push(_ slot: ResponseSlot) {
        guard !conn.isClosed, slotHead < slots.count, slots[slotHead] === slot else { return }
        writeParts(of: slot)
        lastActivity = conn.now
    }

    private func writeParts(of s: ResponseSlot) {
        for part in s.takeParts() {
            switch part {
            case .text(let t): conn.write(t)
            case .bytes(let b): conn.write(b)
            case .slice(let c, let b):
                conn.write(chunk: c, bytes: b)
                sy_chunk_release(c)
            }
        }
    }

    /// Stops taking requests; closes once the ones in flight are answered (graceful shutdown).
    func closeWhenDone() {
        closingAfterAnswers = true
        conn.stopReading()
        if inFlight == 0 { conn.closeWhenFlushed() }
    }

    func streamClosed(_ stream: any ByteStream, status: Int32) {
        head?.deallocate()
        head = nil
        slots.removeAll()
        slotHead = 0
        onClose?(self)
    }
}
