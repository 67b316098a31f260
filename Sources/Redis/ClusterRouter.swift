import EventLoop

/// Redis Cluster: the slot map (`CLUSTER SLOTS`), one command link per master, and each
/// command sent to the master of its key's slot, following MOVED (the map is corrected, the
/// command retried there, and the whole map refreshed) and ASK (`ASKING` then the command on
/// the named node), at most `maxRedirections` times. A node that goes down, MOVED and
/// CLUSTERDOWN refresh the map; refreshes are coalesced (one in flight, at most one queued).
///
/// Ownership: owns its links, the short-lived connections that ask for the map, and its retry
/// timers; `close` closes them. Thread: the loop thread only.
final class ClusterRouter {
    private(set) var isUp = false
    var onStateChange: ((Bool) -> Void)?

    private enum Target {
        case slotOwner
        case node(RedisEndpoint)
        case asking(RedisEndpoint)
    }

    private let seeds: [RedisEndpoint]
    private let settings: RedisSettings
    private let loop: Loop
    private let options: RedisOptions
    private let counters: RedisCounters
    private let log: (String) -> Void
    private let handshake: [HandshakeStep]
    private var map: ClusterSlotMap?
    private var links: [RedisEndpoint: NodeLink] = [:]
    private var refreshing = false
    private var refreshQueued = false
    private var refreshTimer: EventLoop.Timer?
    private var refreshBackoff: Backoff
    private var anyNodeTurn = 0
    /// Connections asking a node not linked yet for the map, closed by `close`.
    private var probes: [ObjectIdentifier: RedisConnection] = [:]
    private(set) var lastRefreshFailure = ""
    /// Commands waiting to go again after TRYAGAIN: on `close` their timers are closed and
    /// their callers answered.
    private var retries: [Int: (timer: EventLoop.Timer, reply: (RedisReply) -> Void)] = [:]
    private var retryKey = 0
    private var closed = false
    private static let asking = RESPCommand.encode([Array("ASKING".utf8)])
    private static let clusterSlots = RESPCommand.encode([Array("CLUSTER".utf8), Array("SLOTS".utf8)])
    /// Between two refreshes asked for by MOVED replies or commands refused by a down node.
    private static let refreshSpacing: UInt64 = 250
    /// Before a command that got TRYAGAIN (a multi-key command during a migration) goes again.
    private static let tryAgainDelay: UInt64 = 20

    init(seeds: [RedisEndpoint], settings: RedisSettings, loop: Loop, options: RedisOptions,
         counters: RedisCounters, log: @escaping (String) -> Void) {
        self.seeds = seeds
        self.settings = settings
        self.loop = loop
        self.options = options
        self.counters = counters
        self.log = log
        handshake = Handshake.login(settings) + [Handshake.ping]
        refreshBackoff = Backoff(base: options.reconnectBase, cap: options.reconnectCap)
    }

    func start() { refresh() }

    func close() {
        guard !closed else { return }
        closed = true
        refreshTimer?.close()
        refreshTimer = nil
        for link in links.values { link.close() }
        links = [:]
        let open = probes.values
        probes = [:]
        for conn in open { conn.close("client closed") }
        let waiting = retries.values
        retries = [:]
        for retry in waiting {
            retry.timer.close()
            retry.reply(.error("DOWN Redis client closed"))
        }
        setUp(false)
    }

    func send(_ command: [UInt8], key: [UInt8]?, _ reply: @escaping (RedisReply) -> Void) {
        send(command, key: key, to: .slotOwner, redirections: 0, reply)
    }

    /// A node for the pub/sub connection: each call the next master (or seed), so that a
    /// subscriber whose node died moves on.
    func anyNode(turn: Int, _ done: @escaping (Lookup) -> Void) {
        var candidates = map?.masters ?? []
        for seed in seeds where !candidates.contains(seed) { candidates.append(seed) }
        guard !candidates.isEmpty else { return done(.failure("no cluster node configured")) }
        anyNodeTurn += 1
        HostResolver.resolve(loop: loop, candidates[anyNodeTurn % candidates.count], turn: turn, done)
    }

    // MARK: - Routing

    private func send(_ command: [UInt8], key: [UInt8]?, to target: Target, redirections: Int,
                      _ reply: @escaping (RedisReply) -> Void) {
        guard !closed else { return refuse("DOWN Redis client closed", reply) }
        guard let map else { return refuse("DOWN Redis Cluster slot map not known yet", reply) }
        let node: RedisEndpoint
        switch target {
        case .node(let endpoint), .asking(let endpoint):
            node = endpoint
        case .slotOwner:
            if let key {
                let slot = ClusterSlot.of(key)
                guard let owner = map.master(of: slot) else {
                    refreshSoon()
                    return refuse("DOWN Redis Cluster: no node serves slot \(slot)", reply)
                }
                node = owner
            } else if let up = links.first(where: { $0.value.isUp })?.key {
                node = up
            } else {
                return refuse("DOWN Redis Cluster: no node reachable", reply)
            }
        }
        let link = self.link(for: node)
        if case .asking = target {
            // ASKING holds for the next command on the same connection: both go out together.
            _ = link.send(ClusterRouter.asking) { _ in }
        }
        let sent = link.send(command) { [weak self] answer in
            guard let self else { return reply(answer) }
            self.handle(answer, command: command, key: key, redirections: redirections, reply)
        }
        if !sent, link.isSaturated {
            refuse("BUSY Redis Cluster node \(node): \(options.maxPending) replies awaited", reply)
        } else if !sent {
            // Its slots may have moved to a promoted replica: only a new map tells.
            refreshSoon()
            refuse("DOWN Redis Cluster node \(node) not connected", reply)
        }
    }

    private func handle(_ answer: RedisReply, command: [UInt8], key: [UInt8]?, redirections: Int,
                        _ reply: @escaping (RedisReply) -> Void) {
        guard let code = answer.errorCode, ["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"].contains(code) else {
            return reply(answer)
        }
        let message = answer.errorMessage ?? ""
        if code == "CLUSTERDOWN" {
            refreshSoon()
            return reply(answer)
        }
        guard redirections < options.maxRedirections else {
            counters.stats.errors += 1
            return reply(.error("REDIRECT gave up after \(options.maxRedirections) redirections (last: \(message))"))
        }
        if code == "TRYAGAIN" {
            retryKey += 1
            let id = retryKey
            let timer = Timer.once(loop: loop, after: ClusterRouter.tryAgainDelay) { [weak self] in
                guard let self, self.retries.removeValue(forKey: id) != nil else { return }
                self.send(command, key: key, to: .slotOwner, redirections: redirections + 1, reply)
            }
            retries[id] = (timer, reply)
            return
        }
        guard let redirection = Redirection(message) else { return reply(answer) }
        counters.stats.redirections += 1
        switch redirection {
        case .moved(let slot, let to):
            map?.assign(slot, to: to)
            refreshSoon()
            send(command, key: key, to: .node(to), redirections: redirections + 1, reply)
        case .ask(_, let to):
            send(command, key: key, to: .asking(to), redirections: redirections + 1, reply)
        }
    }

    private func refuse(_ message: String, _ reply: (RedisReply) -> Void) {
        counters.stats.errors += 1
        reply(.error(message))
    }

    private func link(for node: RedisEndpoint) -> NodeLink {
        if let link = links[node] { return link }
        let link = NodeLink(name: "cluster node \(node)", loop: loop, options: options, counters: counters, log: log,
                            handshake: handshake, queueWhileConnecting: true) { [loop] attempt, done in
            HostResolver.resolve(loop: loop, node, turn: attempt, done)
        }
        link.onStateChange = { [weak self] up in
            guard let self else { return }
            // A node that went away: its slots may have moved to a promoted replica.
            if !up { self.refreshSoon() }
            self.updateState()
        }
        links[node] = link
        link.start()
        return link
    }

    // MARK: - Slot map

    private func refreshSoon() {
        guard !closed else { return }
        if refreshing || refreshTimer != nil { refreshQueued = true } else { refresh() }
    }

    private func refresh() {
        guard !closed, !refreshing else { return }
        refreshing = true
        refreshQueued = false
        // Nodes already connected first, then the rest of the map, then the seeds.
        var candidates = links.filter { $0.value.isUp }.map(\.key)
        for node in (map?.masters ?? []) + seeds where !candidates.contains(node) { candidates.append(node) }
        ask(candidates, 0, failures: [])
    }

    private func ask(_ candidates: [RedisEndpoint], _ index: Int, failures: [String]) {
        guard !closed else { return }
        guard index < candidates.count else { return refreshFailed(failures) }
        let node = candidates[index]
        var moved = false
        let next: (String) -> Void = { [weak self] why in
            guard !moved else { return }
            moved = true
            self?.ask(candidates, index + 1, failures: failures + ["\(node): \(why)"])
        }
        let answer: (RedisReply, RedisEndpoint) -> Void = { [weak self] reply, answeredBy in
            guard let self, !self.closed, !moved else { return }
            guard let fresh = ClusterSlotMap(slotsReply: reply, answeredBy: answeredBy) else {
                return next(reply.errorMessage ?? "unexpected CLUSTER SLOTS reply")
            }
            moved = true
            self.apply(fresh)
        }
        if let link = links[node], link.isUp, link.send(ClusterRouter.clusterSlots, { answer($0, node) }) {
            return
        }
        HostResolver.resolve(loop: loop, node) { [weak self] resolved in
            guard let self, !self.closed else { return }
            guard case .success(let address) = resolved else {
                if case .failure(let why) = resolved { next(why.reason) }
                return
            }
            let conn = RedisConnection(loop: self.loop, endpoint: address, options: self.options,
                                       counters: self.counters, handshake: self.handshake)
            let id = ObjectIdentifier(conn)
            self.probes[id] = conn
            conn.onClosed = { [weak self] reason in
                self?.probes[id] = nil
                next(reason)
            }
            conn.onReady = { [weak self, unowned conn] in
                let sent = conn.send(ClusterRouter.clusterSlots) { reply in
                    conn.close("answered")
                    self?.probes[id] = nil
                    answer(reply, address)
                }
                if !sent { conn.abort("cannot queue CLUSTER SLOTS") }
            }
            conn.open()
        }
    }

    private func apply(_ fresh: ClusterSlotMap) {
        refreshing = false
        lastRefreshFailure = ""
        refreshBackoff.reset()
        if fresh != map {
            let nodes = fresh.masters.map(\.description).joined(separator: ", ")
            log("redis: cluster slot map: \(fresh.masters.count) masters (\(nodes))")
        }
        map = fresh
        for node in fresh.masters { _ = link(for: node) }
        for (node, link) in links where !fresh.masters.contains(node) {
            link.retire()
            links[node] = nil
        }
        updateState()
        if refreshQueued { scheduleRefresh(after: ClusterRouter.refreshSpacing) }
    }

    private func refreshFailed(_ failures: [String]) {
        refreshing = false
        let failure = failures.joined(separator: "; ")
        // One line per distinct failure: an outage does not log every retry.
        if failure != lastRefreshFailure { log("redis: cluster slot map unavailable (\(failure)); retrying") }
        lastRefreshFailure = failure
        updateState()
        scheduleRefresh(after: refreshBackoff.next())
    }

    private func scheduleRefresh(after delay: UInt64) {
        guard !closed, refreshTimer == nil else { return }
        refreshTimer = Timer.once(loop: loop, after: delay) { [weak self] in
            guard let self else { return }
            self.refreshTimer = nil
            self.refresh()
        }
    }

    private func updateState() {
        setUp(!closed && map != nil && links.values.contains { $0.isUp })
    }

    private func setUp(_ up: Bool) {
        guard up != isUp else { return }
        isUp = up
        onStateChange?(up)
    }
}
