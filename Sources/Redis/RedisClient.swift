import EventLoop

/// One logical Redis client per front process, on that front's libuv loop: pipelined commands
/// over hiredis' async API, reconnection with backoff, pub/sub on a connection of its own,
/// and the topology of the settings (one server, a Sentinel-managed master, or a Cluster).
///
/// Never blocks the loop and never queues without bound: while Redis is unreachable every
/// command fails at once with `.error("DOWN ...")`, a reply that does not come within the
/// command timeout fails its connection (and every reply pending on it) and reconnects.
///
/// Ownership: the client owns its links (each owns its hiredis contexts and timers); `close`
/// closes them all. Thread: the loop thread only (`init` may run before the loop does).
public final class RedisClient {
    /// Connected and able to serve commands (cluster: slot map known and a node up; sentinel:
    /// master resolved and verified with ROLE).
    public private(set) var isUp = false
    /// Called on the loop thread when `isUp` changes.
    public var onStateChange: ((Bool) -> Void)?
    /// The pub/sub connection is connected (its subscriptions are sent again at each connect;
    /// `subscribe`'s `ready` says when one is acknowledged).
    public var isSubscriberUp: Bool { subscriber?.isUp ?? false }

    public let settings: RedisSettings
    public let options: RedisOptions
    private let loop: Loop
    private let log: (String) -> Void
    private let counters = RedisCounters()
    /// Single server or Sentinel master: the one command link.
    private var primary: NodeLink?
    private var cluster: ClusterRouter?
    private var subscriber: PubSubLink?
    /// Sentinel: `+switch-master` announcements, to follow a failover before the old master
    /// is noticed gone.
    private var sentinelWatch: PubSubLink?
    private var sentinelResolver: SentinelResolver?
    private var started = false
    private var closed = false

    public convenience init(loop: Loop, settings: RedisSettings, log: @escaping (String) -> Void) {
        self.init(loop: loop, settings: settings, options: RedisOptions(), log: log)
    }

    public init(loop: Loop, settings: RedisSettings, options: RedisOptions, log: @escaping (String) -> Void) {
        self.loop = loop
        self.settings = settings
        self.options = options
        self.log = log
        build()
    }

    /// A client dropped without `close()` closes its connections here (on the loop thread,
    /// which owns it).
    deinit { shutDown() }

    /// Connects in the background; never blocks the loop.
    public func start() {
        guard !started, !closed else { return }
        started = true
        primary?.start()
        cluster?.start()
        subscriber?.start()
        sentinelWatch?.start()
    }

    /// The links of the topology, built at `init` (no I/O until `start`), so that `subscribe`
    /// may come before `start`.
    private func build() {
        switch settings.topology {
        case .single(let endpoint):
            primary = commandLink(name: "server", handshake: Handshake.login(settings) + Handshake.select(settings.database)
                                  + [Handshake.ping]) { [loop] attempt, done in
                HostResolver.resolve(loop: loop, endpoint, turn: attempt, done)
            }
            subscriber = pubSubLink { [loop] attempt, done in HostResolver.resolve(loop: loop, endpoint, turn: attempt, done) }
        case .sentinel(let sentinels, let master):
            let resolver = SentinelResolver(sentinels: sentinels, master: master, settings: settings, loop: loop,
                                            options: options, counters: counters)
            sentinelResolver = resolver
            let link = commandLink(name: "master \(master)", handshake: Handshake.login(settings)
                                   + Handshake.select(settings.database) + [Handshake.roleMaster]) { _, done in resolver.resolve(done) }
            // A write refused as READONLY: the server was demoted; find the master again.
            link.onErrorReply = { [weak link] message in
                if message.hasPrefix("READONLY") { link?.reconnect("the server answered READONLY") }
            }
            primary = link
            subscriber = pubSubLink { _, done in resolver.resolve(done) }
            watchSwitchMaster(master: master, resolver: resolver)
        case .cluster(let seeds):
            let router = ClusterRouter(seeds: seeds, settings: settings, loop: loop, options: options,
                                       counters: counters, log: log)
            router.onStateChange = { [weak self] _ in self?.updateState() }
            cluster = router
            subscriber = pubSubLink { attempt, done in router.anyNode(turn: attempt, done) }
        }
    }

    /// Closes every connection and handle; pending replies get DOWN errors.
    public func close() {
        guard !closed else { return }
        shutDown()
        updateState()
    }

    private func shutDown() {
        closed = true
        primary?.close()
        cluster?.close()
        subscriber?.close()
        sentinelWatch?.close()
        sentinelResolver?.close()
    }

    /// Sends one command (pipelined). `reply` is called exactly once on the loop thread, with
    /// `.error("DOWN ...")` at once when Redis is unreachable. `key` routes it in a cluster
    /// (nil: any node); MOVED and ASK are followed.
    public func send(_ args: [[UInt8]], key: [UInt8]?, _ reply: @escaping (RedisReply) -> Void) {
        counters.stats.commands += 1
        guard let name = args.first else { return refuse(.error("ERR empty command"), reply) }
        // hiredis would move the connection into pub/sub mode and misroute every later reply.
        guard !RESPCommand.isModeChanging(name) else {
            return refuse(.error("ERR \(String(decoding: name, as: UTF8.self)) is not allowed here (use subscribe)"), reply)
        }
        let command = RESPCommand.encode(args)
        if let cluster {
            cluster.send(command, key: key, reply)
        } else if let primary, primary.send(command, reply) {
            return
        } else if let primary, primary.isSaturated {
            refuse(.error("BUSY Redis: \(options.maxPending) replies awaited on the connection"), reply)
        } else {
            refuse(.error("DOWN Redis \(closed ? "client closed" : "not connected")"), reply)
        }
    }

    /// Pub/sub on a dedicated connection, resubscribed after every reconnect; `ready` runs at
    /// each SUBSCRIBE acknowledgement. One handler per channel (a second call replaces it).
    public func subscribe(_ channel: [UInt8], onMessage: @escaping ([UInt8]) -> Void, ready: (() -> Void)?) {
        subscriber?.subscribe(channel, .init(onMessage: onMessage, ready: ready))
    }

    public func unsubscribe(_ channel: [UInt8]) {
        subscriber?.unsubscribe(channel)
    }

    /// Counters for /metrics.
    public var stats: RedisStats {
        var s = counters.stats
        s.isUp = isUp
        return s
    }

    /// Why commands cannot be served, as last seen ("" before any failure): the failure of the
    /// command connection, or of the cluster's slot map. For a start-up check's message; never
    /// holds the password.
    public var lastFailure: String { primary?.lastFailure ?? cluster?.lastRefreshFailure ?? "" }

    // MARK: - Wiring

    private func refuse(_ error: RedisReply, _ reply: (RedisReply) -> Void) {
        counters.stats.errors += 1
        reply(error)
    }

    private func commandLink(name: String, handshake: [HandshakeStep], resolve: @escaping NodeLink.Resolver) -> NodeLink {
        let link = NodeLink(name: name, loop: loop, options: options, counters: counters, log: log,
                            handshake: handshake, resolve: resolve)
        link.onStateChange = { [weak self] _ in self?.updateState() }
        return link
    }

    private func pubSubLink(resolve: @escaping NodeLink.Resolver) -> PubSubLink {
        // No SELECT: channels are not per database.
        PubSubLink(name: "pub/sub", loop: loop, options: options, counters: counters, log: log,
                   handshake: Handshake.login(settings) + [Handshake.ping], resolve: resolve)
    }

    private func watchSwitchMaster(master: String, resolver: SentinelResolver) {
        let watch = PubSubLink(name: "sentinel watch", loop: loop, options: options, counters: counters, log: log,
                               handshake: Handshake.login(settings, ignoringRefusal: true) + [Handshake.ping]) { _, done in
            resolver.nextSentinel(done)
        }
        // "<name> <old-ip> <old-port> <new-ip> <new-port>"
        watch.subscribe(Array("+switch-master".utf8), .init(onMessage: { [weak self] payload in
            let words = payload.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            guard let self, words.count == 5, words[0] == master else { return }
            let announced = RedisEndpoint(host: words[3], port: Int(words[4]) ?? 0)
            guard announced != self.primary?.endpoint else { return }
            self.log("redis: Sentinel announced master \(master) at \(announced)")
            self.primary?.reconnect("Sentinel announced a new master")
            self.subscriber?.reconnect("Sentinel announced a new master")
        }, ready: nil))
        sentinelWatch = watch
    }

    private func updateState() {
        let up = !closed && (primary?.isUp ?? cluster?.isUp ?? false)
        guard up != isUp else { return }
        isUp = up
        onStateChange?(up)
    }
}
