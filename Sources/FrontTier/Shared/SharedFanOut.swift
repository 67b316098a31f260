import EventLoop
import Redis

/// Link-wide notifications (list changes, resources/updated) across hosts, when Redis is
/// configured: every front of every host subscribes to `sy:notify` before it serves a shared GET
/// stream, and delivers to its own streams (2025-11-25 GET streams, 2026-07-28
/// `subscriptions/listen` streams) only what arrives on that channel, with the shared log's id.
///
/// An executor sends each notification to every front of its host; front 0 of that host appends it
/// to the shared log, which publishes it (SharedEventStore), and the other fronts drop their copy.
/// So no host delivers anything twice: not its own publications, not its executors' copies.
/// A copy not seen on the channel within `confirmMs` (front 0 away, Redis lost it) is delivered
/// locally, as when Redis is down: then each front delivers its executors' copies itself, with
/// local event ids, and nothing crosses hosts until Redis is back; then GET streams catch up
/// from the log with what other hosts published meanwhile.
/// Thread: the loop thread.
final class SharedFanOut {
    let store: SharedEventStore
    private let redis: RedisClient
    private let listeners: Listeners
    private let log: Log
    /// Front 0 of each host appends its executors' notifications to the shared log.
    private let appends: Bool
    /// The subscription is acknowledged (since the client's last reconnect, as far as seen).
    private var subscribed = false
    /// Executors' copies waiting to be seen on the channel, oldest first (bounded).
    private var unconfirmed: [(at: UInt64, payload: [UInt8])] = []
    private var sweep: Timer?
    private let loop: Loop

    static let confirmMs: UInt64 = 2_000
    static let maxUnconfirmed = 1_000

    init(redis: RedisClient, loop: Loop, listeners: Listeners, store: SharedEventStore, front: Int, log: Log) {
        self.redis = redis
        self.loop = loop
        self.listeners = listeners
        self.store = store
        self.log = log
        appends = front == 0
    }

    /// Subscribes (again after every reconnect, inside the client) and starts the sweep of
    /// unconfirmed copies.
    func start() {
        redis.subscribe(SharedEventStore.channel, onMessage: { [weak self] in self?.received($0) },
                        ready: { [weak self] in self?.subscribedAgain() })
        let t = Timer(loop: loop) { [unowned self] in self.deliverUnconfirmed(olderThan: Self.confirmMs) }
        t.start(after: 500, repeat: 500)
        t.unref()
        sweep = t
    }

    /// Stops the sweep and the subscription (the timer's close completes on the loop's next turn).
    func stop() {
        sweep?.close()
        sweep = nil
        deliverUnconfirmed(olderThan: 0)
        redis.unsubscribe(SharedEventStore.channel)
    }

    /// Whether streams are served from the shared log: Redis up and the channel subscribed.
    var isActive: Bool {
        if !redis.isUp { subscribed = false }
        return subscribed
    }

    /// The channel is subscribed (at start, and after every reconnect): GET streams read from
    /// the log what was published while this front was not listening.
    private func subscribedAgain() {
        subscribed = true
        for stream in listeners.streamsToCatchUp() {
            store.open(after: stream.sharedCursor) { [weak listeners] opening in
                listeners?.finishCatchUp(stream, opening)
            }
        }
    }

    /// A notification from one of this host's executors.
    func fromExecutor(_ payload: [UInt8]) {
        guard isActive else {
            listeners.deliver(payload)
            return
        }
        if unconfirmed.count >= Self.maxUnconfirmed { listeners.deliver(unconfirmed.removeFirst().payload) }
        unconfirmed.append((loop.now, payload))
        guard appends else { return }
        store.append(payload) { [weak self] id in
            guard let self else { return }
            // In the log: GET streams get it from the channel, or from the log when they catch up.
            guard id == nil else { return self.confirm(payload) }
            // Not in the log, not published: this host's fronts deliver their own copies.
            self.log.warning("shared event log unavailable: notification delivered on this host only")
            self.confirm(payload)
            self.listeners.deliver(payload)
        }
    }

    /// `<id> <payload>` from the channel.
    private func received(_ message: [UInt8]) {
        guard let space = message.firstIndex(of: UInt8(ascii: " ")),
              let id = SharedEventId(Array(message[..<space])) else { return }
        let payload = Array(message[(space + 1)...])
        confirm(payload)
        listeners.deliver(payload, sharedId: id)
    }

    /// A copy of this payload reached the channel: the oldest such unconfirmed copy is settled
    /// (an identical notification of another host settles it as well: the streams got the same).
    private func confirm(_ payload: [UInt8]) {
        if let i = unconfirmed.firstIndex(where: { $0.payload == payload }) { unconfirmed.remove(at: i) }
    }

    private func deliverUnconfirmed(olderThan ms: UInt64) {
        let now = loop.now
        while let first = unconfirmed.first, now &- first.at >= ms {
            unconfirmed.removeFirst()
            listeners.deliver(first.payload)
        }
    }
}
