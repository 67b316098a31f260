import CLibUV
import EventLoop
import Glibc
import MCPCore
import Metrics

/// The front of `switchyard stdio`: one MCP client over this process's standard streams
/// (StdioSession), linked to the executors in the run directory like an HTTP front, with the
/// same request pipeline minus what has no meaning without HTTP (origin, authentication,
/// media types). It runs on a loop it shares with the supervisor of the executors.
///
/// Lifecycle: reading starts once every expected executor is linked (so the first `tools/list`
/// sees the whole catalog), or after `startTimeoutMs`. End of input, SIGTERM or SIGINT drain:
/// no more reading, the answers of what is in flight are written, the output is closed, then
/// `onFinished` runs (its owner stops the executors). A client that closes our output ends
/// everything at once: nobody is left to answer.
/// Thread: the loop thread.
public final class StdioFront: ExecutorPoolObserver {
    public struct Settings {
        /// Executors to wait for before reading the first message.
        public var expectedExecutors = 0
        public var startTimeoutMs: UInt64 = 30_000
        public var maxInFlight = 1024
        public var maxOutputBacklog = 64 * 1024 * 1024
        public init() {}
    }

    let options: FrontOptions
    let settings: Settings
    let loop: Loop
    let log = Log("stdio")
    private let pool: ExecutorPool
    private let router: CallRouter
    private let services: FrontServices
    private let session: StdioSession
    private var signals: [SignalWatcher] = []
    /// SIGTERM and SIGINT; never closed (the loop is stopped by the supervisor at the end).
    /// The start fallback, the backlog check and the drain deadline; closed by `finish`.
    private var timers: [Timer] = []
    private var finished = false
    /// Runs once, when the front is done (its owner stops the executors and the loop).
    public var onFinished: (() -> Void)?

    /// `input` and `output` are descriptors this front takes over (its standard streams,
    /// duplicated by the caller so nothing else can write to them).
    public init(options: FrontOptions, settings: Settings, loop: Loop, input: Int32, output: Int32) throws {
        self.options = options
        self.settings = settings
        self.loop = loop
        do {
            try Metrics.install(runDir: options.runDir, role: "front", index: options.index)
        } catch {
            log.warning("metrics disabled: cannot create the shared region", [("error", "\(error)")])
        }
        pool = ExecutorPool(loop: loop, directory: options.executorDirectory, peerName: "stdio",
                            compressThreshold: options.compressThreshold, log: log)
        // One client for the life of the process: its session never expires.
        let sessions = SessionTokens(key: options.sessionKey, versions: ProtocolVersion.supported, idleTimeout: 0)
        router = CallRouter(loop: loop, pool: pool, options: options, log: log)
        services = FrontServices(options: options, loop: loop, log: log, pool: pool, router: router,
                                 sessions: sessions, metrics: FrontMetrics())
        // Rate limits and the audit log as on HTTP: the client is anonymous and has no address,
        // so it draws from one bucket per tool, and audit lines name no source.
        services.rateLimiter = LimitsAndAudit.rateLimiter(options: options, log: log)
        services.auditLog = try LimitsAndAudit.auditLog(options: options, loop: loop, log: log)
        services.writer.auditLog = services.auditLog
        let methods = MethodTable.standard(services)
        let inStream = try StreamConnection.open(loop: loop, descriptor: input, name: "standard input")
        let outStream: StreamConnection
        do {
            outStream = try StreamConnection.open(loop: loop, descriptor: output, name: "standard output")
        } catch {
            inStream.close()
            throw error
        }
        session = StdioSession(input: inStream, output: outStream, outputBacklog: { outStream.outputBacklog },
                               services: services,
                               pipeline: .standard(services, methods, origin: nil), methods: methods,
                               limits: .init(maxLine: options.maxBody, maxInFlight: settings.maxInFlight,
                                             maxOutputBacklog: settings.maxOutputBacklog))
        pool.observer = self
    }

    // MARK: ExecutorPoolObserver

    func executorsChanged() {
        router.dispatchWaiting()
        if pool.readyLinks.count >= settings.expectedExecutors { session.start() }
    }

    func executorNotification(_ payload: [UInt8]) { services.listeners.deliver(payload) }

    /// Links the executors and starts serving; the caller runs the loop.
    public func start() {
        signal(SIGPIPE, SIG_IGN)
        session.onDrained = { [unowned self] in self.session.closeOutput() }
        session.onOutputClosed = { [unowned self] in self.finish() }
        session.onInputEnded = { [unowned self] in self.beginDrain() }
        pool.start()
        router.start()
        // SIGUSR1: reopen the audit log after rotation, as `serve` does.
        signals.append(SignalWatcher(loop: loop, signal: SIGUSR1) { [unowned self] _ in
            LimitsAndAudit.reopen(self.services.auditLog, log: self.log)
        })
        // Watched until the process ends: a second signal while the executors stop changes nothing.
        for sig in [SIGTERM, SIGINT] {
            signals.append(SignalWatcher(loop: loop, signal: sig) { [unowned self] s in
                self.log.info("draining", [("signal", String(s)), ("unanswered", String(self.session.unanswered))])
                self.beginDrain()
            })
        }
        if settings.expectedExecutors == 0 { session.start() }
        timers.append(Timer.once(loop: loop, after: settings.startTimeoutMs, unref: true) { [unowned self] in
            if self.pool.readyLinks.count < self.settings.expectedExecutors {
                self.log.warning("serving before every executor is linked",
                                 [("linked", String(self.pool.readyLinks.count)),
                                  ("expected", String(self.settings.expectedExecutors))])
            }
            self.session.start()
        })
        // Reading paused for a client that does not read its answers resumes once they are out.
        let backlog = Timer(loop: loop) { [unowned self] in self.session.resume() }
        backlog.start(after: 100, repeat: 100)
        backlog.unref()
        timers.append(backlog)
        log.info("serving MCP on stdin/stdout", [("executors", String(settings.expectedExecutors))])
    }

    /// No more input: what is in flight is answered (within the drain timeout), then the end.
    private func beginDrain() {
        guard !session.draining else { return }
        timers.append(Timer.once(loop: loop, after: options.drainTimeoutMs, unref: true) { [unowned self] in
            self.log.warning("drain deadline passed", [("unanswered", String(self.session.unanswered))])
            self.finish()
        })
        session.drain()
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        session.drain()
        session.closeOutput()
        pool.shutdown()
        router.stop()
        services.listeners.stop()
        services.resultCache?.close()
        services.auditLog?.close()
        for t in timers { t.close() }
        timers.removeAll()
        log.info("stopped")
        onFinished?()
        onFinished = nil
    }
}
