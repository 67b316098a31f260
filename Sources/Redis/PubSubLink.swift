import EventLoop

/// The pub/sub connection: SUBSCRIBEs every channel it holds on each (re)connection, calls a
/// channel's `ready` on each acknowledgement, and hands messages to the channel's handler.
/// It connects only once a channel is subscribed; it reconnects with backoff while any is.
///
/// Ownership: owns its current connection and retry timer; `close` closes both.
/// Thread: the loop thread only.
final class PubSubLink {
    struct Subscription {
        let onMessage: ([UInt8]) -> Void
        let ready: (() -> Void)?
    }

    let name: String
    private(set) var isUp = false
    private var channels: [[UInt8]: Subscription] = [:]
    /// Channels whose SUBSCRIBE acknowledgement is awaited on the current connection.
    private var awaitingAck: Set<[UInt8]> = []
    private let loop: Loop
    private let options: RedisOptions
    private let counters: RedisCounters
    private let log: (String) -> Void
    private let resolve: NodeLink.Resolver
    private let handshake: [HandshakeStep]
    private var connection: RedisConnection?
    private var backoff: Backoff
    private var retry: EventLoop.Timer?
    private var attempting = false
    private var closed = false
    private var lastFailure = ""

    init(name: String, loop: Loop, options: RedisOptions, counters: RedisCounters, log: @escaping (String) -> Void,
         handshake: [HandshakeStep], resolve: @escaping NodeLink.Resolver) {
        self.name = name
        self.loop = loop
        self.options = options
        self.counters = counters
        self.log = log
        self.handshake = handshake
        self.resolve = resolve
        backoff = Backoff(base: options.reconnectBase, cap: options.reconnectCap)
    }

    func subscribe(_ channel: [UInt8], _ subscription: Subscription) {
        guard !closed else { return }
        channels[channel] = subscription
        if let connection, connection.phase == .ready {
            send(subscribe: [channel], on: connection)
        } else if connection == nil, retry == nil, !attempting {
            attempt()
        }
    }

    func unsubscribe(_ channel: [UInt8]) {
        guard channels.removeValue(forKey: channel) != nil else { return }
        awaitingAck.remove(channel)
        if awaitingAck.isEmpty { connection?.awaitingPush = false }
        connection?.unsubscribe([channel])
    }

    /// Drops the connection and subscribes again from a fresh one (a new master).
    func reconnect(_ reason: String) {
        guard !closed, let connection else { return }
        connection.abort(reason)
    }

    func close() {
        guard !closed else { return }
        closed = true
        retry?.close()
        retry = nil
        channels = [:]
        let current = connection
        connection = nil
        current?.close("client closed")
    }

    private func attempt() {
        attempting = true
        resolve { [weak self] result in
            guard let self, !self.closed else { return }
            self.attempting = false
            switch result {
            case .failure(let why): self.failed(why.reason)
            case .success(let endpoint): self.open(endpoint)
            }
        }
    }

    private func open(_ endpoint: RedisEndpoint) {
        let conn = RedisConnection(loop: loop, endpoint: endpoint, options: options, counters: counters, handshake: handshake)
        conn.onReady = { [weak self, unowned conn] in self?.ready(conn) }
        conn.onClosed = { [weak self, unowned conn] reason in self?.lost(conn, reason) }
        conn.onPush = { [weak self] reply in self?.pushed(reply) }
        connection = conn
        conn.open()
    }

    private func ready(_ conn: RedisConnection) {
        guard conn === connection else { return }
        backoff.reset()
        lastFailure = ""
        isUp = true
        awaitingAck = []
        log("redis: \(name) connected to \(conn.endpoint)")
        send(subscribe: Array(channels.keys), on: conn)
    }

    private func send(subscribe list: [[UInt8]], on conn: RedisConnection) {
        guard !list.isEmpty else { return }
        if conn.subscribe(list) {
            conn.awaitingPush = true
            awaitingAck.formUnion(list)
        } else {
            conn.abort("cannot queue SUBSCRIBE")
        }
    }

    private func pushed(_ reply: RedisReply) {
        guard case .array(let items) = reply, items.count >= 3, let kind = items[0].string,
              case .bulk(let channel) = items[1] else { return }
        switch kind {
        case "message":
            guard case .bulk(let payload) = items[2], let subscription = channels[channel] else { return }
            counters.stats.messages += 1
            subscription.onMessage(payload)
        case "subscribe":
            awaitingAck.remove(channel)
            // Progress: the watchdog's clock starts again for the acknowledgements still due.
            connection?.awaitingPush = false
            if !awaitingAck.isEmpty { connection?.awaitingPush = true }
            channels[channel]?.ready?()
        default:
            break
        }
    }

    private func lost(_ conn: RedisConnection, _ reason: String) {
        guard conn === connection else { return }
        connection = nil
        isUp = false
        failed("\(conn.endpoint): \(reason)")
    }

    private func failed(_ reason: String) {
        isUp = false
        guard !closed, !channels.isEmpty else { return }
        if reason != lastFailure { log("redis: \(name) down (\(reason)); resubscribing with backoff") }
        lastFailure = reason
        retry = EventLoop.Timer.once(loop: loop, after: backoff.next()) { [weak self] in
            guard let self else { return }
            self.retry = nil
            if !self.closed, !self.channels.isEmpty, self.connection == nil { self.attempt() }
        }
    }
}
