import EventLoop
import Glibc
import MCPCore
import ToolSDK

/// An executor process in front of one upstream MCP server: it speaks the executor protocol to
/// the fronts (through `ExecutorRuntime`, as the built-in executors do, so the fronts' routing,
/// retries, backpressure, catalog merge and policy apply unchanged) and owns the upstream's
/// copies (`UpstreamPool`) on the same loop. It is ready once every copy has started (or
/// failed to) and the catalog has been listed; `list_changed` from a copy lists again and
/// sends fronts a CATALOG frame.
/// Thread: `run` on the calling thread, which becomes the loop thread.
public final class UpstreamBridge {
    let spec: UpstreamSpec
    let name: String
    let socketPath: String
    let loop = Loop()
    let log: Log
    private var pool: UpstreamPool!
    private var link: UpstreamLink!
    private var mailbox: Mailbox<UpstreamCommand>!
    private var runtime: ExecutorRuntime?
    private var pack: ToolPack?
    private var startupError: String?
    /// per-session mode: the copy started only to list the catalog (held until it has exited).
    private var catalogOnlyCopy: UpstreamCopy?
    private var relisting = false
    /// The listed resources each copy is asked to report changes of (`resources/subscribe`),
    /// when the upstream offers subscriptions; empty otherwise.
    private var watched: [String] = []
    private var relistAgain = false

    /// How long the copies may take to start and list their catalog (Python servers under load are slow).
    public static let startupTimeoutMs: UInt64 = 60_000

    public init(spec: UpstreamSpec, name: String, socketPath: String) {
        self.spec = spec; self.name = name; self.socketPath = socketPath
        log = Log("upstream:\(spec.name)")
    }

    public struct StartupFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts the copies, serves until SIGTERM, stops the copies; returns the exit status.
    public func run() throws -> Int32 {
        if spec.url != nil { return try RemoteBridge(spec: spec, name: name, socketPath: socketPath).run() }
        signal(SIGPIPE, SIG_IGN)
        mailbox = Mailbox(loop: loop) { [unowned self] commands in
            for c in commands {
                switch c {
                case .submit(let r): self.pool.submit(r)
                case .cancel(let id): self.pool.cancel(id)
                case .answer(let id, let token, let outcome): self.pool.answer(id, token: token, outcome)
                }
            }
        }
        link = UpstreamLink(name: spec.name, mailbox: mailbox)
        pool = UpstreamPool(spec: spec, loop: loop, log: log)
        pool.onListChanged = { [unowned self] copy, _ in self.relist(from: copy) }
        // A subscribed resource changed: every front hears it and tells the sessions subscribed to
        // it. A per-session copy's change is its session's alone: only that session is told (a
        // copy no longer any session's has no one to tell).
        pool.onResourceUpdated = { [unowned self] copy, uri in
            var session: String?
            if self.spec.mode == .perSession {
                guard let key = self.pool.sessionKey(of: copy) else { return }
                session = key
            }
            self.runtime?.notifyAll(method: "notifications/resources/updated", params: .object(["uri": .string(uri)]),
                                    session: session)
        }
        try start()
        if spec.mode == .perSession {
            log.warning("2026-07-28 clients cannot call this upstream: mode per-session gives each handshake-era "
                        + "session a copy, and that era has no session; its calls get -32600")
        }
        for copy in pool.readyCopies { watch(copy, watched) }
        pool.onCopyReady = { [unowned self] copy in self.watch(copy, self.watched) }
        // Each front may send what the copies run plus what the bridge queues: calls beyond the
        // copies' room wait here, up to maxQueued and timeoutMs, not in a front's queue (which
        // gives up after a few seconds, meant for executors that answer in milliseconds).
        let runtime = ExecutorRuntime(options: .init(name: name, socketPath: socketPath,
                                                     maxConcurrency: spec.pool * spec.maxConcurrency + spec.maxQueued),
                                      pack: pack!, loop: loop)
        self.runtime = runtime
        let status = try runtime.run()
        stopCopies()
        return status
    }

    /// Runs the loop until the catalog is listed and every copy has started or failed once.
    private func start() throws {
        var waiting = true
        let deadline = Timer.once(loop: loop, after: Self.startupTimeoutMs) { [unowned self] in
            self.startupError = "the copies did not start and list their catalog within \(Self.startupTimeoutMs / 1000) s"
            self.loop.stop()
        }
        let check = { [unowned self] in
            guard waiting, self.pack != nil || self.startupError != nil else { return }
            let settled = self.pool.slots.allSatisfy { $0.copy?.state == .ready || !$0.lastFailure.isEmpty }
            if settled || self.startupError != nil { waiting = false; self.loop.stop() }
        }
        var catalogCopy: UpstreamCopy?
        pool.onCopyReady = { [unowned self] copy in
            if self.pack == nil && catalogCopy == nil {
                catalogCopy = copy
                self.list(from: copy) { result in
                    switch result {
                    case .success(let p): self.pack = p
                    case .failure(let f): self.startupError = f.message
                    }
                    check()
                }
            }
            check()
        }
        pool.onCopyEnded = { [unowned self] copy, reason in
            if copy === catalogCopy && self.pack == nil { catalogCopy = nil }
            if self.pack == nil && self.pool.slots.allSatisfy({ $0.copy == nil || $0.copy?.state == .dead }) {
                self.startupError = reason
            }
            check()
        }
        pool.start()
        if spec.mode == .perSession {
            // No copy runs before a session calls: one copy is started to list the catalog, then stopped.
            let copy = UpstreamCopy(spec: spec, label: "catalog", loop: loop, log: log)
            catalogOnlyCopy = copy
            copy.onReady = { [unowned self] c in
                self.list(from: c) { result in
                    switch result {
                    case .success(let p): self.pack = p
                    case .failure(let f): self.startupError = f.message
                    }
                    c.stop()
                    check()
                }
            }
            copy.onEnded = { [unowned self] _, reason in
                if self.pack == nil && self.startupError == nil { self.startupError = reason }
                check()
            }
            copy.start()
        }
        loop.run()
        deadline.close()
        pool.onCopyReady = nil
        pool.onCopyEnded = nil
        if pack == nil {
            let why = startupError ?? "no copy started"
            log.error("cannot start upstream", [("command", spec.argv.joined(separator: " ")), ("error", why)])
            stopCopies()
            throw StartupFailed(description: "upstream \(spec.name): \(why)")
        }
        log.info("upstream ready", [("copies", String(pool.readyCopies.count)),
                                    ("tools", String(pack!.tools.count)), ("prompts", String(pack!.prompts.count)),
                                    ("resources", String(pack!.resources.count + pack!.resourceTemplates.count))])
    }

    /// Lists `copy`'s catalog and builds the pack (problems with single entries are logged).
    private func list(from copy: UpstreamCopy, _ done: @escaping (Result<ToolPack, UpstreamFailure>) -> Void) {
        UpstreamListing.fetch(from: copy) { [unowned self] result in
            switch result {
            case .failure(let f): done(.failure(f))
            case .success(let listing):
                let (pack, problems) = UpstreamPack.make(listing, spec: spec, link: link)
                for p in problems { log.warning("left out of the catalog", [("entry", p)]) }
                watched = pack.subscriptions ? pack.resources.map(\.uri) : []
                done(.success(pack))
            }
        }
    }

    /// A copy's list changed: list again (one listing at a time) and replace the catalog.
    private func relist(from copy: UpstreamCopy) {
        guard runtime != nil else { return }
        guard !relisting else { relistAgain = true; return }
        relisting = true
        let before = Set(watched)
        list(from: copy) { [unowned self] result in
            relisting = false
            switch result {
            case .success(let p):
                pack = p
                runtime?.updateCatalog(p)
                let added = watched.filter { !before.contains($0) }
                if !added.isEmpty { for c in pool.readyCopies { watch(c, added) } }
            case .failure(let f):
                log.warning("could not list the catalog again after list_changed", [("error", f.message)])
            }
            if relistAgain, copy.state == .ready { relistAgain = false; relist(from: copy) }
        }
    }

    /// Asks `copy` to report changes of `uris`. A copy that refuses is logged and still serves:
    /// its resources' updates are then not forwarded.
    private func watch(_ copy: UpstreamCopy, _ uris: [String]) {
        for uri in uris {
            copy.request("resources/subscribe", .object(["uri": .string(uri)])) { [log, label = copy.label] outcome in
                if case .error(let code, let message, _) = outcome {
                    log.warning("a copy refused resources/subscribe", [("copy", label), ("uri", uri),
                                                                       ("code", String(code)), ("error", message)])
                }
            }
        }
    }

    /// Stops every copy and runs the loop until they have exited (at most 3 s).
    private func stopCopies() {
        pool.stop()
        let started = loop.now
        let poll = Timer(loop: loop) { [unowned self] in
            if self.pool.running == 0 || self.loop.now &- started > 3_000 { self.loop.stop() }
        }
        poll.start(after: 20, repeat: 20)
        loop.run()
        poll.close()
    }
}
