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
/// from the log with what other hosts published meanwhile (streams opened while the log could
/// not answer too: Listeners.streamsToCatchUp gives them a cursor). Front 0 tags each append and
/// keeps a ledger (SharedDeliveryLedger), so an append whose reply was lost is delivered once on
/// its host: locally, or from the channel if that came first.
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
    /// Executors' copies waiting to be seen on the channel, oldest first (bounded); fronts other
    /// than 0 (front 0 settles each copy with its append's answer).
    private var unconfirmed: [(at: UInt64, payload: [UInt8])] = []
    /// Front 0: its appends, by tag (a lost reply is delivered once).
    private var ledger: SharedDeliveryLedger
    /// Front 0: this process's tags, `<random hex digits>.<counter in hex>` (unique per append).
    private let tagPrefix: String
    private var appendCount: UInt64 = 0
    /// A catch-up read failed (the command connection not back yet): retried by the sweep.
    private var catchUpDue = false
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
        ledger = SharedDeliveryLedger(maxAgeMs: store.maxAgeMs)
        var random = SystemRandomNumberGenerator()
        tagPrefix = String(random.next() as UInt64, radix: 16)
    }

    /// Subscribes (again after every reconnect, inside the client) and starts the sweep of
    /// unconfirmed copies.
    func start() {
        redis.subscribe(SharedEventStore.channel, onMessage: { [weak self] in self?.received($0) },
                        ready: { [weak self] in self?.subscribedAgain() })
        let t = Timer(loop: loop) { [unowned self] in
            self.deliverUnconfirmed(olderThan: Self.confirmMs)
            self.ledger.trim(self.loop.now)
            if self.catchUpDue, self.isActive { self.catchUp() }
        }
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

    /// Whether streams are served from the shared log: Redis up and the channel subscribed since
    /// Redis was last away. Only both connections down counts as away: a command connection that
    /// drops and comes back alone left the subscription in place (nothing published was missed),
    /// and while the pub/sub connection alone reconnects this front keeps appending (GET streams
    /// catch up from the log once it is back).
    var isActive: Bool {
        if !redis.isUp && !redis.isSubscriberUp { subscribed = false }
        return subscribed && redis.isUp
    }

    /// The channel is subscribed (at start, and after every reconnect): GET streams read from
    /// the log what was published while this front was not listening.
    private func subscribedAgain() {
        subscribed = true
        catchUp()
    }

    private func catchUp() {
        catchUpDue = false
        for stream in listeners.streamsToCatchUp(wallClockMs: SharedEventId.wallClockMs()) {
            store.open(after: stream.sharedCursor) { [weak self] opening in
                guard let self else { return }
                if opening == nil { self.catchUpDue = true }
                self.listeners.finishCatchUp(stream, opening) { entry in
                    self.ledger.deliveredLocally(entry.tag, toStreamOpenedAt: stream.openedAt)
                }
            }
        }
    }

    /// A notification from one of this host's executors.
    func fromExecutor(_ payload: [UInt8]) {
        guard isActive else {
            listeners.deliver(payload)
            return
        }
        guard appends else {
            if unconfirmed.count >= Self.maxUnconfirmed { listeners.deliver(unconfirmed.removeFirst().payload) }
            unconfirmed.append((loop.now, payload))
            return
        }
        appendCount &+= 1
        let tag = Array("\(tagPrefix).\(String(appendCount, radix: 16))".utf8)
        ledger.appending(tag)
        store.append(payload, tag: tag) { [weak self] id in
            guard let self else { return }
            // In the log (GET streams get it from the channel, or from the log when they catch
            // up), or not known to be but its channel copy came: delivered from there.
            guard self.ledger.appended(tag, stored: id != nil, now: self.loop.now) else { return }
            // Not known to be in the log: this host's fronts deliver their own copies (the
            // ledger keeps a late channel copy, or the log's, from delivering it again).
            self.log.warning("shared event log unavailable: notification delivered on this host only")
            self.listeners.deliver(payload)
        }
    }

    /// `<id> <tag> <payload>` from the channel.
    private func received(_ message: [UInt8]) {
        guard let entry = SharedEventStore.channelMessage(message) else { return }
        // Front 0's own append that it already delivered locally (its reply was lost).
        if let tag = entry.tag, !ledger.arrived(tag) { return }
        confirm(entry.payload)
        listeners.deliver(entry.payload, sharedId: entry.id)
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
