import EventLoop
import Redis

/// Link-wide notifications (list changes, resources/updated) across hosts, when Redis is
/// configured: every front of every host subscribes to `sy:notify` before it serves a shared GET
/// stream, and delivers to its own streams (2025-11-25 GET streams, 2026-07-28
/// `subscriptions/listen` streams) only what arrives on that channel, with the shared log's id.
///
/// An executor sends each notification to every front of its host; front 0 of that host appends it
/// to the shared log, which publishes it (SharedEventStore), and the other fronts hold their copy
/// until the entry shows up (SharedHostCopies: entries carry the host's id in their tag). So no
/// host delivers anything twice: not its own publications, not its executors' copies.
/// A copy whose entry is not seen within `confirmMs` (front 0 away, Redis lost it) is delivered
/// locally, as when Redis is down: then each front delivers its executors' copies itself, with
/// local event ids, and nothing crosses hosts until Redis is back.
///
/// Every time the channel is subscribed again (Redis, or only the pub/sub connection, was away)
/// the front catches up from the log: channel messages are held while it reads the entries after
/// the newest it had, which go to its `subscriptions/listen` streams and to GET streams past their
/// cursor (streams opened while the log could not answer get a cursor: Listeners.catchUpCursor),
/// and settle copies as the channel would have. Front 0 tags each append and keeps a ledger
/// (SharedDeliveryLedger), the other fronts their copies: an entry whose copy was delivered
/// locally (an append whose reply was lost, a copy that waited too long, a front that was not on
/// the log) reaches only streams opened since. So each notification is delivered once on its host.
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
    /// Fronts other than 0: their executors' copies, paired with their host's entries.
    private var copies: SharedHostCopies
    /// Front 0: its appends, by tag (a lost reply is delivered once).
    private var ledger: SharedDeliveryLedger
    /// This host's id and a dot: the start of every tag its front 0 makes.
    private let hostTag: [UInt8]
    /// Front 0: this process's tags, `<host id>.<random hex digits>.<counter in hex>` (unique per
    /// append, and naming the host to its other fronts).
    private let tagPrefix: String
    private var appendCount: UInt64 = 0
    /// Channel messages held while a catch-up reads the log (nil: none running).
    private var heldMessages: [SharedEventStore.Entry]?
    /// A catch-up read failed (the command connection not back yet): retried by the sweep.
    private var catchUpDue = false
    private var sweep: Timer?
    private let loop: Loop

    static let confirmMs: UInt64 = 2_000
    static let maxUnconfirmed = 1_000

    init(redis: RedisClient, loop: Loop, listeners: Listeners, store: SharedEventStore, front: Int,
         host: String, log: Log) {
        self.redis = redis
        self.loop = loop
        self.listeners = listeners
        self.store = store
        self.log = log
        appends = front == 0
        ledger = SharedDeliveryLedger(maxAgeMs: store.maxAgeMs)
        copies = SharedHostCopies(maxCount: Self.maxUnconfirmed, maxAgeMs: store.maxAgeMs, earlyMs: Self.confirmMs)
        var random = SystemRandomNumberGenerator()
        // HostIdentity's ids are 16 hex digits, a tag's characters.
        let hostPart = "\(host.lowercased().filter { $0.isHexDigit }.prefix(16))."
        hostTag = Array(hostPart.utf8)
        tagPrefix = hostPart + String(random.next() as UInt64, radix: 16)
    }

    /// Subscribes (again after every reconnect, inside the client) and starts the sweep of
    /// unconfirmed copies.
    func start() {
        redis.subscribe(SharedEventStore.channel, onMessage: { [weak self] in self?.received($0) },
                        ready: { [weak self] in self?.subscribedAgain() })
        let t = Timer(loop: loop) { [unowned self] in
            self.deliverUnconfirmed(olderThan: Self.confirmMs)
            self.ledger.trim(self.loop.now)
            self.copies.trim(self.loop.now)
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
    /// and while the pub/sub connection alone reconnects this front keeps appending (it catches
    /// up from the log once it is back).
    var isActive: Bool {
        if !redis.isUp && !redis.isSubscriberUp { subscribed = false }
        return subscribed && redis.isUp
    }

    /// The channel is subscribed (at start, and after every reconnect): the front reads from the
    /// log what was published while it was not listening.
    private func subscribedAgain() {
        subscribed = true
        catchUp()
    }

    /// Reads the log after the newest entry this front had (or the oldest cursor of its GET
    /// streams, if older), holding channel messages meanwhile; then delivers what it missed and
    /// what was held, in the log's order. The first time (nothing had yet) it only notes where
    /// the log is. If the log does not answer, the held messages go out and the sweep retries
    /// (GET streams catch up by their cursors; listen streams miss what came meanwhile).
    private func catchUp() {
        catchUpDue = false
        guard heldMessages == nil else { return }
        let frontHad = listeners.newestShared
        let getStreams = listeners.catchUpCursor(wallClockMs: SharedEventId.wallClockMs())
        let from: SharedEventId? = switch (frontHad, getStreams) {
        case (let a?, let b?): min(a, b)
        case (let a, let b): a ?? b
        }
        heldMessages = []
        store.open(after: from) { [weak self] opening in
            guard let self else { return }
            let held = self.heldMessages ?? []
            self.heldMessages = nil
            if let opening {
                // The first time, listen streams take nothing (they had nothing before).
                for entry in opening.entries { self.process(entry, isNew: frontHad.map { entry.id > $0 } ?? false) }
                if frontHad == nil { self.listeners.noteShared(opening.newest) }
            } else {
                self.catchUpDue = true
            }
            for entry in held { self.processLive(entry) }
        }
    }

    /// A notification from one of this host's executors.
    func fromExecutor(_ payload: [UInt8]) {
        guard isActive else {
            if !appends { copies.deliveredLocally(payload, now: loop.now) }
            listeners.deliver(payload)
            return
        }
        guard appends else {
            if let overflow = copies.copy(payload, now: loop.now) { listeners.deliver(overflow) }
            return
        }
        appendCount &+= 1
        let tag = Array("\(tagPrefix).\(String(appendCount, radix: 16))".utf8)
        ledger.appending(tag)
        store.append(payload, tag: tag) { [weak self] id in
            guard let self else { return }
            // In the log (streams get it from the channel, or from the log when the front
            // catches up), or not known to be but its channel copy came: delivered from there.
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
        if heldMessages != nil {
            heldMessages!.append(entry)
            return
        }
        processLive(entry)
    }

    private func processLive(_ entry: SharedEventStore.Entry) {
        process(entry, isNew: listeners.newestShared.map { entry.id > $0 } ?? true)
    }

    /// An entry of the log, from the channel or a catch-up. One the front had already (not
    /// `isNew`) only goes to GET streams behind it, by their cursor.
    private func process(_ entry: SharedEventStore.Entry, isNew: Bool) {
        guard isNew else {
            listeners.deliver(entry.payload, sharedId: entry.id, toListenStreams: false)
            return
        }
        // An entry of this host: its copy may have been delivered locally already.
        var deliveredAt: UInt64?
        if let tag = entry.tag, tag.starts(with: hostTag) {
            if appends {
                if !ledger.arrived(tag) { deliveredAt = ledger.localAt(tag) }
            } else if case .deliveredLocally(let at) = copies.entry(entry.payload, now: loop.now) {
                deliveredAt = at
            }
        }
        listeners.deliver(entry.payload, sharedId: entry.id, openedAfter: deliveredAt)
    }

    private func deliverUnconfirmed(olderThan ms: UInt64) {
        for payload in copies.expire(olderThan: ms, now: loop.now) { listeners.deliver(payload) }
    }
}
