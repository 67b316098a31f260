import CSupport
import CLibUV
import EventLoop
import Glibc
import MCPCore
import Metrics
import TLS

/// One front process: a libuv loop serving MCP over HTTP/1.1 on a shared (SO_REUSEPORT) port,
/// linked to every executor in the run directory.
/// Thread: everything runs on the thread that calls `run()`.
public final class Front: ExecutorPoolObserver {
    let options: FrontOptions
    let loop = Loop()
    let log: Log
    private var listener: Listener?
    private var adminListener: Listener?
    private var admin: AdminRoutes?
    private let pool: ExecutorPool
    private let router: CallRouter
    private let sessions: SessionTokens
    private let services: FrontServices
    private let endpoint: MCPService
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    private var adminConnections: [ObjectIdentifier: HTTPConnection] = [:]
    /// The repeating timers (timeouts sweep, sampler, lag probe, session sweep); closed by `finish`.
    private var timers: [Timer] = []
    /// The one-shot timers of a drain (grace, deadline) and of readiness; closed by `finish`.
    private var pendingTimers: [Timer] = []
    private var signals: [SignalWatcher] = []
    /// Gives heap memory left free by bursts back to the system; closed by `finish`.
    private var heapTrimmer: HeapTrimmer?
    private var draining = false
    private var notifiedReady = false
    /// The TLS context for new connections (replaced by SIGUSR2; connections keep the one they
    /// started with) and what this loop's TLS streams share; nil without `--tls-cert`.
    private var tlsContext: TLSContext?
    private var tlsTurn: TLSTurn?

    public init(options: FrontOptions) {
        self.options = options
        log = Log("front-\(options.index)")
        // Before any handle is resolved: handles point into the region installed here.
        do {
            try Metrics.install(runDir: options.runDir, role: "front", index: options.index)
        } catch {
            log.warning("metrics disabled: cannot create the shared region", [("error", "\(error)")])
        }
        pool = ExecutorPool(loop: loop, directory: options.executorDirectory, peerName: "front-\(options.index)",
                            compressThreshold: options.compressThreshold, log: log)
        let sessions = SessionTokens(key: options.sessionKey, versions: ProtocolVersion.supported,
                                     runDir: options.runDir, idleTimeout: options.sessionIdleTimeout)
        self.sessions = sessions
        router = CallRouter(loop: loop, pool: pool, options: options, log: log)
        var access: AccessControl?
        if let settings = options.access {
            // Validated by the command before the front starts; a failure here is a bug.
            let resource = try! settings.metadata(endpointPath: options.endpointPath)
            access = AccessControl(authenticator: settings.authenticator, policy: settings.policy, resource: resource)
        }
        services = FrontServices(options: options, loop: loop, log: log, pool: pool, router: router,
                                 sessions: sessions, metrics: FrontMetrics(), access: access)
        endpoint = MCPService(services: services)
        pool.observer = self
    }

    // MARK: ExecutorPoolObserver

    func executorsChanged() {
        router.dispatchWaiting()
        notifyReadyIfLinked()
    }

    func executorNotification(_ payload: [UInt8]) { SharedStreams.executorNotification(payload, services) }

    /// Serves until SIGTERM/SIGINT, then drains and returns.
    public func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Messages up to 8 MiB from the heap; up to 32 MiB freed kept per arena, at most 4 arenas.
        sy_malloc_tune(8 << 20, 32 << 20, 4)
        // ...and what a burst leaves free in the heap goes back once it has passed.
        let heapInUse = Metrics.gauge(.heapBytes, "in_use"), heapRetained = Metrics.gauge(.heapBytes, "retained")
        heapTrimmer = HeapTrimmer(loop: loop) { c in
            heapInUse.set(Int64(c.inUse))
            heapRetained.set(Int64(c.retained))
        }
        let metrics = services.metrics
        let admin = AdminRoutes(runDir: options.runDir, loop: loop) { [unowned self] in self.endpoint.healthReport() }
        self.admin = admin
        endpoint.admin = admin
        if let path = options.accessLogPath {
            services.writer.accessLog = AccessLog(path: path, loop: loop, front: "front-\(options.index)")
            if services.writer.accessLog == nil { log.warning("cannot open the access log", [("path", path)]) }
        }
        services.rateLimiter = LimitsAndAudit.rateLimiter(options: options, log: log)
        services.auditLog = try LimitsAndAudit.auditLog(options: options, loop: loop, log: log)
        services.writer.auditLog = services.auditLog
        if let settings = options.redis {
            let shared = SharedStateRedis(settings: settings, options: options, loop: loop, log: log)
            services.sharedState = shared
            sessions.share(through: shared.sessions)
            shared.activity?.start(sessions)
            services.resultCache?.remote = RedisResultStore(client: shared.client, loop: loop, log: log)
            shared.start()
        }
        endpoint.adminOnMainPort = options.admin == nil
        let limits = HTTPConnection.Limits(maxHead: options.maxHead, maxBody: options.maxBody,
                                           headTimeoutMs: options.headTimeoutMs, bodyMinRate: options.bodyMinRate,
                                           idleTimeoutMs: options.idleTimeoutMs)
        if let tls = options.tls {
            tlsContext = try TLSContext.server(tls)
            tlsTurn = TLSTurn(loop: loop)
        }
        let admission = ConnectionAdmission(options: options)
        let needsAddress = admission.perAddress > 0 || !options.rateLimits.isEmpty || options.auditLogPath != nil
            || options.access != nil
        let closes = Metrics.family(.connectionsClosedTotal)
        func accept(_ handler: any HTTPHandler, admin isAdmin: Bool = false) -> (StreamConnection) -> Void {
            // The connections' callbacks capture only what every connection shares: made once here
            // and shared, not a closure context per connection (about 200 B each of 100,000 idle ones).
            let onServerClose: (CloseReason) -> Void = { reason in closes.counter(reason.rawValue).increment() }
            let onClose: (HTTPConnection) -> Void = { [unowned self] h in
                metrics.connections.decrement()
                if h.evicted { self.evicting -= 1 }
                if h.trustedProxies == nil { admission.release(address: h.peerAddress) }
                // 2026-07-28: a client closing its stream cancels what it asked for. The
                // connection knows its calls: searching every call in flight here made
                // 10,000 clients leaving while 20,000 calls were queued quadratic.
                for call in h.modernCalls.values {
                    self.router.cancel(call, reason: "the client closed the stream")
                }
                self.connections[ObjectIdentifier(h)] = nil
                self.maybeFinishDrain()
            }
            let onMalformed: (Int) -> Void = { status in
                metrics.answered(method: LabelIndex.method("other"), status: status, startedNs: uv_hrtime())
                metrics.error(status == 413 ? .bodyTooLarge : status == 431 ? .headTooLarge : .invalidRequest)
            }
            return { [unowned self] conn in
                if isAdmin {
                    // Admin connections do not hold up a drain; they serve /readyz (503) meanwhile.
                    let http = HTTPConnection(conn: conn, handler: handler, limits: limits)
                    http.onClose = { [unowned self] h in self.adminConnections[ObjectIdentifier(h)] = nil }
                    self.adminConnections[ObjectIdentifier(http)] = http
                    http.start()
                    return
                }
                guard !self.draining else { conn.close(); return }
                metrics.accepted.increment()
                // The source address, when something needs it: the per-address cap, anonymous
                // rate limits, the audit log (one getpeername per connection, not per request).
                let address = needsAddress ? conn.peerAddress() : nil
                // A trusted proxy carries many clients: it is not held to the per-address cap.
                let proxied = address.map { options.trustedProxies.contains($0) } ?? false
                guard proxied || admission.admit(address: address) else {
                    conn.close()
                    self.reportClose(.perAddressLimit, admission, detail: address)
                    return
                }
                self.evict(admission.evictionsNeeded(open: self.connections.count - self.evicting + 1), admission)
                conn.trafficClass = 1
                metrics.connections.increment()
                let http = HTTPConnection(conn: self.secured(conn), handler: handler, limits: limits)
                http.peerAddress = address
                if proxied { http.trustedProxies = options.trustedProxies }
                http.onServerClose = onServerClose
                http.onClose = onClose
                http.onMalformed = onMalformed
                self.connections[ObjectIdentifier(http)] = http
                http.start()
            }
        }
        listener = try Listener.tcp(loop: loop, host: options.host, port: options.port, onAccept: accept(endpoint))
        listener?.onAcceptError = { [unowned self] status in
            // No descriptor left: libuv accepted and closed the connection with its reserve.
            self.reportClose(.refusedAtLimit, admission, detail: uvErrorName(status))
            let open = max(self.connections.count - self.evicting, admission.softLimit)
            self.evict(admission.evictionsNeeded(open: open), admission)
        }
        if let a = options.admin {
            adminListener = try Listener.tcp(loop: loop, host: a.host, port: a.port,
                                             onAccept: accept(admin, admin: true))
        }
        startSampler()
        if options.sessionIdleTimeout > 0 {
            // Forget expired sessions a few times per timeout (at most once a minute).
            let every = max(1000, min(60_000, options.sessionIdleTimeout * 1000 / 4))
            let t = Timer(loop: loop) { [unowned self] in self.sessions.sweep() }
            t.start(after: every, repeat: every)
            t.unref()
            timers.append(t)
        }
        if let access = services.access {
            // A key added or revoked with `switchyard keys` holds within two seconds, on every
            // front (each stats the keys file; a changed one is read again).
            var reported: String?
            let log = self.log
            let t = Timer(loop: loop) {
                // Said once per problem: a keys file left unreadable (a bad chmod after an edit)
                // keeps the keys in use, revoked ones included, until it is fixed.
                let problem = access.authenticator.refresh()
                if let problem, problem != reported {
                    log.warning("the API keys file could not be reloaded; the keys in use stay", [("error", problem)])
                }
                reported = problem
            }
            t.start(after: 2000, repeat: 2000)
            t.unref()
            timers.append(t)
        }
        SharedStreams.install(on: services)
        pool.start()
        router.start()
        startLagProbe()
        let t = Timer(loop: loop) { [unowned self] in
            let now = self.loop.now
            for c in self.connections.values { c.checkTimeouts(now: now) }
        }
        t.start(after: 1000, repeat: 1000)
        t.unref()
        timers.append(t)
        for sig in [SIGTERM, SIGINT] {
            signals.append(SignalWatcher(loop: loop, signal: sig) { [unowned self] _ in self.beginDrain() })
        }
        // Always watched, so a SIGUSR1 the supervisor forwards never kills a front.
        signals.append(SignalWatcher(loop: loop, signal: SIGUSR1) { [unowned self] _ in
            LimitsAndAudit.reopen(self.services.auditLog, log: self.log)
        })
        // Always watched: SIGUSR2's default action would end a front that serves plain HTTP.
        signals.append(SignalWatcher(loop: loop, signal: SIGUSR2) { [unowned self] _ in self.reloadCertificate() })
        // Ready when every executor socket present at start is linked, or after 3 s regardless.
        let expected = pool.socketPaths().count
        if expected == 0 { notifyReady() }
        pendingTimers.append(Timer.once(loop: loop, after: 3000, unref: true) { [unowned self] in self.notifyReady() })
        expectedLinks = expected
        log.info("listening", [("address", "\(options.host):\(options.port)"), ("executors", String(expected))])
        loop.run()
        log.info("stopped", [("requests", String(endpoint.requests))])
    }

    private var expectedLinks = 0

    /// The stream HTTP reads: the socket itself, or TLS over it with the current context.
    private func secured(_ conn: StreamConnection) -> any ByteStream {
        guard let context = tlsContext, let turn = tlsTurn else {
            conn.readSize = HTTPConnection.clientReadSize
            return conn
        }
        return TLSStream(transport: conn, context: context, turn: turn)
    }

    /// SIGUSR2: reads the certificate chain and key again for new connections; connections
    /// already open keep theirs. A file that does not load is logged and the current one kept.
    private func reloadCertificate() {
        guard let settings = options.tls else {
            log.info("SIGUSR2 ignored: this front serves plain HTTP")
            return
        }
        do {
            tlsContext = try TLSContext.server(settings)
            log.info("TLS certificate reloaded", [("certificate", settings.certificateFile)])
        } catch {
            log.warning("TLS certificate reload failed; new connections keep the current certificate",
                        [("error", error.message)])
        }
    }

    /// Evicted connections whose close has not completed yet (they still count in `connections`).
    private var evicting = 0

    /// Closes `count` evictable connections (ConnectionAdmission.victims), counted and logged.
    private func evict(_ count: Int, _ admission: ConnectionAdmission) {
        guard count > 0 else { return }
        for c in admission.victims(connections.values, count: count) {
            c.evicted = true
            evicting += 1
            c.conn.close()
            reportClose(.evicted, admission, detail: nil)
        }
    }

    private func reportClose(_ reason: CloseReason, _ admission: ConnectionAdmission, detail: String?) {
        let (log, n) = admission.record(reason, now: loop.now)
        guard log else { return }
        var fields = [("reason", reason.label), ("count", String(n)), ("connections", String(connections.count)),
                      ("softLimit", String(admission.softLimit))]
        if let detail { fields.append(("detail", detail)) }
        self.log.warning("connections refused or evicted under pressure", fields)
    }

    /// Once a second: gauges from current state, byte counters from the loop's tallies.
    private func startSampler() {
        let m = services.metrics
        var lastIn: [UInt64] = [0, 0, 0], lastOut: [UInt64] = [0, 0, 0]
        var linkStats = LinkStats.Totals()
        let linkFrames = m.linkFrames, linkBytes = m.linkBytes
        let queue = m.queue
        let t = Timer(loop: loop) { [unowned self] in
            let inNow = self.loop.bytesIn, outNow = self.loop.bytesOut
            m.bytes.counter(LabelIndex.directionIn).add(inNow[1] &- lastIn[1])
            m.bytes.counter(LabelIndex.directionOut).add(outNow[1] &- lastOut[1])
            lastIn = inNow
            lastOut = outNow
            let now = self.pool.linkStats.totals
            linkFrames.counter(LabelIndex.directionIn).add(now.framesIn &- linkStats.framesIn)
            linkFrames.counter(LabelIndex.directionOut).add(now.framesOut &- linkStats.framesOut)
            linkBytes.counter(LabelIndex.directionIn, LabelIndex.formWire).add(now.wireIn &- linkStats.wireIn)
            linkBytes.counter(LabelIndex.directionOut, LabelIndex.formWire).add(now.wireOut &- linkStats.wireOut)
            linkBytes.counter(LabelIndex.directionIn, LabelIndex.formRaw).add(now.rawIn &- linkStats.rawIn)
            linkBytes.counter(LabelIndex.directionOut, LabelIndex.formRaw).add(now.rawOut &- linkStats.rawOut)
            linkStats = now
            queue.set(Int64(self.router.queued))
            self.services.sharedState?.sample()
            m.lag.set(Int64(self.endpoint.loopLagMs) * 1_000_000)
            let nowMs = self.loop.now
            for link in self.pool.allLinks {
                let g = m.link(link.name)
                g.outstanding.set(Int64(link.outstanding))
                g.up.set(link.ready != nil && !link.conn.isClosed ? 1 : 0)
                let b = link.breaker
                g.circuit.set(b.isOpen(now: nowMs)
                              ? (b.name == "half-open" ? LabelIndex.circuitHalfOpen : LabelIndex.circuitOpen)
                              : LabelIndex.circuitClosed)
            }
            for gone in self.pool.takeClosedLinkNames() {
                let g = m.link(gone)
                g.up.set(0)
                g.outstanding.set(0)
            }
        }
        t.start(after: 1000, repeat: 1000)
        t.unref()
        timers.append(t)
    }

    /// Event-loop lag: a 100 ms timer that measures how late it fires; the worst of each
    /// second is kept for /healthz (and logged when it passes 100 ms).
    private func startLagProbe() {
        var expected = loop.now + 100
        var worst: UInt64 = 0
        var ticks = 0
        let t = Timer(loop: loop) { [unowned self] in
            uv_update_time(self.loop.uv)
            let now = self.loop.now
            worst = max(worst, now > expected ? now - expected : 0)
            expected = now + 100
            ticks += 1
            if ticks == 10 {
                self.endpoint.loopLagMs = worst
                if worst > 100 { self.log.warning("event loop lagging", [("lagMs", String(worst))]) }
                worst = 0
                ticks = 0
            }
        }
        t.start(after: 100, repeat: 100)
        t.unref()
        timers.append(t)
    }

    private func notifyReadyIfLinked() {
        // Called after every completion: once ready, nothing to count.
        if !notifiedReady, pool.readyLinks.count >= expectedLinks { notifyReady() }
    }

    private func notifyReady() {
        guard !notifiedReady else { return }
        notifiedReady = true
        Readiness.notify()
    }

    /// SIGTERM: stop accepting; answer what is in flight; close idle connections; then leave.
    private func beginDrain() {
        guard !draining else { return }
        draining = true
        services.writer.draining = true
        log.info("draining", [("connections", String(connections.count)), ("inFlight", String(pool.totalOutstanding))])
        listener?.close()
        listener = nil
        // Notification streams end now, GET streams with a reconnection hint.
        services.listeners.closeAll()
        // The admin listener stays up until the end: /readyz answers 503 while draining.
        // Answers from now on carry Connection: close. Requests already on their way are read
        // and answered during a short grace; then connections with nothing in flight close.
        for c in connections.values where c.isIdle && c.conn.readable.count == 0 { c.closeIfQuiet(afterMs: 250) }
        pendingTimers.append(Timer.once(loop: loop, after: 250, unref: true) { [unowned self] in
            for c in self.connections.values { c.closeWhenDone() }
        })
        pendingTimers.append(Timer.once(loop: loop, after: options.drainTimeoutMs, unref: true) { [unowned self] in
            self.log.warning("drain deadline passed", [("connections", String(self.connections.count))])
            self.finish()
        })
        maybeFinishDrain()
    }

    private func maybeFinishDrain() {
        if draining && connections.isEmpty { finish() }
    }

    private var finished = false
    private func finish() {
        guard !finished else { return }
        finished = true
        for c in connections.values { c.conn.close() }
        adminListener?.close()
        adminListener = nil
        for c in adminConnections.values { c.conn.close() }
        // Before the executors go: closing the client answers what waits on Redis (DOWN), and a
        // suspended rate-limit check then resumes while the router still takes calls.
        SharedStreams.stop(on: services)
        services.sharedState?.stop()
        pool.shutdown()
        router.stop()
        services.resultCache?.close()
        services.writer.accessLog?.close()
        services.auditLog?.close()
        // Every timer is closed (closing one that fired already does nothing); the stop timer
        // closes itself after firing.
        for t in timers + pendingTimers { t.close() }
        timers.removeAll()
        pendingTimers.removeAll()
        heapTrimmer?.close()
        heapTrimmer = nil
        services.listeners.stop()
        for s in signals { s.close() }
        signals.removeAll()
        Timer.once(loop: loop, after: 50) { [unowned self] in self.loop.stop() }
    }
}
