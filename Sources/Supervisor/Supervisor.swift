import EventLoop
import Glibc
import Metrics

/// Starts the children (executors first, then fronts), restarts those that die according to
/// their policy, and on SIGTERM/SIGINT stops fronts first (they drain), then executors.
/// Thread: the loop thread.
public final class Supervisor {
    public struct Options: Sendable {
        /// Printed on stdout once every front and executor is ready.
        public var readyLine: String
        /// Where `switchyard reload` finds this supervisor's pid.
        public var pidFile: String?
        /// SIGTERM and SIGINT stop the children. Off when the process that runs the supervisor
        /// drains something of its own first and then calls `stop()` (`switchyard stdio`).
        public var stopsOnSignals = true
        public init(readyLine: String, pidFile: String? = nil) { self.readyLine = readyLine; self.pidFile = pidFile }
    }

    final class Slot {
        var spec: ChildSpec
        lazy var up: Gauge = Metrics.family(.workerUp).gauge(Metrics.slot(.worker, named: spec.name))
        lazy var restartsMetric: Counter =
            Metrics.family(.workerRestartsTotal).counter(Metrics.slot(.worker, named: spec.name))
        lazy var lastExit: StateSet = Metrics.stateSet(.workerLastExit, spec.name)
        var process: ChildProcess?
        var restarts = 0
        var gaveUp = false
        var restartTimer: Timer?
        /// Bumped by each rolling restart: the replacement listens on a new socket.
        var generation = 0
        init(spec: ChildSpec) { self.spec = spec }
    }

    let loop: Loop
    let log = Log("supervisor")
    let options: Options
    private var executors: [Slot] = []
    private var fronts: [Slot] = []
    private var signals: [SignalWatcher] = []
    private var stopping = false
    private var announced = false
    /// Checks executors' memory once a second; closed when the last child has stopped.
    private var memoryWatchdog: Timer?
    public private(set) var exitCode: Int32 = 0

    /// `loop`: the supervisor's own, or one it shares with the process's other work.
    public init(executors: [ChildSpec], fronts: [ChildSpec], options: Options, loop: Loop = Loop()) {
        self.loop = loop
        self.executors = executors.map(Slot.init)
        self.fronts = fronts.map(Slot.init)
        self.options = options
    }

    /// Runs until every child has stopped after a shutdown signal; returns the exit code.
    public func run() -> Int32 {
        start()
        loop.run()
        if let pidFile = options.pidFile { unlink(pidFile) }
        return exitCode
    }

    /// Starts the children and watches them on `loop`; its owner runs the loop, which stops
    /// once every child has stopped after `stop()` (or a shutdown signal).
    public func start() {
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGTERM, SIGINT] where options.stopsOnSignals {
            signals.append(SignalWatcher(loop: loop, signal: sig) { [unowned self] s in self.shutdown(signal: s) })
        }
        signals.append(SignalWatcher(loop: loop, signal: SIGHUP) { [unowned self] _ in self.rollingRestart() })
        // SIGUSR1: log rotation, as nginx does: each ready front reopens its audit log.
        signals.append(SignalWatcher(loop: loop, signal: SIGUSR1) { [unowned self] _ in
            for slot in self.fronts { if let p = slot.process, p.ready, !p.exited { p.signal(SIGUSR1) } }
        })
        // SIGUSR2: the fronts read their TLS certificate again (`switchyard reload --tls`).
        signals.append(SignalWatcher(loop: loop, signal: SIGUSR2) { [unowned self] _ in self.signalFronts(SIGUSR2) })
        if let pidFile = options.pidFile {
            let runDir = String(pidFile.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                .joined(separator: "/"))
            if (try? Metrics.install(runDir: runDir, role: "supervisor", index: 0)) == nil {
                log.warning("metrics disabled: cannot create the shared region")
            }
            let text = "\(getpid())\n"
            let fd = open(pidFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd >= 0 { _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }; close(fd) }
        }
        let watchdog = Timer(loop: loop) { [unowned self] in self.checkMemory() }
        watchdog.start(after: 1000, repeat: 1000)
        watchdog.unref()
        memoryWatchdog = watchdog
        if executors.isEmpty { startFronts() }
        for slot in executors { start(slot) }
    }

    /// Stops every child, fronts first, then executors, as SIGTERM does.
    public func stop() { shutdown(signal: SIGTERM) }

    private var allSlots: [Slot] { executors + fronts }

    @discardableResult
    private func start(_ slot: Slot) -> ChildProcess? {
        let child = ChildProcess(spec: slot.spec, loop: loop, generation: slot.generation)
        child.onReady = { [unowned self] c in self.childReady(slot, c) }
        child.onExit = { [unowned self] c, status, sig in self.childExited(slot, c, status: status, signal: sig) }
        do {
            try child.spawn()
            slot.process = child
            log.info("started", [("child", slot.spec.name), ("pid", String(child.pid))])
            // One-shot, and closed as soon as the child is ready or gone: a restart storm must
            // not pile up a timer per start.
            child.readyWatchdog = Timer.once(loop: loop, after: slot.spec.readyTimeoutMs, unref: true) {
                [weak child, unowned self] in
                guard let child, !child.ready, !child.exited else { return }
                self.log.error("child did not become ready in time; killing it", [("child", slot.spec.name)])
                child.signal(SIGKILL)
            }
            return child
        } catch {
            log.error("could not start child", [("child", slot.spec.name), ("error", "\(error)")])
            scheduleRestart(slot, clean: false, upFor: 0)
            return nil
        }
    }

    private func childReady(_ slot: Slot, _ child: ChildProcess) {
        log.info("ready", [("child", slot.spec.name), ("pid", String(child.pid))])
        child.stopTimers()
        slot.up.set(1)
        if let path = child.socketPath, slot.spec.heartbeatIntervalMs > 0 {
            let hb = Heartbeat(loop: loop, path: path, intervalMs: slot.spec.heartbeatIntervalMs,
                               timeoutMs: slot.spec.heartbeatTimeoutMs)
            hb.onMissed = { [unowned self, weak child] silent in
                guard let child, !child.exited else { return }
                self.log.error("executor missed its heartbeats; killing it",
                               [("child", slot.spec.name), ("pid", String(child.pid)), ("silentMs", String(silent))])
                child.signal(SIGKILL)
            }
            hb.start()
            child.heartbeat = hb
        }
        childReadyContinued(slot, child)
    }

    private func childReadyContinued(_ slot: Slot, _ child: ChildProcess) {
        if !announced && slot.spec.role == .executor
            && executors.allSatisfy({ $0.process?.ready == true || $0.gaveUp }) {
            if fronts.allSatisfy({ $0.process == nil }) { startFronts() }
        }
        if !announced && fronts.allSatisfy({ $0.process?.ready == true }) && !fronts.isEmpty {
            announced = true
            let line = options.readyLine + "\n"
            _ = line.withCString { Glibc.write(1, $0, strlen($0)) }
        }
    }

    private func startFronts() {
        for slot in fronts where slot.process == nil { start(slot) }
    }

    private func childExited(_ slot: Slot, _ child: ChildProcess, status: Int64, signal: Int32) {
        let upFor = loop.now &- child.startedAt
        child.heartbeat?.stop()
        child.stopTimers()
        if let path = child.socketPath { unlink(path) }
        if child.retiring {
            log.info("replaced child stopped", [("child", slot.spec.name), ("pid", String(child.pid))])
            retired(child)
            return
        }
        if slot.process === child { slot.process = nil }
        if slot.process == nil { slot.up.set(0) }
        slot.lastExit.set(signal != 0 ? LabelIndex.exitSignal
                          : status == 0 ? LabelIndex.exitClean : LabelIndex.exitError)
        let how = signal != 0 ? "signal \(signal)" : "status \(status)"
        if stopping {
            log.info("stopped", [("child", slot.spec.name), ("exit", how)])
            if status != 0 && signal != SIGTERM && signal != 0 { exitCode = 1 }
            continueShutdown()
            return
        }
        log.warning("child exited", [("child", slot.spec.name), ("pid", String(child.pid)), ("exit", how),
                                     ("upMs", String(upFor))])
        scheduleRestart(slot, clean: status == 0 && signal == 0, upFor: upFor)
    }

    private func scheduleRestart(_ slot: Slot, clean: Bool, upFor: UInt64) {
        switch slot.spec.policy.onExit(clean: clean, upForMs: upFor, now: loop.now, random: Double.random(in: 0..<1)) {
        case .stop:
            log.info("child finished; not restarting (transient)", [("child", slot.spec.name)])
        case .giveUp(let n, let period):
            slot.gaveUp = true
            slot.lastExit.set(LabelIndex.exitGaveUp)
            log.error("GIVING UP on child: it kept exiting (\(n) restarts within \(period) ms); "
                        + "the rest of the server goes on without it", [("child", slot.spec.name)])
            if allSlots.allSatisfy({ $0.gaveUp }) || executors.allSatisfy({ $0.gaveUp }) {
                exitCode = 1
                shutdown(signal: SIGTERM)
            } else if slot.spec.role == .executor, !announced,
                      executors.allSatisfy({ $0.process?.ready == true || $0.gaveUp }),
                      fronts.allSatisfy({ $0.process == nil }) {
                startFronts()
            }
        case .restart(let after):
            slot.restarts += 1
            slot.restartsMetric.increment()
            log.info("restarting", [("child", slot.spec.name), ("afterMs", String(after)),
                                    ("restarts", String(slot.restarts))])
            if after == 0 { start(slot); return }
            // One-shot: the handle closes after it fires; shutdown closes it sooner.
            slot.restartTimer = Timer.once(loop: loop, after: after) { [unowned self] in
                slot.restartTimer = nil
                if !self.stopping { self.start(slot) }
            }
        }
    }

    // MARK: health

    /// Executors above their memory limit are drained (SIGTERM) and, being permanent, restarted.
    private func checkMemory() {
        for slot in executors {
            guard let limit = slot.spec.maxRSSBytes, let p = slot.process, p.ready, !p.exited, !p.retiring,
                  let rss = ProcessMemory.rssBytes(pid: p.pid), rss > limit else { continue }
            log.warning("executor above its memory limit; draining it for a restart",
                        [("child", slot.spec.name), ("rssBytes", String(rss)), ("limitBytes", String(limit))])
            p.retiring = false
            p.signal(SIGTERM)
        }
    }

    /// Passes `sig` on to every ready front. One still starting is skipped: it may not watch the
    /// signal yet (the default action would end it), and it reads its files as it starts anyway.
    private func signalFronts(_ sig: Int32) {
        guard !stopping else { return }
        let running = fronts.compactMap(\.process).filter { $0.ready && !$0.exited }
        log.info("signalling fronts", [("signal", String(sig)), ("fronts", String(running.count))])
        for p in running { p.signal(sig) }
    }

    // MARK: rolling restart

    private var rolling: [Slot] = []
    private var rollingActive = false
    private var retiringChild: ChildProcess?

    /// SIGHUP: replace executors one at a time: start the new instance (a new socket that fronts
    /// link to), wait until it is ready and linked, then drain the old one. No call is lost: the
    /// old executor finishes what it has, fronts send new calls to the others.
    private func rollingRestart() {
        guard !stopping else { return }
        guard !rollingActive else { log.info("rolling restart already in progress"); return }
        rolling = executors.filter { !$0.gaveUp }
        rollingActive = true
        log.info("rolling restart of executors", [("count", String(rolling.count))])
        nextRoll()
    }

    private func nextRoll() {
        guard !stopping else { rollingActive = false; return }
        guard !rolling.isEmpty else {
            rollingActive = false
            log.info("rolling restart done")
            return
        }
        let slot = rolling.removeFirst()
        guard let old = slot.process else { nextRoll(); return }
        slot.generation += 1
        guard let fresh = start(slot) else { slot.generation -= 1; nextRoll(); return }
        slot.process = fresh
        let previousReady = fresh.onReady
        fresh.onReady = { [unowned self] c in
            previousReady?(c)
            // Fronts scan for sockets every 100 ms: give them time to link the new instance.
            Timer.once(loop: self.loop, after: 400) { [unowned self] in
                old.retiring = true
                self.retiringChild = old
                self.log.info("draining replaced executor", [("child", slot.spec.name), ("pid", String(old.pid))])
                old.signal(SIGTERM)
            }
        }
    }

    private func retired(_ child: ChildProcess) {
        if retiringChild === child { retiringChild = nil }
        nextRoll()
    }

    // MARK: shutdown

    private var phase = 0

    /// Fronts first (they stop accepting and answer what they hold), then executors.
    private func shutdown(signal sig: Int32) {
        guard !stopping else { return }
        stopping = true
        log.info("shutting down", [("signal", String(sig))])
        for slot in allSlots { slot.restartTimer?.close(); slot.restartTimer = nil }
        phase = 1
        stopPhase(fronts)
        continueShutdown()
    }

    private func stopPhase(_ slots: [Slot]) {
        if let r = retiringChild, !r.exited { r.signal(SIGTERM) }
        for slot in slots {
            guard let p = slot.process else { continue }
            p.signal(SIGTERM)
            // Closed when the child exits (`stopTimers`), or after firing.
            p.killTimer?.close()
            p.killTimer = Timer.once(loop: loop, after: slot.spec.shutdownTimeoutMs, unref: true) {
                [weak p, unowned self] in
                guard let p, !p.exited else { return }
                self.log.warning("child ignored SIGTERM; killing it", [("child", slot.spec.name)])
                p.signal(SIGKILL)
            }
        }
    }

    private func continueShutdown() {
        if phase == 1 && fronts.allSatisfy({ $0.process == nil }) {
            phase = 2
            stopPhase(executors)
        }
        if phase == 2 && executors.allSatisfy({ $0.process == nil }) {
            phase = 3
            for s in signals { s.close() }
            signals.removeAll()
            memoryWatchdog?.close()
            memoryWatchdog = nil
            log.info("all children stopped")
            loop.stop()
        }
    }
}
