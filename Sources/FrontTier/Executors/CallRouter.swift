import CSupport
import EventLoop
import MCPCore
import WireProtocol

/// Gets each tools/call answered once, whatever happens to executors: picks the executor,
/// queues (bounded) when all are busy or restarting, enforces the call timeout (cancelling the
/// call in the executor), retries calls of read-only/idempotent tools once on another executor
/// when theirs dies, sheds calls while a tool's breaker is open, and serves the last good
/// result of `staleOnError` tools while no executor can answer (stale-while-error).
/// Thread: the loop thread.
final class CallRouter {
    let loop: Loop
    let pool: ExecutorPool
    let options: FrontOptions
    let log: Log

    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    /// Calls sent to an executor and not answered yet, each at its `inFlightIndex`: added and
    /// removed without hashing (a dictionary by identity cost about 600 instructions a call).
    @exclusivity(unchecked) private var inFlight: [PendingCall] = []
    /// Calls by session and request id, for `notifications/cancelled`.
    /// Calls by the FNV-1a hash of "session id|request id" (the key executors know them by too).
    @exclusivity(unchecked) private var byCancelKey: [UInt64: PendingCall] = [:]
    @exclusivity(unchecked) private var waiting: [PendingCall] = []
    @exclusivity(unchecked) private var waitingHead = 0
    @exclusivity(unchecked) private var toolBreakers: [String: CircuitBreaker] = [:]
    private var stale = StaleResults()
    private var sweep: Timer?
    @exclusivity(unchecked) private(set) var retries = 0
    @exclusivity(unchecked) private(set) var timeouts = 0
    @exclusivity(unchecked) private(set) var staleAnswers = 0

    init(loop: Loop, pool: ExecutorPool, options: FrontOptions, log: Log) {
        self.loop = loop
        self.pool = pool
        self.options = options
        self.log = log
        pool.calls = self
    }

    func start() {
        let t = Timer(loop: loop) { [unowned self] in self.expire() }
        t.start(after: 50, repeat: 50)
        t.unref()
        sweep = t
    }

    func stop() { sweep?.close(); sweep = nil }

    var queued: Int { waiting.count - waitingHead }
    var outstanding: Int { inFlight.count }

    /// The deadline of a new call to `tool`.
    func deadline(for tool: String, now: UInt64) -> UInt64 {
        // Both lookups by name are skipped when nothing is configured per tool (the usual case).
        let ms = (options.toolTimeoutsMs.isEmpty ? nil : options.toolTimeoutsMs[tool])
            ?? (pool.catalog.anyToolTimeout ? pool.traits[tool]?.timeoutMs : nil) ?? options.callTimeoutMs
        return now + ms
    }

    func submit(_ call: PendingCall) {
        if call.attempts == 0 {
            // A name the CALL's 16-bit length field cannot carry is the client's error, answered
            // here, before it waits for an executor.
            do throws(CallPayload.EncodeError) {
                try CallPayload.checkLengths(nameLength: call.tool.utf8.count, metaLength: call.context.count)
            } catch {
                finishWith(call, ProtocolError(.invalidParams, "Invalid params: \(error)"))
                return
            }
        }
        if let k = call.cancelKey, call.attempts == 0 { byCancelKey[k] = call }
        let now = loop.now
        // No lookup by name until some tool has failed (the usual case).
        if !toolBreakers.isEmpty, var b = toolBreakers[call.tool] {
            let ok = b.allow(now: now)
            toolBreakers[call.tool] = b
            if !ok { shed(call, why: "tool \(call.tool) is failing repeatedly; shedding calls for now"); return }
        }
        if let link = pool.pick(tool: call.tool, kind: call.kind, now: now) {
            send(call, on: link)
            return
        }
        switch pool.availability(tool: call.tool, kind: call.kind, now: now) {
        case .unknownTool:
            switch call.kind {
            case .tool: finishWith(call, ProtocolError(.invalidParams, "Unknown tool: \(call.tool)"))
            case .prompt: finishWith(call, ProtocolError(.invalidParams, "Unknown prompt: \(call.tool)"))
            case .resource:
                finishWith(call, ProtocolError(.invalidParams, "Resource not found: \(call.tool)",
                                               dataJSON: "{\"uri\":\(JSONValue.quote(call.tool))}"))
            case .completion: finishWith(call, ProtocolError(.methodNotFound, "Method not found: completion/complete"))
            }
        case .allShedding:
            shed(call, why: "every executor of \(call.tool) is failing; shedding calls for now")
        case .noExecutor, .allBusy:
            guard queued < options.maxQueuedCalls else {
                shed(call, why: "server overloaded: \(queued) calls already waiting for an executor")
                return
            }
            waiting.append(call)
        }
    }

    private func send(_ call: PendingCall, on link: FrontLink) {
        do throws(CallPayload.EncodeError) {
            try link.send(call)
        } catch {
            finishWith(call, ProtocolError(.invalidParams, "Invalid params: \(error)"))
            return
        }
        if call.inFlightIndex < 0 {
            call.inFlightIndex = inFlight.count
            inFlight.append(call)
        }
    }

    /// Moves waiting calls onto executors that have room again, oldest first. Called on every
    /// completion, so it must not walk a long queue each time: it stops as soon as no link can
    /// take a call, and asks `pick` at most once per tool and pass.
    func dispatchWaiting() {
        let now = loop.now
        guard queued > 0, pool.anyLinkCanTake(now: now) else { return }
        var skipped: [PendingCall] = [] // no executor of theirs can take them, but others have room
        var noRoom: Set<String> = []    // kind/tool pairs `pick` found nothing for in this pass
        var i = waitingHead
        while i < waiting.count {
            let call = waiting[i]
            if call.finished { i += 1; continue }
            let key = call.kind == .tool ? call.tool : "\(call.kind.rawValue):\(call.tool)"
            if !noRoom.contains(key),
               let link = pool.pick(tool: call.tool, kind: call.kind, now: now, avoid: call.link) {
                i += 1
                send(call, on: link)
            } else if !pool.anyLinkCanTake(now: now) {
                break
            } else {
                noRoom.insert(key)
                skipped.append(call)
                i += 1
            }
        }
        if skipped.isEmpty {
            waitingHead = i
            if waitingHead == waiting.count { waiting.removeAll(keepingCapacity: true); waitingHead = 0 }
            else if waitingHead > 1024 && waitingHead * 2 > waiting.count {
                waiting.removeFirst(waitingHead)
                waitingHead = 0
            }
        } else {
            waiting = skipped + waiting[i...]
            waitingHead = 0
        }
    }

    // MARK: what executors send (ExecutorPool → here → the call's responder)

    /// A call's event (progress, log) while it runs.
    func event(_ call: PendingCall, type: FrameType, payload: [UInt8]) {
        if !call.finished { call.responder.event(call, type: type, payload: payload) }
    }

    /// A call's tool asks the client something.
    func clientRequest(_ call: PendingCall, link: FrontLink, payload: [UInt8]) {
        call.responder.clientRequest(call, link: link, payload: payload)
    }

    func delivered(_ call: PendingCall, _ type: FrameType, _ payload: UnsafeRawBufferPointer,
                   _ chunk: UnsafeMutablePointer<sy_chunk_t>?) {
        removeInFlight(call)
        call.link?.breaker.recordSuccess()
        if !toolBreakers.isEmpty { toolBreakers[call.tool]?.recordSuccess() }
        guard call.finish() else { return }
        forget(call)
        if type == .result, pool.catalog.anyStaleOnError, pool.traits[call.tool]?.staleOnError == true {
            stale.store(call.cacheKey, Array(payload))
        }
        call.responder.answered(call, type: type, payload: payload, chunk: chunk)
    }

    func lost(_ call: PendingCall, executor: String) {
        removeInFlight(call)
        // The executor failed, not the tool: only the executor's breaker counts it.
        call.link?.breaker.recordFailure(now: loop.now)
        guard !call.finished else { return }
        if pool.traits[call.tool]?.retryable == true, call.attempts < 2, loop.now < call.deadline {
            retries += 1
            log.info("retrying call on another executor", [("tool", call.tool), ("lost", executor)])
            submit(call)
            return
        }
        if serveStale(call) { return }
        finishWith(call, ProtocolError(.internalError,
                                       "executor link lost: \(executor) went away during the call to \(call.tool)"))
    }

    /// A timeout: both the executor and the tool are suspect.
    private func recordFailure(_ call: PendingCall) {
        let now = loop.now
        call.link?.breaker.recordFailure(now: now)
        var b = toolBreakers[call.tool]
            ?? CircuitBreaker(failureThreshold: options.breakerFailures, openMs: options.breakerOpenMs)
        b.recordFailure(now: now)
        toolBreakers[call.tool] = b
    }

    /// Cancels calls past their deadline; answers waiting calls that found no executor in time.
    private func expire() {
        let now = loop.now
        for call in inFlight where now >= call.deadline {
            removeInFlight(call)
            timeouts += 1
            recordFailure(call)
            call.link?.cancel(call)
            let ms = call.deadline - call.startedAt
            log.warning("call timed out; cancelled in the executor",
                        [("tool", call.tool), ("executor", call.link?.name ?? "?"), ("ms", String(ms))])
            if !serveStale(call) {
                finishWith(call, ProtocolError(.requestTimeout, "Tool call timed out after \(ms) ms: \(call.tool)"))
            }
        }
        if queued > 0 {
            // Also compacts away calls that ended while waiting (cancelled, client gone): they
            // must not count against the queue limit.
            var expired = false
            for i in waitingHead..<waiting.count {
                let call = waiting[i]
                if call.finished { expired = true; continue }
                if now >= call.deadline || now - call.startedAt >= options.maxQueueWaitMs {
                    expired = true
                    if !serveStale(call) {
                        let why = "no executor could take the call to \(call.tool) in time; retry shortly"
                        finishWith(call, ProtocolError(.overloaded, why, httpStatus: 503))
                    }
                }
            }
            if expired {
                // Entries before the head were sent already: drop them with the expired ones.
                waiting = waiting[waitingHead...].filter { !$0.finished }
                waitingHead = 0
            }
        }
    }

    private func shed(_ call: PendingCall, why: String) {
        if serveStale(call) { return }
        finishWith(call, ProtocolError(.overloaded, why, httpStatus: 503))
    }

    /// Answers with the last good result, flagged stale, when the tool is `staleOnError` and one exists.
    private func serveStale(_ call: PendingCall) -> Bool {
        guard pool.traits[call.tool]?.staleOnError == true, let result = stale.lookup(call.cacheKey), call.finish() else {
            return false
        }
        forget(call)
        staleAnswers += 1
        call.resultCache = nil // a stale answer is never kept as a fresh one
        StaleResults.flagged(result).withUnsafeBytes {
            call.responder.answered(call, type: .result, payload: $0, chunk: nil)
        }
        return true
    }

    private func finishWith(_ call: PendingCall, _ e: ProtocolError) {
        guard call.finish() else { return }
        forget(call)
        call.responder.failed(call, e)
    }

    private func forget(_ call: PendingCall) {
        if let k = call.cancelKey, byCancelKey[k] === call { byCancelKey[k] = nil }
    }

    /// The client cancelled a request (`notifications/cancelled`), or went away (2026-07-28
    /// streams): the executor is told to stop; the answer, if any, is an error nobody waits for.
    @discardableResult
    func cancel(key: String, reason: String) -> Bool {
        guard let call = byCancelKey[CallRouter.cancelHashValue(key.utf8)] else {
            // The call runs through another front: every executor is told; the one running it
            // stops it, and that front answers.
            let payload = Array("{\"cancelKey\":\"\(CallRouter.cancelHash(key))\"}".utf8)
            for link in pool.allLinks where link.isUsable { link.conn.writeFrame(.cancel, stream: 0, payload: payload) }
            return false
        }
        cancel(call, reason: reason)
        return true
    }

    /// The key executors know a client request by: FNV-1a of session id and request id, in hex.
    static func cancelHash(_ key: String) -> String { String(cancelHashValue(key.utf8), radix: 16) }

    /// FNV-1a (64 bits) of the bytes.
    static func cancelHashValue(_ bytes: some Sequence<UInt8>) -> UInt64 { FNV1a.hash(bytes) }

    /// `cancelHashValue(sessionId + "|" + idJSON)`, without building the key: FNV-1a over the
    /// string's UTF-8 in place (iterating `String.utf8` cost ten times as much per byte).
    static func cancelHashValue(_ sessionId: String, _ idJSON: [UInt8]) -> UInt64 {
        cancelHashValue(sessionHash: FNV1a.hash(sessionId), idJSON)
    }

    /// The same from `FNV1a.hash(sessionId)`, which a caller that also needs the session's
    /// CALL-context key computes once (ExecutorCalls).
    static func cancelHashValue(sessionHash: UInt64, _ idJSON: [UInt8]) -> UInt64 {
        FNV1a.hash(idJSON, from: FNV1a.hash(CollectionOfOne(UInt8(ascii: "|")), from: sessionHash))
    }

    /// Appends a cancel hash (`cancelHashValue`) as the executors read it: lowercase hex without
    /// leading zeros, as String(h, radix: 16) writes it.
    static func appendCancelHash(_ h: UInt64, to out: inout [UInt8]) {
        out.append(hex: h)
    }

    /// Takes a call out of `inFlight` (nothing when it is not there): the last call moves
    /// into its place.
    private func removeInFlight(_ call: PendingCall) {
        let i = call.inFlightIndex
        guard i >= 0, i < inFlight.count, inFlight[i] === call else { return }
        call.inFlightIndex = -1
        let last = inFlight.removeLast()
        if i < inFlight.count {
            inFlight[i] = last
            last.inFlightIndex = i
        }
    }

    func cancel(_ call: PendingCall, reason: String) {
        removeInFlight(call)
        call.link?.cancel(call)
        finishWith(call, ProtocolError(.requestCancelled, "request cancelled: \(reason)"))
    }

    /// A line for /healthz.
    var statusJSON: String {
        let open = toolBreakers.filter { $0.value.isOpen(now: loop.now) }.keys.sorted().map { JSONValue.quote($0) }
        return "{\"inFlight\":\(inFlight.count),\"queued\":\(queued),\"retries\":\(retries),"
            + "\"timeouts\":\(timeouts),\"staleAnswers\":\(staleAnswers),"
            + "\"openToolBreakers\":[\(open.joined(separator: ","))]}"
    }
}
