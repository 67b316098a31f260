import EventLoop
import Glibc

/// Starts the children (executors first, then fronts), restarts those that die according to
/// their policy, and on SIGTERM/SIGINT stops fronts first (they drain), then executors.
/// Thread: the loop thread.
public final class Supervisor {
    public struct Options: Sendable {
        /// Printed on stdout once every front and executor is ready.
        public var readyLine: String
        public init(readyLine: String) { self.readyLine = readyLine }
    }

    final class Slot {
        var spec: ChildSpec
        var process: ChildProcess?
        var restarts = 0
        var gaveUp = false
        var restartTimer: Timer?
        init(spec: ChildSpec) { self.spec = spec }
    }

    let loop = Loop()
    let log = Log("supervisor")
    let options: Options
    private var executors: [Slot] = []
    private var fronts: [Slot] = []
    private var signals: [SignalWatcher] = []
    private var stopping = false
    private var announced = false
    public private(set) var exitCode: Int32 = 0

    public init(executors: [ChildSpec], fronts: [ChildSpec], options: Options) {
        self.executors = executors.map(Slot.init)
        self.fronts = fronts.map(Slot.init)
        self.options = options
    }

    /// Runs until every child has stopped after a shutdown signal; returns the exit code.
    public func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGTERM, SIGINT] {
            signals.append(SignalWatcher(loop: loop, signal: sig) { [unowned self] s in self.shutdown(signal: s) })
        }
        if executors.isEmpty { startFronts() }
        for slot in executors { start(slot) }
        loop.run()
        return exitCode
    }

    private var allSlots: [Slot] { executors + fronts }

    private func start(_ slot: Slot) {
        let child = ChildProcess(spec: slot.spec, loop: loop)
        child.onReady = { [unowned self] c in self.childReady(slot, c) }
        child.onExit = { [unowned self] c, status, sig in self.childExited(slot, c, status: status, signal: sig) }
        do {
            try child.spawn()
            slot.process = child
            log.info("started", [("child", slot.spec.name), ("pid", String(child.pid))])
            let watchdog = Timer(loop: loop) { [weak child, unowned self] in
                guard let child, !child.ready, !child.exited else { return }
                self.log.error("child did not become ready in time; killing it", [("child", slot.spec.name)])
                child.signal(SIGKILL)
            }
            watchdog.start(after: slot.spec.readyTimeoutMs)
            watchdog.unref()
        } catch {
            log.error("could not start child", [("child", slot.spec.name), ("error", "\(error)")])
            scheduleRestart(slot, clean: false, upFor: 0)
        }
    }

    private func childReady(_ slot: Slot, _ child: ChildProcess) {
        log.info("ready", [("child", slot.spec.name), ("pid", String(child.pid))])
        if !announced && slot.spec.role == .executor && executors.allSatisfy({ $0.process?.ready == true || $0.gaveUp }) {
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
        if slot.process === child { slot.process = nil }
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
            log.error("GIVING UP on child: it kept exiting (\(n) restarts within \(period) ms)", [("child", slot.spec.name)])
            if allSlots.allSatisfy({ $0.gaveUp }) { exitCode = 1; shutdown(signal: SIGTERM) }
        case .restart(let after):
            slot.restarts += 1
            log.info("restarting", [("child", slot.spec.name), ("afterMs", String(after)), ("restarts", String(slot.restarts))])
            if after == 0 { start(slot); return }
            let t = Timer(loop: loop) { [unowned self] in
                slot.restartTimer = nil
                if !self.stopping { self.start(slot) }
            }
            t.start(after: after)
            slot.restartTimer = t
        }
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
        for slot in slots {
            guard let p = slot.process else { continue }
            p.signal(SIGTERM)
            let kill = Timer(loop: loop) { [weak p, unowned self] in
                guard let p, !p.exited else { return }
                self.log.warning("child ignored SIGTERM; killing it", [("child", slot.spec.name)])
                p.signal(SIGKILL)
            }
            kill.start(after: slot.spec.shutdownTimeoutMs)
            kill.unref()
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
            log.info("all children stopped")
            loop.stop()
        }
    }
}
