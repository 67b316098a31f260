import EventLoop
import Glibc
import MCPCore
import Supervisor

/// One running copy of an upstream stdio MCP server: its process, its stdin/stdout pipes
/// (newline-delimited JSON-RPC), the initialize handshake, our requests waiting for answers,
/// and its stderr lines passed to the log under the upstream's name.
///
/// Ownership: the copy owns its `ChildProcess` and the three pipes, and closes the pipes when
/// the process has exited (or when it is stopped). Thread: the loop thread.
final class UpstreamCopy: StreamDelegate {
    enum State: Equatable { case starting, ready, stopping, dead }

    /// The protocol revisions a copy may answer initialize with, newest first (we offer the first).
    static let revisions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

    let spec: UpstreamSpec
    /// Which pool slot (shared mode) or session (per-session mode) this copy serves, for logs.
    let label: String
    let loop: Loop
    let log: Log
    private(set) var state = State.starting
    private var process: ChildProcess?
    var pid: Int32 { process?.pid ?? 0 }
    /// What initialize returned.
    private(set) var serverCapabilities: [String: JSONValue] = [:]
    private(set) var protocolVersion = ""
    /// Calls running on this copy, by their upstream request id.
    var calls: [Int: UpstreamCall] = [:]
    var busy: Int { calls.count }
    /// Our own requests (initialize, lists, ping) waiting for an answer.
    private var control: [Int: (JSONRPCLines.Outcome) -> Void] = [:]
    private var nextID = 0
    /// Non-JSON lines seen on stdout (logged, the first ones only).
    private var garbageLines = 0
    /// The last line it wrote on stderr (up to 200 bytes), quoted in the error when it fails to start.
    private var lastStderr = ""
    /// Why it ended, for the calls it fails and the log.
    private(set) var endReason = ""
    /// Last time a call ended or started here (per-session idle reaping).
    var lastUsed: UInt64 = 0
    /// When `start` ran (loop clock), for the restart policy's "stable" window.
    let lastStarted: UInt64

    /// Initialized (or not: the reason).
    var onReady: ((UpstreamCopy) -> Void)?
    var onEnded: ((UpstreamCopy, String) -> Void)?
    var onNotification: ((UpstreamCopy, String, JSONValue?) -> Void)?
    var onRequest: ((UpstreamCopy, JSONValue, String, JSONValue?) -> Void)?
    var onResponse: ((UpstreamCopy, UpstreamCall, JSONRPCLines.Outcome) -> Void)?

    init(spec: UpstreamSpec, label: String, loop: Loop, log: Log) {
        self.spec = spec; self.label = label; self.loop = loop; self.log = log
        lastUsed = loop.now
        lastStarted = loop.now
    }

    /// Starts the process and sends initialize; `onReady` or `onEnded` follows.
    func start() {
        var child = ChildSpec(name: "upstream \(spec.name) \(label)", role: .executor, argv: spec.argv,
                              environment: spec.environment)
        child.standardIO = .pipes
        child.workingDirectory = spec.workingDirectory
        let p = ChildProcess(spec: child, loop: loop)
        p.onExit = { [weak self] _, status, signal in
            self?.processExited(status: status, signal: signal)
        }
        do {
            try p.spawn()
        } catch {
            end("cannot start \(spec.argv.last ?? ""): \(error)")
            return
        }
        process = p
        log.info("copy started", [("copy", label), ("pid", String(p.pid))])
        for s in [p.stdout, p.stderr] { s?.delegate = self; s?.startReading() }
        let params: JSONValue = .object([
            "protocolVersion": .string(UpstreamCopy.revisions[0]),
            "capabilities": .object(["elicitation": .object(["form": .object([:])]), "sampling": .object([:]),
                                     "roots": .object([:])]),
            "clientInfo": .object(["name": .string("switchyard"), "version": .string("1")]),
        ])
        request("initialize", params) { [weak self] outcome in self?.initialized(outcome) }
    }

    private func initialized(_ outcome: JSONRPCLines.Outcome) {
        guard state == .starting else { return }
        switch outcome {
        case .error(let code, let message, _):
            end("initialize failed: \(message) (\(code))")
        case .result(let r):
            guard let version = r["protocolVersion"]?.stringValue else {
                end("initialize answer without a protocolVersion")
                return
            }
            guard UpstreamCopy.revisions.contains(version) else {
                end("initialize answered protocol version \(version), which Switchyard does not speak")
                return
            }
            protocolVersion = version
            serverCapabilities = r["capabilities"]?.objectValue ?? [:]
            notify("notifications/initialized", nil)
            state = .ready
            lastUsed = loop.now
            log.info("copy ready", [("copy", label), ("pid", String(pid)), ("protocolVersion", version)])
            onReady?(self)
        }
    }

    // MARK: sending

    private func write(_ bytes: [UInt8]) {
        guard let stdin = process?.stdin, !stdin.isClosed else { return }
        stdin.write(bytes)
        // Writes leave at the end of a loop turn; before the loop runs (the first initialize),
        // an idle callback makes sure that turn comes instead of blocking in poll.
        if !loop.isCurrentThread { loop.runAtEndOfTurn {} }
    }

    /// Sends one of our own requests; `done` gets the answer, or `.error(-32603, why)` when the copy ends first.
    func request(_ method: String, _ params: JSONValue?, done: @escaping (JSONRPCLines.Outcome) -> Void) {
        guard state == .starting || state == .ready else {
            done(.error(code: -32603, message: "upstream copy is gone", data: nil))
            return
        }
        nextID += 1
        control[nextID] = done
        write(JSONRPCLines.request(id: nextID, method: method, params: params))
    }

    /// Sends a call's request under a fresh id and keeps the call until its answer.
    func send(_ call: UpstreamCall, params: JSONValue) {
        nextID += 1
        call.upstreamID = nextID
        call.copy = self
        calls[nextID] = call
        lastUsed = loop.now
        write(JSONRPCLines.request(id: nextID, method: call.method, params: params))
    }

    /// Forgets a call that ended without its answer (cancelled, timed out) and tells the server.
    func abandon(_ call: UpstreamCall, reason: String) {
        guard let id = call.upstreamID, calls.removeValue(forKey: id) != nil else { return }
        lastUsed = loop.now
        notify("notifications/cancelled", .object(["requestId": .number(Double(id)), "reason": .string(reason)]))
    }

    func notify(_ method: String, _ params: JSONValue?) {
        write(JSONRPCLines.notification(method: method, params: params))
    }

    /// Answers one of the server's requests.
    func respond(_ id: JSONValue, _ outcome: JSONRPCLines.Outcome) {
        write(JSONRPCLines.response(id: id, outcome: outcome))
    }

    // MARK: receiving

    func streamReadable(_ stream: StreamConnection) {
        if stream === process?.stderr {
            stderrLines(stream)
            return
        }
        let ok = JSONRPCLines.forEachMessage(stream) { message in self.handle(message) }
        if !ok { kill("wrote a line longer than \(JSONRPCLines.maxLine) bytes on stdout") }
    }

    func streamClosed(_ stream: StreamConnection, status: Int32) {
        // At end of file. After the exit, the copy ends once both outputs are read to the end.
        if exitReason != nil, outputsDone { finishExit() }
    }

    /// Set when the process has exited; `end` follows once stdout and stderr are drained (their
    /// last lines may say why it failed), or 200 ms later.
    private var exitReason: String?
    private var outputsDone: Bool {
        guard let p = process else { return true }
        return (p.stdout?.isClosed ?? true) && (p.stderr?.isClosed ?? true)
    }

    private func handle(_ message: JSONRPCLines.Message) {
        switch message {
        case .response(let id, let outcome):
            if let done = control.removeValue(forKey: id) {
                done(outcome)
            } else if let call = calls.removeValue(forKey: id) {
                lastUsed = loop.now
                onResponse?(self, call, outcome)
            }
        case .request(let id, let method, let params):
            if method == "ping" { respond(id, .result(.object([:]))); return }
            onRequest?(self, id, method, params)
        case .notification(let method, let params):
            onNotification?(self, method, params)
        case .garbage(let text):
            garbageLines += 1
            if state == .starting {
                kill("wrote something other than JSON-RPC on stdout before initializing: '\(text)'")
            } else if garbageLines <= 10 {
                log.warning("copy wrote a line that is not JSON-RPC on stdout (ignored)",
                            [("copy", label), ("line", text)])
            }
        case .strayResponse:
            break
        }
    }

    /// Stderr lines logged per second at most; the rest are counted and reported (a chatty
    /// server logging every request must not make the bridge spend its time writing logs).
    static let stderrLinesPerSecond = 100
    private var stderrSecond: UInt64 = 0
    private var stderrLogged = 0
    private var stderrDropped = 0

    /// Lines of stderr into the log, one log line each (at most 2 KiB of each).
    private func stderrLines(_ stream: StreamConnection) {
        let bytes = stream.readable
        var start = 0
        let second = loop.now / 1000
        if second != stderrSecond {
            if stderrDropped > 0 {
                log.warning("stderr lines not logged (over \(Self.stderrLinesPerSecond) a second)",
                            [("copy", label), ("dropped", String(stderrDropped))])
            }
            stderrSecond = second; stderrLogged = 0; stderrDropped = 0
        }
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<min(i, start + 2048)]), as: UTF8.self)
            if !line.isEmpty {
                if stderrLogged < Self.stderrLinesPerSecond {
                    stderrLogged += 1
                    log.info(line, [("copy", label), ("stream", "stderr")])
                } else {
                    stderrDropped += 1
                }
                lastStderr = String(line.prefix(200))
            }
            start = i + 1
        }
        if bytes.count - start > 2048 {
            // A long run without a newline counts against the same budget as a line.
            if stderrLogged < Self.stderrLinesPerSecond {
                stderrLogged += 1
                log.info(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<start + 2048]), as: UTF8.self),
                         [("copy", label), ("stream", "stderr")])
            } else {
                stderrDropped += 1
            }
            start = bytes.count
        }
        stream.consume(start)
    }

    // MARK: ending

    /// Ends the copy: SIGKILL (a hung or broken copy); the exit callback finishes the job.
    func kill(_ reason: String) {
        guard state != .dead else { return }
        if endReason.isEmpty { endReason = reason }
        log.warning("stopping copy", [("copy", label), ("pid", String(pid)), ("reason", reason)])
        if let p = process, !p.exited { p.signal(SIGKILL) } else { end(reason) }
    }

    /// A graceful stop: stdin closed (stdio servers exit at end of file), SIGTERM, SIGKILL after 2 s.
    func stop() {
        guard state == .starting || state == .ready else { return }
        state = .stopping
        if endReason.isEmpty { endReason = "stopped" }
        guard let p = process, !p.exited else { end("stopped"); return }
        p.stdin?.closeWhenFlushed()
        p.signal(SIGTERM)
        Timer.once(loop: loop, after: 2_000, unref: true) { [weak p] in
            if let p, !p.exited { p.signal(SIGKILL) }
        }
    }

    private func processExited(status: Int64, signal: Int32) {
        var how = signal != 0 ? "was killed by signal \(signal)" : "exited with status \(status)"
        if state == .starting { how += " before it finished initializing" }
        let reason = endReason.isEmpty ? "the copy \(how)" : "\(endReason) (the copy \(how))"
        exitReason = reason
        if outputsDone {
            finishExit()
        } else {
            Timer.once(loop: loop, after: 200, unref: true) { [weak self] in self?.finishExit() }
        }
    }

    private func finishExit() {
        guard state != .dead, var reason = exitReason else { return }
        if state == .starting && !lastStderr.isEmpty && !reason.contains("stderr line") {
            reason += "; its last stderr line: '\(lastStderr)'"
        }
        if state != .stopping {
            log.warning("copy ended", [("copy", label), ("pid", String(pid)), ("reason", reason)])
        }
        end(reason)
    }

    private func end(_ reason: String) {
        guard state != .dead else { return }
        let wasStarting = state == .starting
        state = .dead
        endReason = reason
        if let p = process {
            for s in [p.stdin, p.stdout, p.stderr] { s?.close() }
        }
        let pending = control
        control.removeAll()
        for done in pending.values { done(.error(code: -32603, message: reason, data: nil)) }
        _ = wasStarting
        onEnded?(self, reason)
    }
}
