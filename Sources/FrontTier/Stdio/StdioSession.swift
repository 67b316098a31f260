import CLibUV
import CSupport
import EventLoop
import Glibc
import MCPCore

/// The one MCP client of `switchyard stdio`: newline-delimited JSON-RPC over two byte streams
/// (the process's standard input and output). Each line read is one message, run through the
/// front's request pipeline as an HTTP POST's body would be; every message the front writes for
/// it (answers, progress and log notifications, list changes, requests a tool makes of the
/// client) is one line, written as soon as it is ready: there is no per-request stream to keep
/// in order. One implicit handshake-era session (after `initialize`); 2026-07-28 requests carry
/// everything in their `_meta`.
///
/// Flow control: reading pauses while `maxInFlight` messages are unanswered or the output
/// backlog passes `maxOutputBacklog` (a client that does not read), and resumes below.
/// A line longer than `maxLine` is answered with an error and skipped without being buffered.
///
/// Ownership: the session's streams are closed by `close()`/the peer; `head` is allocated here
/// and freed in deinit. Thread: the loop thread.
final class StdioSession: AnswerChannel, ByteStreamDelegate {
    struct Limits {
        /// The longest message line, in bytes (`--max-body`).
        var maxLine = 4 * 1024 * 1024
        var maxInFlight = 1024
        var maxOutputBacklog = 64 * 1024 * 1024
    }

    private let input: any ByteStream
    private let output: any ByteStream
    /// Bytes written but not yet taken by the client (the output stream's queue).
    private let outputBacklog: () -> Int
    private unowned let services: FrontServices
    private let pipeline: RequestPipeline
    private let methods: MethodTable
    let limits: Limits
    /// The head every line's request carries: no header at all, and an Accept of both answer
    /// forms (each answer is a line anyway; accepting a stream lets progress through).
    private let head: UnsafeMutablePointer<sy_http_request_t>
    /// Unanswered messages: their slot and JSON-RPC id as sent.
    private var pending: [ObjectIdentifier: (slot: ResponseSlot, id: [UInt8]?)] = [:]
    /// Slots of requests the client cancelled: whatever they still produce is dropped (the
    /// spec: no further messages for a cancelled request).
    private var silenced: Set<ObjectIdentifier> = []
    var modernCalls: [ObjectIdentifier: PendingCall] = [:]
    private(set) var implicitSessionId: String?
    /// The stream that carries list changes and resource updates to the implicit session.
    private var notifications: Listeners.Stream?
    /// Discarding the rest of an over-long line, up to its newline.
    private var skipping = false
    /// Bytes at the start of the input already searched for a newline: a long line arriving in
    /// many reads is searched once, not once per read.
    private var searched = 0
    /// `readLines` is running: an answer finished synchronously must not re-enter it.
    private var parsing = false
    private var started = false
    /// No more input will be read (end of input, a signal): answer what is pending, then end.
    private(set) var draining = false
    /// Told when the input ends (end of file, or a read error); the owner calls `drain()`.
    var onInputEnded: (() -> Void)?
    /// Told once, when draining and nothing is pending any more.
    var onDrained: (() -> Void)?
    /// Told once, when the output is closed (by the client, or after the drain).
    var onOutputClosed: (() -> Void)?

    var isClosed: Bool { output.isClosed }
    var peerAddress: String? { nil }
    func sourceAddress(of request: HTTPRequest) -> String? { nil }
    var peerCertificateSubject: String? { nil }
    var hasHeaderLayer: Bool { false }
    var unanswered: Int { pending.count }

    init(input: any ByteStream, output: any ByteStream, outputBacklog: @escaping () -> Int, services: FrontServices,
         pipeline: RequestPipeline, methods: MethodTable, limits: Limits) {
        self.input = input
        self.output = output
        self.outputBacklog = outputBacklog
        self.services = services
        self.pipeline = pipeline
        self.methods = methods
        self.limits = limits
        head = .allocate(capacity: 1)
        UnsafeMutableRawPointer(head).initializeMemory(as: UInt8.self, repeating: 0,
                                                       count: MemoryLayout<sy_http_request_t>.size)
        withUnsafeMutableBytes(of: &head.pointee.known) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0xFF) }
        head.pointee.accept_flags = Int32(SY_ACCEPT_JSON | SY_ACCEPT_SSE)
        head.pointee.content_length = -1
        input.delegate = self
        output.delegate = self
    }

    deinit { head.deallocate() }

    /// Starts reading messages.
    func start() {
        guard !started else { return }
        started = true
        resume()
    }

    // MARK: reading

    func streamReadable(_ stream: any ByteStream) { readLines() }

    func streamClosed(_ stream: any ByteStream, status: Int32) {
        if stream === output {
            if status != 0 && status != UV_EOF.rawValue {
                services.log.info("standard output closed", [("status", uvErrorName(status))])
            }
            onOutputClosed?()
            onOutputClosed = nil
        } else {
            if status != 0 && status != UV_EOF.rawValue {
                services.log.warning("standard input failed", [("status", uvErrorName(status))])
            }
            if let ended = onInputEnded { ended() } else { drain() }
        }
    }

    /// End of input: a last message without its newline is still a message (what a client
    /// writes with `printf` rather than `echo`). Complete lines still buffered (reading had
    /// paused for the in-flight limit) go first: the input is over, so nothing waits for room.
    func streamReachedEnd(_ stream: any ByteStream) {
        guard stream === input, started, !draining, !parsing else { return }
        // An answer finished synchronously must not resume reading over what is handled here.
        parsing = true
        defer { parsing = false; skipping = false; searched = 0 }
        while true {
            let bytes = input.readable
            guard bytes.count > 0, let base = bytes.baseAddress else { return }
            let newline = memchr(base, 0x0A, bytes.count).map { $0 - UnsafeMutableRawPointer(mutating: base) }
            let length = newline ?? bytes.count
            if skipping {
                skipping = false // the rest of a refused line
            } else if length > limits.maxLine {
                refuseLongLine()
            } else {
                var end = length
                if end > 0, bytes[end - 1] == 0x0D { end -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
                if !Self.isBlank(line) { dispatch(line) }
            }
            input.consume(min(bytes.count, length + 1))
        }
    }

    private func readLines() {
        guard !parsing else { return }
        parsing = true
        defer { parsing = false }
        while !draining {
            if pending.count >= limits.maxInFlight || outputBacklog() > limits.maxOutputBacklog {
                input.stopReading() // `resume()` starts again once there is room
                return
            }
            let bytes = input.readable
            guard bytes.count > 0, let base = bytes.baseAddress else { return }
            let from = min(searched, bytes.count)
            let newline = memchr(base + from, 0x0A, bytes.count - from).map {
                $0 - UnsafeMutableRawPointer(mutating: base)
            }
            searched = newline == nil ? bytes.count : 0
            if skipping {
                input.consume(newline.map { $0 + 1 } ?? bytes.count)
                searched = 0
                if newline != nil { skipping = false }
                continue
            }
            guard let length = newline else {
                if bytes.count > limits.maxLine {
                    // Refused now, not once it is all here: the rest is skipped as it arrives.
                    refuseLongLine()
                    input.consume(bytes.count)
                    searched = 0
                    skipping = true
                }
                return
            }
            if length > limits.maxLine {
                refuseLongLine()
            } else {
                var end = length
                if end > 0, bytes[end - 1] == 0x0D { end -= 1 } // CRLF from a Windows client
                let line = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
                if !Self.isBlank(line) { dispatch(line) }
            }
            input.consume(length + 1)
        }
    }

    /// Reads again if it was paused and there is room now (and handles what is buffered).
    func resume() {
        guard started, !draining, !parsing else { return }
        guard pending.count < limits.maxInFlight, outputBacklog() <= limits.maxOutputBacklog else { return }
        readLines()
        if !draining && pending.count < limits.maxInFlight && outputBacklog() <= limits.maxOutputBacklog {
            input.startReading()
        }
    }

    private static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    private func refuseLongLine() {
        let slot = newSlot()
        pending[ObjectIdentifier(slot)] = (slot, nil)
        let e = ProtocolError(.invalidRequest, "Invalid Request: message larger than \(limits.maxLine) bytes",
                              httpStatus: 413)
        services.writer.error(AnswerTarget(slot: slot, connection: self, id: nil, format: .json), e)
    }

    private func newSlot() -> ResponseSlot {
        let slot = ResponseSlot()
        slot.lineFramed = true
        slot.startedNs = uv_hrtime()
        return slot
    }

    /// One message: through the pipeline, as the body of a request without headers.
    /// The line lies in the input's read buffer; a call retains its chunk for its arguments.
    private func dispatch(_ line: UnsafeRawBufferPointer) {
        guard let chunk = input.readChunk else { return }
        let slot = newSlot()
        let http = HTTPRequest(headPointer: head, bytes: line, chunk: chunk, body: line)
        var r = FrontRequest(http: http, slot: slot, connection: self, preferSSE: false, methods: methods)
        pending[ObjectIdentifier(slot)] = (slot, r.id)
        if let e = r.envelopeError {
            // JSON-RPC: an id that could not be read from an invalid message is null.
            services.writer.error(AnswerTarget(slot: slot, connection: self, id: nil, format: .json), e)
            return
        }
        if r.hasMethod, r.id == nil, r.method == "notifications/cancelled" { cancelled(r) }
        pipeline.run(&r)
    }

    /// `notifications/cancelled`: the request it names gets no further message. Its call is
    /// stopped here in the 2026-07-28 era (closing a stream is HTTP's way, not stdio's); in the
    /// handshake era the `Notifications` handler stops it through the session.
    private func cancelled(_ r: FrontRequest) {
        guard let rid = r.envelope.params(in: r.body)?["requestId"] else { return }
        let key = rid.compactJSONBytes()
        func same(_ id: [UInt8]?) -> Bool { id.flatMap { try? JSONValue.parse($0).compactJSONBytes() } == key }
        for (k, p) in pending where same(p.id) { silenced.insert(k) }
        for call in modernCalls.values where same(call.idJSON) {
            services.router.cancel(call, reason: "cancelled by the client")
        }
    }

    // MARK: writing (AnswerChannel)

    func finish(_ slot: ResponseSlot) {
        slot.ready = true
        write(slot)
        let key = ObjectIdentifier(slot)
        guard pending.removeValue(forKey: key) != nil else { return }
        silenced.remove(key)
        if draining {
            if pending.isEmpty, let done = onDrained {
                onDrained = nil
                done()
            }
        } else {
            resume()
        }
    }

    func push(_ slot: ResponseSlot) { write(slot) }

    /// Writes the slot's parts as they are (line-framed by the writer); a silenced slot's are dropped.
    private func write(_ slot: ResponseSlot) {
        let drop = output.isClosed || silenced.contains(ObjectIdentifier(slot))
        for part in slot.takeParts() {
            switch part {
            case .text(let t): if !drop { output.write(t) }
            case .bytes(let b): if !drop { output.write(b) }
            case .slice(let c, let b):
                if !drop { output.write(chunk: c, bytes: b) }
                sy_chunk_release(c)
            }
        }
    }

    /// `initialize` made the implicit session: list changes and resource updates go to it, on
    /// a stream of its own. A second `initialize` starts over: the previous session ends (its
    /// resource subscriptions and log level with it) and the stream follows the new one. Its id
    /// never left this process (stdio messages carry none), so it is forgotten outright rather
    /// than kept as revoked: tables do not grow with each `initialize`.
    func sessionIssued(_ id: String) {
        let previous = implicitSessionId
        implicitSessionId = id
        if let previous, previous != id { services.sessions.forget(previous) }
        if let notifications {
            notifications.filter.session = id
            return
        }
        var filter = Listeners.Filter()
        filter.tools = true
        filter.prompts = true
        filter.resources = true
        filter.session = id
        let stream = Listeners.Stream(connection: self, slot: newSlot(), subscriptionId: nil, filter: filter, key: nil)
        services.listeners.add(stream)
        notifications = stream
    }

    // MARK: ending

    /// Stops reading (end of input, or a signal) and answers what is pending; `onDrained`
    /// follows once nothing is. Open `subscriptions/listen` streams end here.
    func drain() {
        guard !draining else { return }
        draining = true
        input.stopReading()
        if !input.isClosed { input.close() }
        services.listeners.closeAll()
        if pending.isEmpty, let done = onDrained {
            onDrained = nil
            done()
        }
    }

    /// Closes the output once what is queued is written.
    func closeOutput() { output.closeWhenFlushed() }
}
