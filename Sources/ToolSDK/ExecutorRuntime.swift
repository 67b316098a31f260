import CSupport
import CLibUV
import EventLoop
import FoundationEssentials
import Glibc
import MCPCore
import Metrics
import WireProtocol

/// Hosts tools in an executor process: listens on a Unix socket, accepts any number of front
/// links, serves the catalog in READY and runs each CALL as a task (proto/executor-protocol.md).
///
/// Thread: the I/O (links, frames) runs on the loop thread. Handlers run on Swift's
/// cooperative pool and hand their results back through a mailbox, except calls of
/// `nonBlocking` tools with small arguments, which run on the loop thread itself
/// (`LoopTaskExecutor`).
public final class ExecutorRuntime {
    public struct Options: Sendable {
        public var name: String
        public var socketPath: String
        public var maxConcurrency: Int
        /// Payloads at least this large are sent compressed to peers that accept zstd.
        public var compressThreshold: Int
        /// How long SIGTERM waits for in-flight calls before exiting anyway (ms).
        public var drainTimeoutMs: UInt64
        /// A cancelled call still running after this long holds a thread it will not give back:
        /// the executor drains and exits so its supervisor starts a fresh one (ms).
        public var cancelGraceMs: UInt64

        public init(name: String, socketPath: String, maxConcurrency: Int = 256,
                    compressThreshold: Int = 8 * 1024 * 1024, drainTimeoutMs: UInt64 = 10_000,
                    cancelGraceMs: UInt64 = 2_000) {
            self.name = name; self.socketPath = socketPath; self.maxConcurrency = maxConcurrency
            self.compressThreshold = compressThreshold; self.drainTimeoutMs = drainTimeoutMs
            self.cancelGraceMs = cancelGraceMs
        }
    }

    /// A frame on its way to the loop thread: a call's terminal RESULT/ERROR, a PROGRESS,
    /// NOTIFY or REQUEST sent while it runs, or a link-wide NOTIFY or catalog change
    /// (`link == 0`: every link).
    struct Completion: Sendable {
        let link: Int
        let stream: UInt64
        let rawType: UInt8
        let payload: [UInt8]
        var pack: ToolPack? = nil
        /// A result written into its frame's buffer (`payload` is then empty).
        var frame: OutgoingFrame? = nil
        var terminal: Bool { rawType == FrameType.result.rawValue || rawType == FrameType.error.rawValue }

        init(link: Int, stream: UInt64, rawType: UInt8, payload: [UInt8], pack: ToolPack? = nil) {
            self.link = link; self.stream = stream; self.rawType = rawType; self.payload = payload; self.pack = pack
        }

        init(link: Int, stream: UInt64, rawType: UInt8, result: ResultPayload) {
            switch result {
            case .bytes(let b): self.init(link: link, stream: stream, rawType: rawType, payload: b)
            case .frame(let f):
                self.init(link: link, stream: stream, rawType: rawType, payload: [])
                frame = f
            }
        }

        init(link: Int, stream: UInt64, event: CallEvent) {
            switch event {
            case .progress(let p):
                self.init(link: link, stream: stream, rawType: FrameType.progress.rawValue, payload: p)
            case .notify(let p): self.init(link: link, stream: stream, rawType: FrameType.notify.rawValue, payload: p)
            case .request(let p):
                self.init(link: link, stream: stream, rawType: ExtraFrameType.request.rawValue, payload: p)
            case .notifyAll(let p): self.init(link: 0, stream: 0, rawType: FrameType.notify.rawValue, payload: p)
            case .replaceCatalog(let pack):
                self.init(link: 0, stream: 0, rawType: ExtraFrameType.catalog.rawValue, payload: [], pack: pack)
            }
        }
    }

    let options: Options
    /// The pack being served. Thread: replaced on the loop thread only; tasks capture the
    /// index current when their call started.
    private(set) var index: PackIndex
    private(set) var readyPayload: [UInt8]
    /// The loop the links run on (given to `init`, or its own).
    public let loop: Loop
    let log: Log
    private var listener: Listener?
    private var links: [Int: ExecutorLink] = [:]
    /// Calls by their cancellation key (a client request on some front): link and stream.
    var cancelKeys: [String: (link: Int, stream: UInt64)] = [:]

    /// A cancellation relayed by any front: stops the call wherever it runs in this process.
    func cancel(key: String) {
        guard let (link, stream) = cancelKeys[key] else { return }
        links[link]?.cancelStream(stream)
    }
    private var nextLinkID = 0
    private var mailbox: Mailbox<Completion>?
    /// Runs the calls of non-blocking tools on the loop thread (see `Tool.nonBlocking`).
    private(set) var loopExecutor: LoopTaskExecutor!
    private var signals: [SignalWatcher] = []
    /// Gives heap memory left free by bursts back to the system; closed by `finish`.
    private var heapTrimmer: HeapTrimmer?
    private(set) var draining = false

    public convenience init(options: Options, tools: [Tool]) {
        self.init(options: options, pack: ToolPack(tools))
    }

    /// Serves a whole pack: tools, resources, resource templates, prompts, completions.
    /// `loop`: run on this loop (which may hold handles of the caller's, as an upstream
    /// bridge's child processes) instead of a new one.
    public init(options: Options, pack: ToolPack, loop: Loop = Loop()) {
        self.options = options
        self.loop = loop
        self.log = Log("executor:\(options.name)")
        index = PackIndex(pack)
        readyPayload = ExecutorRuntime.ready(options, pack)
    }

    static func ready(_ options: Options, _ pack: ToolPack) -> [UInt8] {
        Ready(executor: options.name, pid: Int(getpid()), zstd: true, maxConcurrency: options.maxConcurrency,
              catalog: pack.catalog).encoded()
    }

    /// The names of the tools served now.
    var tools: [String: Tool] { index.tools }

    /// The NOTIFY payload of a notification.
    static func notificationPayload(method: String, params: JSONValue?, session: String? = nil) -> [UInt8] {
        var o: [String: JSONValue] = ["method": .string(method)]
        if let params { o["params"] = params }
        if let session { o["session"] = .string(session) }
        return Array(JSONValue.object(o).compactJSON().utf8)
    }

    /// Sends a notification on stream 0 of every link (for instance
    /// `notifications/resources/updated` with `{"uri": ...}`); fronts decide where it goes.
    /// `session`: a CALL context's `session` key; the notification is then for that session only
    /// (protocol §5.7), e.g. a change only that session's state can see.
    /// Thread: any; a no-op before `run()`.
    public func notifyAll(method: String, params: JSONValue? = nil, session: String? = nil) {
        let payload = ExecutorRuntime.notificationPayload(method: method, params: params, session: session)
        mailbox?.post(Completion(link: 0, stream: 0, event: .notifyAll(payload)))
    }

    /// Replaces the catalog: new calls see the new pack, and every front gets a CATALOG frame
    /// (from which it emits list_changed). Calls already running finish with the old pack.
    /// Thread: any; a no-op before `run()`.
    public func updateCatalog(_ pack: ToolPack) {
        mailbox?.post(Completion(link: 0, stream: 0, event: .replaceCatalog(pack)))
    }

    /// Loop thread: a frame for every link.
    func linkWide(_ c: Completion) {
        if let pack = c.pack {
            index = PackIndex(pack)
            readyPayload = ExecutorRuntime.ready(options, pack)
            let payload = pack.catalog.encoded()
            log.info("catalog replaced", [("tools", String(pack.tools.count)), ("prompts", String(pack.prompts.count))])
            for link in links.values { link.sendLinkWide(c.rawType, payload) }
        } else {
            for link in links.values { link.sendLinkWide(c.rawType, c.payload) }
        }
    }

    /// Exit status after a drain forced by a wedged call (EX_SOFTWARE): the supervisor restarts it.
    public static let wedgedExitStatus: Int32 = 70
    private(set) var exitStatus: Int32 = 0

    /// Serves until SIGTERM/SIGINT, then drains and returns the process exit status.
    @discardableResult
    public func run() throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // Messages up to 8 MiB from the heap; up to 32 MiB freed kept per arena, at most 4 arenas.
        sy_malloc_tune(8 << 20, 32 << 20, 4)
        // The run directory is the socket directory's parent (<run-dir>/executors/NAME.sock).
        let dir = options.socketPath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2)
            .joined(separator: "/")
        let index = Int(options.name.split(separator: "-").last ?? "") ?? 0
        if !dir.isEmpty, (try? Metrics.install(runDir: dir, role: "executor", index: index)) == nil {
            log.warning("metrics disabled: cannot create the shared region")
        }
        // What a burst of calls leaves free in the heap goes back once it has passed.
        let heapInUse = Metrics.gauge(.heapBytes, "in_use"), heapRetained = Metrics.gauge(.heapBytes, "retained")
        heapTrimmer = HeapTrimmer(loop: loop) { c in
            heapInUse.set(Int64(c.inUse))
            heapRetained.set(Int64(c.retained))
        }
        loopExecutor = LoopTaskExecutor(loop: loop)
        mailbox = Mailbox(loop: loop) { [unowned self] items in
            for c in items {
                if c.link == 0 { self.linkWide(c) } else { self.links[c.link]?.complete(c) }
            }
        }
        listener = try Listener.unix(loop: loop, path: options.socketPath) { [unowned self] conn in
            self.accept(conn)
        }
        for sig in [SIGTERM, SIGINT] {
            signals.append(SignalWatcher(loop: loop, signal: sig) { [unowned self] _ in
                self.beginDrain(reason: "signal")
            })
        }
        log.info("listening", [("socket", options.socketPath), ("tools", tools.keys.sorted().joined(separator: ","))])
        Readiness.notify()
        loop.run()
        unlink(options.socketPath)
        log.info("stopped", [("status", String(exitStatus))])
        return exitStatus
    }

    private func accept(_ conn: StreamConnection) {
        nextLinkID += 1
        let link = ExecutorLink(id: nextLinkID, runtime: self, conn: conn)
        links[link.id] = link
        conn.delegate = link
        conn.startReading()
    }

    func linkClosed(_ link: ExecutorLink) {
        links[link.id] = nil
        maybeFinishDrain()
    }

    /// The mailbox, captured by tasks so they never touch this (loop-thread) object.
    var completions: Mailbox<Completion> { mailbox! }

    /// A cancelled call did not stop: restart the process once the others are done.
    func wedged(tool: String) {
        log.error("a cancelled call of \(tool) is still running after \(options.cancelGraceMs) ms; draining to restart",
                  [("tool", tool)])
        exitStatus = ExecutorRuntime.wedgedExitStatus
        beginDrain(reason: "wedged call")
    }

    /// Stop accepting links; tell fronts to send no new calls (those already on their way are
    /// still served); exit once every front has let go, or at the deadline.
    private func beginDrain(reason: String) {
        guard !draining else { return }
        draining = true
        log.info("draining", [("reason", reason), ("inFlight", String(links.values.reduce(0) { $0 + $1.inFlight }))])
        listener?.close()
        listener = nil
        unlink(options.socketPath)
        for link in links.values { link.sendDrain() }
        drainDeadline = Timer.once(loop: loop, after: options.drainTimeoutMs, unref: true) { [unowned self] in
            self.log.warning("drain deadline passed; exiting with calls in flight")
            self.finish()
        }
        maybeFinishDrain()
    }

    /// Fronts close their link once they have no call left on it after DRAIN.
    func maybeFinishDrain() {
        guard draining else { return }
        if links.isEmpty { finish() }
    }

    private var finished = false
    /// The drain's deadline: closed by `finish` when the drain ends sooner.
    private var drainDeadline: Timer?

    private func finish() {
        guard !finished else { return }
        finished = true
        drainDeadline?.close()
        drainDeadline = nil
        for link in links.values { link.goodbye() }
        for s in signals { s.close() }
        signals.removeAll()
        mailbox?.close()
        loopExecutor?.close()
        heapTrimmer?.close()
        heapTrimmer = nil
        // Give the goodbyes one turn to flush, then stop. A wedged task cannot be joined: leave.
        Timer.once(loop: loop, after: 20) { [unowned self] in
            if self.exitStatus != 0 { exit(self.exitStatus) }
            self.loop.stop()
        }
    }
}

