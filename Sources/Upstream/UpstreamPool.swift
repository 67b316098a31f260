import EventLoop
import MCPCore
import Supervisor

/// The copies of one upstream and the calls on them: the least busy ready copy takes the next
/// call, at most `maxConcurrency` at once per copy; the rest wait in a bounded queue. A copy
/// that dies is started again with the supervisor's restart policy (backoff); its calls end
/// with an error, or run again on another copy when the tool is read-only or idempotent. A
/// call past its deadline ends with an error and its copy is pinged: one that does not answer
/// is killed and replaced.
///
/// per-session mode: each client session gets a copy of its own (started on its first call),
/// at most `pool` at once; a copy idle for `idleMs` is stopped.
///
/// Thread: the loop thread.
final class UpstreamPool {
    final class Slot {
        let index: Int
        var copy: UpstreamCopy?
        var policy: RestartPolicy
        var restartTimer: Timer?
        /// Failures since the last ready copy, for the log and the start-up report.
        var lastFailure = ""
        init(index: Int, policy: RestartPolicy) { self.index = index; self.policy = policy }
    }

    let spec: UpstreamSpec
    let loop: Loop
    let log: Log
    private(set) var slots: [Slot] = []
    /// per-session mode: each session's copy.
    private(set) var sessions: [String: UpstreamCopy] = [:]
    /// Calls not yet on a copy, oldest first.
    private var queue: [UpstreamCall] = []
    /// Every call not finished (queued or running), by id.
    private var calls: [Int: UpstreamCall] = [:]
    private var nextToken = 0
    private var stopped = false
    private var sweeper: Timer?
    /// Copies being pinged after a timed-out call.
    private var probing = Set<ObjectIdentifier>()

    /// A copy became ready (the first one gives the catalog).
    var onCopyReady: ((UpstreamCopy) -> Void)?
    /// A copy said one of its lists changed (`notifications/tools/list_changed` and the like).
    var onListChanged: ((UpstreamCopy, String) -> Void)?
    /// A copy said a resource it was subscribed to changed (`notifications/resources/updated`).
    var onResourceUpdated: ((UpstreamCopy, String) -> Void)?
    /// A copy ended (any reason).
    var onCopyEnded: ((UpstreamCopy, String) -> Void)?

    init(spec: UpstreamSpec, loop: Loop, log: Log) {
        self.spec = spec; self.loop = loop; self.log = log
        let policy = RestartPolicy(intensity: 10, periodMs: 10_000, baseDelayMs: 100, maxDelayMs: 5_000)
        if spec.mode == .shared {
            slots = (0..<spec.pool).map { Slot(index: $0, policy: policy) }
        }
    }

    /// Starts every copy (shared) and the deadline sweep.
    func start() {
        let t = Timer(loop: loop) { [unowned self] in self.sweep() }
        t.start(after: 100, repeat: 100)
        t.unref()
        sweeper = t
        for slot in slots { startCopy(slot) }
    }

    /// Copies that are up, for the catalog and tests of health.
    var readyCopies: [UpstreamCopy] {
        (slots.compactMap(\.copy) + sessions.values).filter { $0.state == .ready }
    }

    private func wire(_ copy: UpstreamCopy) {
        copy.onReady = { [unowned self] c in
            if let slot = self.slots.first(where: { $0.copy === c }) { slot.lastFailure = "" }
            self.onCopyReady?(c)
            self.dispatch()
        }
        copy.onEnded = { [unowned self] c, reason in self.copyEnded(c, reason) }
        copy.onResponse = { [unowned self] c, call, outcome in self.answered(call, outcome) }
        copy.onNotification = { [unowned self] c, method, params in self.notification(c, method, params) }
        copy.onRequest = { [unowned self] c, id, method, params in self.serverRequest(c, id, method, params) }
    }

    private func startCopy(_ slot: Slot) {
        guard !stopped else { return }
        let copy = UpstreamCopy(spec: spec, label: "copy-\(slot.index)", loop: loop, log: log)
        wire(copy)
        slot.copy = copy
        copy.start()
    }

    private func copyEnded(_ copy: UpstreamCopy, _ reason: String) {
        probing.remove(ObjectIdentifier(copy))
        let lost = copy.calls.values.sorted { $0.id < $1.id }
        copy.calls.removeAll()
        for call in lost { callLost(call, reason) }
        releaseHeld(on: copy)
        onCopyEnded?(copy, reason)
        if let (key, _) = sessions.first(where: { $0.value === copy }) {
            sessions[key] = nil
            // Calls of that session still waiting had only this copy to run on.
            let orphans = queue.filter { $0.request.session == key }
            queue.removeAll { $0.request.session == key }
            for call in orphans {
                calls[call.id] = nil
                call.fail(-32603, "upstream \(spec.name): the session's copy ended before the call ran: \(reason)")
            }
        }
        guard let slot = slots.first(where: { $0.copy === copy }) else { dispatch(); return }
        slot.copy = nil
        slot.lastFailure = reason
        guard !stopped else { return }
        let decision = slot.policy.onExit(clean: false, upForMs: loop.now &- copy.lastStarted, now: loop.now,
                                          random: Double.random(in: 0..<1))
        let after: UInt64
        switch decision {
        case .restart(let ms): after = ms
        case .stop: after = 0
        case .giveUp(let n, let period):
            // The front goes on without this copy; try again later rather than never.
            log.error("copy keeps failing (\(n) restarts within \(period) ms); retrying in 30 s",
                      [("copy", copy.label), ("reason", reason)])
            slot.policy = RestartPolicy(intensity: 10, periodMs: 10_000, baseDelayMs: 100, maxDelayMs: 5_000)
            after = 30_000
        }
        log.info("restarting copy", [("copy", copy.label), ("afterMs", String(after))])
        slot.restartTimer?.close()
        slot.restartTimer = Timer.once(loop: loop, after: after) { [unowned self] in
            slot.restartTimer = nil
            self.startCopy(slot)
        }
        failQueuedIfNoCopy()
        dispatch()
    }

    /// Every slot waiting for a restart and none starting: the queued calls cannot run soon.
    private func failQueuedIfNoCopy() {
        guard spec.mode == .shared, slots.allSatisfy({ $0.copy == nil }), !queue.isEmpty else { return }
        let why = slots.first(where: { !$0.lastFailure.isEmpty })?.lastFailure ?? "no copy is running"
        let waiting = queue
        queue.removeAll()
        for call in waiting {
            calls[call.id] = nil
            call.fail(-32603, "upstream \(spec.name) has no running copy: \(why)")
        }
    }

    private func callLost(_ call: UpstreamCall, _ reason: String) {
        call.serverRequests.removeAll()
        call.upstreamID = nil
        call.copy = nil
        if call.request.retryable, call.attempts < 2, loop.now < call.deadline, spec.mode == .shared, !stopped {
            log.info("running a call again on another copy", [("method", call.method), ("lost", reason)])
            queue.insert(call, at: 0)
            return
        }
        calls[call.id] = nil
        call.fail(-32603, "upstream \(spec.name): \(reason); the call did not complete")
    }

    // MARK: calls

    func submit(_ request: UpstreamCall.Request) {
        let call = UpstreamCall(request, deadline: loop.now + spec.timeoutMs)
        guard !stopped else { call.fail(-32002, "upstream \(spec.name) is shutting down"); return }
        if spec.mode == .perSession {
            guard let key = request.session else {
                // 2026-07-28 has no session to give a copy to (README, "Pooling stdio MCP servers").
                call.fail(-32600, "upstream \(spec.name) runs one copy per client session (mode per-session), "
                          + "and a 2026-07-28 request has no session: connect with initialize (MCP 2025-11-25 "
                          + "or earlier), or set the upstream's mode to shared")
                return
            }
            guard sessionCopy(key) != nil else {
                call.fail(-32000, "upstream \(spec.name): all \(spec.pool) per-session copies are in use; retry later")
                return
            }
        }
        guard queue.count < spec.maxQueued || hasRoom(for: call) else {
            call.fail(-32000, "upstream \(spec.name) is overloaded: \(queue.count) calls already waiting for a copy")
            return
        }
        calls[call.id] = call
        queue.append(call)
        if spec.mode == .shared && slots.allSatisfy({ $0.copy == nil }) { failQueuedIfNoCopy(); return }
        dispatch()
    }

    private func hasRoom(for call: UpstreamCall) -> Bool { copy(for: call) != nil }

    /// The copy that should take `call` now, if any has room.
    private func copy(for call: UpstreamCall) -> UpstreamCopy? {
        if spec.mode == .perSession {
            guard let key = call.request.session, let c = sessions[key], c.state == .ready,
                  c.busy < spec.maxConcurrency else { return nil }
            return c
        }
        var best: UpstreamCopy?
        for slot in slots {
            guard let c = slot.copy, c.state == .ready, c.busy < spec.maxConcurrency else { continue }
            if best == nil || c.busy < best!.busy { best = c }
        }
        return best
    }

    private func dispatch() {
        guard !queue.isEmpty else { return }
        var waiting: [UpstreamCall] = []
        var i = 0
        while i < queue.count {
            let call = queue[i]
            i += 1
            guard let c = copy(for: call) else {
                // Shared: no copy has room for this call, so none has for the ones behind it.
                if spec.mode == .shared { i -= 1; break }
                waiting.append(call)
                continue
            }
            call.attempts += 1
            c.send(call, params: call.upstreamParams)
        }
        queue = waiting + queue[i...]
    }

    private func answered(_ call: UpstreamCall, _ outcome: JSONRPCLines.Outcome) {
        // On a per-session copy a call may carry a request the copy made for another call of its
        // session (attributedCall): its answer waits until the client has answered that, while
        // the copy has calls in flight, so the client's answer still has where to go.
        if holds, let copy = call.copy, !call.serverRequests.isEmpty, !copy.calls.isEmpty, sessionKey(of: copy) != nil {
            call.held = outcome
            return
        }
        finish(call, outcome)
    }

    private func finish(_ call: UpstreamCall, _ outcome: JSONRPCLines.Outcome) {
        calls[call.id] = nil
        call.held = nil
        if let copy = call.copy { refuseServerRequests(call, on: copy, why: "the call they belong to has ended") }
        switch outcome {
        case .result(let r): call.send(.finished(.success(r)))
        case .error(let code, let message, let data):
            call.send(.finished(.failure(UpstreamFailure(code: code, message: message, data: data))))
        }
        if let copy = call.copy { releaseHeld(on: copy) }
        dispatch()
    }

    /// A held answer goes out once the requests its call carries are answered or withdrawn.
    private func releaseIfAnswered(_ call: UpstreamCall) {
        if let held = call.held, call.serverRequests.isEmpty { finish(call, held) }
    }

    /// Answers held on a per-session copy (`answered`); nothing is held on a shared one.
    private var holds: Bool { spec.mode == .perSession }

    /// Answers held for their requests (`answered`) go out once the copy has no call in flight
    /// (the copy asked for a call that is over, or the copy ended); `releaseIfAnswered` and the
    /// deadline sweep release them one by one.
    private func releaseHeld(on copy: UpstreamCopy) {
        guard holds, copy.calls.isEmpty else { return }
        for call in calls.values where call.copy === copy {
            if let held = call.held { finish(call, held) }
        }
    }

    /// The client abandoned the call (cancelled, timed out at the front, or the handler ended).
    func cancel(_ callID: Int) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        queue.removeAll { $0 === call }
        if let copy = call.copy {
            refuseServerRequests(call, on: copy, why: "the call they belong to was cancelled")
            copy.abandon(call, reason: "cancelled by the client")
            releaseHeld(on: copy)
        }
        call.fail(-32800, "request cancelled")
        dispatch()
    }

    /// The client's answer to a server request made during `callID`.
    func answer(_ callID: Int, token: Int, _ outcome: JSONRPCLines.Outcome) {
        guard let call = calls[callID], let id = call.serverRequests.removeValue(forKey: token),
              let copy = call.copy, copy.state == .ready else { return }
        copy.respond(id, outcome)
        releaseIfAnswered(call)
    }

    private func refuseServerRequests(_ call: UpstreamCall, on copy: UpstreamCopy, why: String) {
        for id in call.serverRequests.values {
            copy.respond(id, .error(code: -32603, message: why, data: nil))
        }
        call.serverRequests.removeAll()
    }

    // MARK: what copies send

    private func notification(_ copy: UpstreamCopy, _ method: String, _ params: JSONValue?) {
        switch method {
        case "notifications/progress":
            guard case .string(let token)? = params?["progressToken"], token.hasPrefix("sy-"),
                  let id = Int(token.dropFirst(3)), let call = calls[id], call.copy === copy,
                  let progress = params?["progress"]?.numberValue else { return }
            call.send(.progress(progress: progress, total: params?["total"]?.numberValue,
                                message: params?["message"]?.stringValue))
        case "notifications/message":
            let level = params?["level"]?.stringValue ?? "info"
            let data = params?["data"] ?? .null
            if let call = attributedCall(on: copy) {
                call.send(.log(level: level, data: data, logger: params?["logger"]?.stringValue))
            } else {
                log.info("log message from the copy", [("copy", copy.label), ("level", level),
                                                       ("data", data.compactJSON())])
            }
        case "notifications/tools/list_changed", "notifications/prompts/list_changed",
             "notifications/resources/list_changed":
            onListChanged?(copy, method)
        case "notifications/resources/updated":
            if let uri = params?["uri"]?.stringValue { onResourceUpdated?(copy, uri) }
        case "notifications/cancelled":
            // The copy withdrew a request it made of the client: the client is told, and a late
            // answer is not sent back.
            // A held call (its answer waiting for a request it carries) is off the copy already.
            guard let withdrawn = params?["requestId"] else { return }
            for call in calls.values where call.copy === copy {
                guard let token = call.serverRequests.first(where: { $0.value == withdrawn })?.key else { continue }
                call.serverRequests[token] = nil
                call.send(.withdrawn(token: token))
                releaseIfAnswered(call)
            }
        default:
            break // unknown: nothing to do here
        }
    }

    private func serverRequest(_ copy: UpstreamCopy, _ id: JSONValue, _ method: String, _ params: JSONValue?) {
        guard ["elicitation/create", "sampling/createMessage", "roots/list"].contains(method) else {
            copy.respond(id, .error(code: -32601, message: "Method not found: \(method)", data: nil))
            return
        }
        guard let call = attributedCall(on: copy) else {
            let why = copy.calls.isEmpty ? "no call is in flight on this copy"
                : "\(copy.calls.count) calls are in flight on this shared copy, so the client to ask is "
                    + "ambiguous (maxConcurrency 1 or mode per-session avoids it)"
            log.warning("refused a server-to-client request", [("copy", copy.label), ("method", method), ("why", why)])
            copy.respond(id, .error(code: -32603, message: "Switchyard cannot deliver \(method): \(why)", data: nil))
            return
        }
        // As for remote upstreams: a copy asking faster than the client answers is refused.
        guard call.serverRequests.count < UpstreamCall.maxServerRequests else {
            copy.respond(id, .error(code: -32603, message: "Switchyard cannot deliver \(method): "
                                    + "\(UpstreamCall.maxServerRequests) requests of this call wait for the client",
                                    data: nil))
            return
        }
        nextToken += 1
        call.serverRequests[nextToken] = id
        call.send(.serverRequest(token: nextToken, method: method, params: params ?? .object([:])))
    }

    /// The call a copy's log message or request belongs to, where the client cannot be wrong.
    /// stdio carries no link from either to a request, so: the one call in flight; or, on a copy
    /// of one session (mode per-session), one of its calls, since every one is that session's:
    /// the newest that is not already waiting for an answer of its own (a tool usually asks soon
    /// after it is called, and one waiting for an answer is not asking again), else the newest.
    /// If that call ends before the client answers, the request gets an error. Nil otherwise: a
    /// shared copy with several calls in flight could be asking for any of them.
    private func attributedCall(on copy: UpstreamCopy) -> UpstreamCall? {
        if copy.calls.count == 1 { return copy.calls.values.first }
        guard copy.calls.count > 1, sessionKey(of: copy) != nil else { return nil }
        let newestFirst = copy.calls.sorted { $0.key > $1.key }.map(\.value)
        return newestFirst.first { $0.serverRequests.isEmpty } ?? newestFirst.first
    }

    // MARK: per-session copies

    /// The session key `copy` serves (per-session mode), nil for a shared copy or one that no
    /// longer belongs to a session.
    func sessionKey(of copy: UpstreamCopy) -> String? {
        sessions.first { $0.value === copy }?.key
    }

    /// The session's copy, started if needed; nil when every per-session copy is busy.
    private func sessionCopy(_ key: String) -> UpstreamCopy? {
        if let c = sessions[key], c.state == .starting || c.state == .ready { return c }
        if sessions.count >= spec.pool {
            // Make room: the copy idle longest goes.
            guard let (oldKey, idle) = sessions.filter({ isIdle($0.key, $0.value) })
                .min(by: { $0.value.lastUsed < $1.value.lastUsed }) else { return nil }
            sessions[oldKey] = nil
            idle.stop()
        }
        let copy = UpstreamCopy(spec: spec, label: "session-\(key.prefix(8))", loop: loop, log: log)
        wire(copy)
        sessions[key] = copy
        copy.start()
        return copy
    }

    /// A session's copy that may be stopped: up, no call on it and none waiting for it.
    private func isIdle(_ key: String, _ copy: UpstreamCopy) -> Bool {
        copy.state == .ready && copy.busy == 0 && !queue.contains { $0.request.session == key }
    }

    // MARK: deadlines

    private func sweep() {
        let now = loop.now
        var expired: [UpstreamCall] = []
        for call in calls.values where now >= call.deadline { expired.append(call) }
        for call in expired {
            // Finishing a held call can release others of this list (releaseHeld).
            guard calls[call.id] === call else { continue }
            if let held = call.held { finish(call, held); continue }
            calls[call.id] = nil
            queue.removeAll { $0 === call }
            if let copy = call.copy {
                refuseServerRequests(call, on: copy, why: "the call they belong to timed out")
                copy.abandon(call, reason: "timed out")
                releaseHeld(on: copy)
                probe(copy)
                call.fail(-32003, "upstream \(spec.name) did not answer within \(spec.timeoutMs) ms")
            } else {
                call.fail(-32003, "upstream \(spec.name): no copy could take the call within \(spec.timeoutMs) ms")
            }
        }
        if spec.mode == .perSession {
            for (key, copy) in sessions where now &- copy.lastUsed >= spec.idleMs && isIdle(key, copy) {
                log.info("stopping an idle session copy", [("copy", copy.label)])
                sessions[key] = nil
                copy.stop()
            }
        }
    }

    /// After a timed-out call: a copy that does not answer a ping within 5 s is hung; replace it.
    private func probe(_ copy: UpstreamCopy) {
        let key = ObjectIdentifier(copy)
        guard copy.state == .ready, !probing.contains(key) else { return }
        probing.insert(key)
        var answered = false
        copy.request("ping", nil) { [weak self] _ in answered = true; self?.probing.remove(key) }
        Timer.once(loop: loop, after: 5_000, unref: true) { [weak self, weak copy] in
            guard let self, let copy, !answered, copy.state == .ready else { return }
            self.probing.remove(key)
            copy.kill("did not answer a ping within 5 s after a call timed out (hung)")
        }
    }

    // MARK: stopping

    /// Stops every copy; calls still waiting end with an error.
    func stop() {
        guard !stopped else { return }
        stopped = true
        sweeper?.close()
        sweeper = nil
        for slot in slots { slot.restartTimer?.close(); slot.restartTimer = nil }
        let pending = calls.values
        calls.removeAll()
        queue.removeAll()
        for call in pending { call.fail(-32002, "upstream \(spec.name) is shutting down") }
        for c in slots.compactMap(\.copy) + sessions.values { c.stop() }
    }

    /// Copies still running (the bridge waits for them to exit after `stop`).
    var running: Int {
        (slots.compactMap(\.copy) + sessions.values).filter { $0.state != .dead }.count
    }
}
