import EventLoop

/// A command connection to one Redis server that comes back by itself: it resolves where to
/// connect (a fixed address, or a Sentinel's answer), opens a `RedisConnection` with the
/// handshake, and after a failure tries again with capped, jittered exponential backoff.
///
/// While it is not up, `send` refuses at once (the caller answers DOWN); with
/// `queueWhileConnecting` (cluster nodes) a command may also ride on a connection whose
/// handshake is under way, since hiredis sends it right behind the handshake.
///
/// Ownership: the link owns its current connection and its retry timer; `close` (or `retire`)
/// closes both. Thread: the loop thread only.
final class NodeLink {
    /// Where to connect; `attempt` counts the failures since the last success (a name with
    /// several addresses is tried at each of them in turn).
    typealias Resolver = (_ attempt: Int, _ done: @escaping (Lookup) -> Void) -> Void

    let name: String
    private(set) var isUp = false
    /// Where the current or last connection went.
    private(set) var endpoint: RedisEndpoint?
    var onStateChange: ((Bool) -> Void)?
    /// Every error reply of a command (the sentinel mode watches for READONLY).
    var onErrorReply: ((String) -> Void)?

    private let loop: Loop
    private let options: RedisOptions
    private let counters: RedisCounters
    private let log: (String) -> Void
    private let resolve: Resolver
    private let handshake: [HandshakeStep]
    private let queueWhileConnecting: Bool
    private var connection: RedisConnection?
    private var backoff: Backoff
    private var retry: EventLoop.Timer?
    private var attempting = false
    private var closed = false
    private var wasEverUp = false
    private(set) var lastFailure = ""

    init(name: String, loop: Loop, options: RedisOptions, counters: RedisCounters, log: @escaping (String) -> Void,
         handshake: [HandshakeStep], queueWhileConnecting: Bool = false, resolve: @escaping Resolver) {
        self.name = name
        self.loop = loop
        self.options = options
        self.counters = counters
        self.log = log
        self.handshake = handshake
        self.queueWhileConnecting = queueWhileConnecting
        self.resolve = resolve
        backoff = Backoff(base: options.reconnectBase, cap: options.reconnectCap)
    }

    func start() {
        guard !closed, connection == nil, !attempting, retry == nil else { return }
        attempt()
    }

    /// Queues one RESP command; false when the link cannot take it now.
    func send(_ command: [UInt8], _ deliver: @escaping (RedisReply) -> Void) -> Bool {
        guard let connection, connection.pending < options.maxPending else { return false }
        switch connection.phase {
        case .ready: return connection.send(command, deliver)
        case .connecting: return queueWhileConnecting && connection.send(command, deliver)
        case .closed: return false
        }
    }

    /// As many replies awaited as `maxPending`: `send` refuses until some arrive.
    var isSaturated: Bool { (connection?.pending ?? 0) >= options.maxPending }

    /// Drops the current connection and connects again (resolving anew) right away: the
    /// server is not the master any more, or a Sentinel announced a new one.
    func reconnect(_ reason: String) {
        guard !closed else { return }
        if let connection {
            connection.abort(reason)   // -> lost(), which schedules the retry
        } else if retry != nil {
            retry?.close()
            retry = nil
            attempt()
        }
    }

    /// Closes now: pending replies get DOWN errors; no reconnection.
    func close() { stop { $0.close("client closed") } }

    /// Closes once the pending replies have arrived (a node that left the cluster).
    func retire() { stop { $0.retire() } }

    /// Stops reconnecting for good and lets `end` finish the current connection.
    private func stop(_ end: (RedisConnection) -> Void) {
        guard !closed else { return }
        closed = true
        retry?.close()
        retry = nil
        onStateChange = nil
        let current = connection
        connection = nil
        isUp = false
        if let current { end(current) }
    }

    private func attempt() {
        attempting = true
        resolve(backoff.attempt) { [weak self] result in
            guard let self, !self.closed else { return }
            self.attempting = false
            switch result {
            case .failure(let why): self.failed(why.reason)
            case .success(let endpoint): self.open(endpoint)
            }
        }
    }

    private func open(_ endpoint: RedisEndpoint) {
        self.endpoint = endpoint
        let conn = RedisConnection(loop: loop, endpoint: endpoint, options: options, counters: counters, handshake: handshake)
        conn.onReady = { [weak self, unowned conn] in self?.ready(conn) }
        conn.onClosed = { [weak self, unowned conn] reason in self?.lost(conn, reason) }
        conn.onErrorReply = { [weak self] message in self?.onErrorReply?(message) }
        connection = conn
        conn.open()
    }

    private func ready(_ conn: RedisConnection) {
        guard conn === connection else { return }
        backoff.reset()
        if wasEverUp { counters.stats.reconnects += 1 }
        wasEverUp = true
        lastFailure = ""
        log("redis: \(name) connected to \(conn.endpoint)")
        setUp(true)
    }

    private func lost(_ conn: RedisConnection, _ reason: String) {
        guard conn === connection else { return }
        connection = nil
        failed("\(conn.endpoint): \(reason)")
    }

    private func failed(_ reason: String) {
        setUp(false)
        guard !closed else { return }
        // One line per distinct failure: a long outage does not flood the log.
        if reason != lastFailure { log("redis: \(name) down (\(reason)); reconnecting with backoff") }
        lastFailure = reason
        let delay = backoff.next()
        retry = EventLoop.Timer.once(loop: loop, after: delay) { [weak self] in
            guard let self else { return }
            self.retry = nil
            if !self.closed { self.attempt() }
        }
    }

    private func setUp(_ up: Bool) {
        guard isUp != up else { return }
        isUp = up
        onStateChange?(up)
    }
}
