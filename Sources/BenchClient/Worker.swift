import CLibUV
import EventLoop
import Histogram

/// One loop thread's share of the load: its clients, its part of the rate, its histograms.
///
/// Phases, by the monotonic clock: set-up (connect, initialize, initialized) → wait for the
/// coordinator's start time → warm-up (sent, not recorded) → measured window → drain (no new
/// requests; answers awaited up to a limit) → every connection closed, the loop ends.
///
/// Thread: created and run on its own thread; talks to others only through `SharedProgress`.
final class Worker {
    let id: Int
    let config: BenchConfig
    let template: RequestTemplate
    let shared: SharedProgress
    let loop = Loop()
    private var clients: [Client] = []
    private var tick: Timer!
    /// Open loop: wakes the loop when the next request is due, to the microsecond.
    private var due: PreciseTimer?
    /// When `due` is armed for (0: not armed), so a wake-up already set is not set again.
    private var dueAt: UInt64 = 0
    /// The finest step of `due`: requests due within it leave together. One wake-up per request
    /// cost the generator a core at 30,000 req/s on the cores it shares with the server.
    private static let dueStepNs: UInt64 = 200_000
    private var slowTick: Timer!

    private enum Phase { case setup, waiting, running, draining, done }
    private var phase: Phase = .setup
    private var startAt: UInt64 = 0
    private var measureStart: UInt64 = 0
    private var measureEnd: UInt64 = 0
    private var drainDeadline: UInt64 = 0
    private let timeoutNs: UInt64

    // Set-up.
    private var nextToOpen = 0
    private var settingUp = 0
    private var setupBegan: UInt64 = 0

    // Open loop: per-worker rate, the schedule and what waits for a free client.
    private let intervalNs: Double
    private var scheduled: UInt64 = 0
    private var backlog = Ring<UInt64>()
    private var idleClients = Ring<Int>()

    private var nextID: UInt64 = 1
    private let idBase: UInt64
    private var inFlight = 0
    private var verifySent = false

    var result: WorkerResult

    init(id: Int, config: BenchConfig, template: RequestTemplate, shared: SharedProgress,
         connections: Range<Int>, threads: Int) {
        self.id = id
        self.config = config
        self.template = template
        self.shared = shared
        timeoutNs = UInt64(config.timeout * 1e9)
        intervalNs = config.rate.map { 1e9 * Double(threads) / $0 } ?? 0
        idBase = UInt64(id) * 1_000_000_000_000
        result = WorkerResult(histogram: Latency.histogram(), intervals: [], intervalErrors: [])
        for i in connections {
            let src = config.sourceAddresses.isEmpty ? nil : config.sourceAddresses[i % config.sourceAddresses.count]
            clients.append(Client(index: clients.count, source: src, worker: self))
        }
    }

    /// Runs the whole life of this worker on the calling thread.
    func run() {
        tick = Timer(loop: loop) { [unowned self] in self.onTick() }
        tick.start(after: 1, repeat: 1)
        slowTick = Timer(loop: loop) { [unowned self] in self.onSlowTick() }
        slowTick.start(after: 100, repeat: 100)
        if config.mode == .open {
            due = PreciseTimer(loop: loop) { [unowned self] in
                self.dueAt = 0
                if self.phase == .running { self.schedule(uv_hrtime()) }
            }
        }
        setupBegan = uv_hrtime()
        openMore()
        loop.run()
        shared.results.withLock { $0.append(result) }
        shared.workersFinished.add(1, ordering: .releasing)
    }

    // MARK: set-up

    private func openMore() {
        while phase == .setup, settingUp < config.setupConcurrency, nextToOpen < clients.count {
            let c = clients[nextToOpen]
            nextToOpen += 1
            settingUp += 1
            open(c)
        }
        if phase == .setup, settingUp == 0, nextToOpen == clients.count { setupDone() }
    }

    private func setupDone() {
        phase = .waiting
        result.setupSeconds = Double(uv_hrtime() - setupBegan) / 1e9
        result.sessionsOpened = clients.filter { $0.established }.count
        shared.setupFinished.add(1, ordering: .releasing)
    }

    /// A client finished its set-up, well or not.
    private func setupStepDone(_ c: Client, ok: Bool) {
        guard phase == .setup, !c.setupCounted else { return }
        c.setupCounted = true
        settingUp -= 1
        if ok {
            shared.sessions.add(1, ordering: .relaxed)
        } else {
            result.setupErrors += 1
            c.state = .dead
        }
        if ok, config.newConnectionPerRequest, let conn = c.conn {
            // Churn: the session stays, the connection goes; every measured call opens its own.
            c.conn = nil
            c.state = .ready
            conn.close()
        }
        openMore()
    }

    // MARK: connections

    private func open(_ c: Client) {
        c.state = .connecting
        result.connectionsOpened += 1
        TCPConnector.connect(loop: loop, host: config.host, port: config.port, from: c.source) { [unowned self] r in
            switch r {
            case .success(let conn):
                if self.phase == .done { conn.close(); return }
                c.conn = conn
                conn.delegate = c
                conn.readSize = 4096  // answers are small; a large one reserves its full length
                conn.startReading()
                self.connected(c)
            case .failure(let e):
                if self.phase == .done { return }
                c.state = .down
                self.failed(c, kind: "connect", sampleText: e.description)
            }
        }
    }

    private func connected(_ c: Client) {
        if config.era == .session && !config.skipInitialize && !c.established {
            c.state = .setup
            sendInitialize(c)
        } else {
            c.established = true
            c.state = .ready
            usable(c)
        }
    }

    /// The client can take a call (its connection may still be closed in churn mode).
    private func usable(_ c: Client) {
        if phase == .setup { setupStepDone(c, ok: true); return }
        if let at = c.pending {
            c.pending = nil
            send(c, scheduledAt: at)
            return
        }
        switch phase {
        case .setup, .waiting, .draining, .done:
            return
        case .running:
            switch config.mode {
            case .closed:
                if canSend() { send(c, scheduledAt: uv_hrtime()) }
            case .open:
                if let at = backlog.popFirst() { send(c, scheduledAt: at) } else { idleClients.append(c.index) }
            case .idle:
                return
            }
        }
    }

    private func canSend() -> Bool {
        uv_hrtime() < measureEnd && result.sent < cap
    }

    /// This worker's share of --max-requests.
    private var cap: Int { config.maxRequests / config.threads }

    private var capReached: Bool { config.mode == .open ? Int(scheduled) >= cap : result.sent >= cap }

    // MARK: requests

    private func write(_ c: Client, head: [UInt8], body: [UInt8]) {
        guard let conn = c.conn else { return }
        conn.write(head)
        conn.write("Content-Length: \(body.count)\r\n\r\n")
        conn.write(body)
    }

    private func sendInitialize(_ c: Client) {
        c.step = .initialize
        c.requestID = idBase + nextID; nextID += 1
        c.sentAt = uv_hrtime()
        write(c, head: template.headPrefix(sessionID: nil, method: "initialize", closeConnection: false),
              body: template.initializeBody(id: c.requestID))
    }

    private func sendInitialized(_ c: Client) {
        c.step = .initialized
        c.sentAt = uv_hrtime()
        write(c, head: template.headPrefix(sessionID: c.sessionID, method: "notifications/initialized",
                                           closeConnection: false),
              body: RequestTemplate.initializedBody)
    }

    private func send(_ c: Client, scheduledAt: UInt64) {
        guard c.state != .dead else { return }
        if c.conn == nil {
            // Churn or a lost connection: open one, then send.
            c.pending = scheduledAt
            if c.state != .connecting { open(c) }
            return
        }
        if c.callHead.isEmpty {
            c.callHead = template.headPrefix(sessionID: c.sessionID, method: "tools/call",
                                             closeConnection: config.newConnectionPerRequest)
        }
        let id = idBase + nextID
        nextID += 1
        c.requestID = id
        c.step = .call
        c.state = .busy
        c.scheduledAt = scheduledAt
        c.sentAt = uv_hrtime()
        inFlight += 1
        result.sent += 1
        let digits = String(id)
        guard let conn = c.conn else { return }
        conn.write(c.callHead)
        conn.write("Content-Length: \(template.callBodyLength(idDigits: digits.utf8.count))\r\n\r\n")
        template.callPrefix.withUnsafeBytes { conn.write($0) }
        conn.write(digits)
        template.callSuffix.withUnsafeBytes { conn.write($0) }
    }

    // MARK: answers

    func answered(_ c: Client, head: ResponseHead, body: UnsafeRawBufferPointer) {
        switch c.step {
        case .initialize:
            guard head.status == 200, contains(body, AnswerCheck.result) else {
                failed(c, kind: "initialize_http_\(head.status)", sample: body)
                return
            }
            c.sessionID = head.sessionID
            sendInitialized(c)
        case .initialized:
            guard head.status == 202 || head.status == 200 else {
                failed(c, kind: "initialized_http_\(head.status)", sample: body)
                return
            }
            c.established = true
            c.state = .ready
            if head.close { closeConnection(c) }
            usable(c)
        case .call:
            let now = uv_hrtime()
            inFlight -= 1
            c.state = .ready
            let kind = AnswerCheck.call(status: head.status, body: body, id: config.checkID ? c.requestID : nil,
                                        template: template)
            if let kind {
                countError(kind, scheduledAt: c.scheduledAt, sample: body)
            } else {
                record(latencyNs: now &- c.scheduledAt, scheduledAt: c.scheduledAt)
            }
            // An answer woke the loop anyway: what has come due leaves now, not at the next tick.
            if config.mode == .open, phase == .running { schedule(now) }
            if head.close || config.newConnectionPerRequest { closeConnection(c) }
            if head.status == 404 && config.era == .session && c.established && c.sessionID != nil {
                // The session is gone: open a new one on the next call.
                c.established = false
                c.sessionID = nil
                c.callHead = []
                closeConnection(c)
            }
            usable(c)
        }
    }

    private func closeConnection(_ c: Client) {
        guard let conn = c.conn else { return }
        c.conn = nil
        c.resetRead()
        conn.close()
    }

    /// The connection closed without being asked to.
    func lost(_ c: Client, status: Int32) {
        let wasBusy = c.state == .busy
        if wasBusy {
            inFlight -= 1
            countError("closed", scheduledAt: c.scheduledAt,
                       sampleText: status == 0 ? "closed by peer" : uvErrorName(status))
            c.pending = nil
        } else if c.state == .setup || c.state == .connecting {
            failed(c, kind: "closed_in_setup", sampleText: status == 0 ? "closed by peer" : uvErrorName(status))
            return
        } else if config.mode == .idle && (phase == .running || phase == .waiting) {
            countError("idle_session_dropped", scheduledAt: measureStart, sampleText: uvErrorName(status))
            c.state = .dead
            return
        }
        c.state = .down
        c.retryAt = uv_hrtime() + 100_000_000
        if phase == .running && config.mode == .closed && wasBusy { c.pending = nil }
    }

    /// A set-up step or the HTTP layer failed on this client.
    func failed(_ c: Client, kind: String, sample: UnsafeRawBufferPointer) {
        failed(c, kind: kind, sampleText: String(decoding: sample.prefix(300), as: UTF8.self))
    }

    func failed(_ c: Client, kind: String, sampleText: String) {
        let wasBusy = c.state == .busy
        closeConnection(c)
        if phase == .setup && !c.setupCounted {
            countError(kind, scheduledAt: 0, sampleText: sampleText, always: true)
            setupStepDone(c, ok: false)
            return
        }
        if wasBusy {
            inFlight -= 1
            countError(kind, scheduledAt: c.scheduledAt, sampleText: sampleText)
        } else {
            countError(kind, scheduledAt: uv_hrtime(), sampleText: sampleText)
        }
        c.state = .down
        c.pending = nil
        c.retryAt = uv_hrtime() + 100_000_000
    }

    // MARK: recording

    private func inWindow(_ t: UInt64) -> Bool {
        t >= measureStart && t < measureEnd && phase != .setup && phase != .waiting
    }

    private func record(latencyNs: UInt64, scheduledAt: UInt64) {
        guard inWindow(scheduledAt) || (config.mode == .idle && verifySent) else { return }
        let us = max(1, latencyNs / 1000)
        _ = result.histogram.record(us)
        let sec = secondOf(uv_hrtime())
        _ = result.intervals[sec].record(us)
        result.ok += 1
        shared.ok.add(1, ordering: .relaxed)
    }

    private func countError(_ kind: String, scheduledAt: UInt64, sample: UnsafeRawBufferPointer) {
        countError(kind, scheduledAt: scheduledAt, sampleText: String(decoding: sample.prefix(300), as: UTF8.self))
    }

    private func countError(_ kind: String, scheduledAt: UInt64, sampleText: String, always: Bool = false) {
        guard always || inWindow(scheduledAt) || (config.mode == .idle && phase != .setup) else { return }
        result.errorsByKind[kind, default: 0] += 1
        if result.errorSamples[kind] == nil { result.errorSamples[kind] = sampleText }
        if !result.intervalErrors.isEmpty { result.intervalErrors[secondOf(uv_hrtime())] += 1 }
        shared.errors.add(1, ordering: .relaxed)
    }

    private func secondOf(_ t: UInt64) -> Int {
        let s = t > measureStart ? Int((t - measureStart) / 1_000_000_000) : 0
        return min(s, result.intervals.count - 1)
    }

    // MARK: time

    private func onTick() {
        let now = uv_hrtime()
        switch phase {
        case .setup:
            return
        case .waiting:
            let at = shared.startAt.load(ordering: .acquiring)
            guard at != 0, now >= at else { return }
            begin(at)
            fallthrough
        case .running:
            if now >= measureEnd {
                beginDrain(now)
                return
            }
            if config.mode == .open { schedule(now) }
            if capReached, inFlight <= 0, backlog.count == 0 {
                // --max-requests: all sent and answered; the window closes now, not at -d.
                measureEnd = max(now, measureStart)
                beginDrain(now)
            }
        case .draining:
            if inFlight <= 0 || now >= drainDeadline { finish() }
        case .done:
            return
        }
    }

    private func begin(_ at: UInt64) {
        phase = .running
        startAt = at
        measureStart = at + UInt64(config.warmup * 1e9)
        measureEnd = measureStart + UInt64(config.duration * 1e9)
        let seconds = Int(config.duration.rounded(.up)) + 1
        result.intervals = (0..<seconds).map { _ in Latency.histogram() }
        result.intervalErrors = Array(repeating: 0, count: seconds)
        switch config.mode {
        case .closed:
            for c in clients where c.state == .ready { usable(c) }
        case .open:
            for c in clients where c.state == .ready { idleClients.append(c.index) }
        case .idle:
            break
        }
    }

    /// Open loop: every request whose time has come goes to a free client or waits in the backlog.
    private func schedule(_ now: UInt64) {
        while true {
            let at = startAt + UInt64(Double(scheduled) * intervalNs)
            guard at <= now, at < measureEnd, Int(scheduled) < cap else {
                if at > now, at < measureEnd, Int(scheduled) < cap, let due {
                    let wake = max(at, now + Self.dueStepNs)
                    if dueAt == 0 || wake < dueAt { due.arm(at: wake); dueAt = wake }
                }
                break
            }
            scheduled += 1
            if let i = idleClients.popFirst() {
                send(clients[i], scheduledAt: at)
            } else if backlog.count < 10_000_000 {
                backlog.append(at)
            } else {
                countError("overload", scheduledAt: at, sampleText: "backlog of 10M scheduled requests")
            }
        }
    }

    private func beginDrain(_ now: UInt64) {
        if config.mode == .idle && !verifySent {
            // Idle sessions: each held session answers one call at the end.
            verifySent = true
            result.sessionsHeld = clients.filter { $0.state == .ready && $0.conn != nil }.count
            measureEnd = now + 1
            for c in clients where c.state == .ready && c.conn != nil { send(c, scheduledAt: now) }
        }
        phase = .draining
        result.measuredSeconds = Double(measureEnd - min(measureStart, measureEnd)) / 1e9
        drainDeadline = now + min(timeoutNs, 10_000_000_000)
        // Requests scheduled in the window and never sent were never served.
        while let at = backlog.popFirst() {
            countError("timeout", scheduledAt: at, sampleText: "never sent: no free connection")
        }
    }

    private func onSlowTick() {
        let now = uv_hrtime()
        if phase == .setup || phase == .waiting {
            // Set-up steps that hang count as failures.
            for c in clients where (c.state == .setup) && now - c.sentAt > timeoutNs {
                failed(c, kind: "setup_timeout", sampleText: "no answer to \(c.step) in \(config.timeout) s")
            }
            return
        }
        guard phase == .running || phase == .draining else { return }
        for c in clients {
            if c.state == .busy, now - c.sentAt > timeoutNs {
                failed(c, kind: "timeout", sampleText: "no answer in \(config.timeout) s")
            } else if c.state == .down, phase == .running, now >= c.retryAt, config.mode != .idle {
                if config.era == .session && !config.skipInitialize && !c.established {
                    open(c)
                } else {
                    c.state = .ready
                    usable(c)
                }
            }
        }
    }

    private func finish() {
        guard phase != .done else { return }
        phase = .done
        for c in clients where c.state == .busy {
            countError("timeout", scheduledAt: c.scheduledAt, sampleText: "unanswered at the end of the drain")
        }
        for c in clients { closeConnection(c); c.state = .dead }
        tick.close()
        slowTick.close()
        due?.close()
    }
}

/// A growable FIFO ring.
struct Ring<T> {
    private var items: [T?] = Array(repeating: nil, count: 16)
    private var head = 0
    private(set) var count = 0

    mutating func append(_ x: T) {
        if count == items.count {
            var bigger = [T?](repeating: nil, count: items.count * 2)
            for i in 0..<count { bigger[i] = items[(head + i) % items.count] }
            items = bigger
            head = 0
        }
        items[(head + count) % items.count] = x
        count += 1
    }

    mutating func popFirst() -> T? {
        guard count > 0 else { return nil }
        let x = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        return x
    }
}
