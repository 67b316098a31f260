import EventLoop
import Glibc
import Redis

/// Session events between hosts through Redis (the `SessionEventSharing` of several hosts; the
/// run directory still serves the fronts of one host):
///
/// - state: the hash `sy:{<session>}:s` (`rev`, `level`, `sub:<uri>` fields) expiring after
///   the session idle timeout, and the index `sy:sessions` (session -> expiry, Unix seconds),
///   which a front reads whole when it starts and after every reconnect;
/// - delivery: the channel `sy:sessions`, one event per message (`SharedRevocationsRedis.Wire`);
///   each event carries an acknowledgement id that every live front answers once it applied it
///   (`SharedRevocationsAcks`), and the DELETE, setLevel or subscribe is answered then (these
///   are rare requests: a client sees its own change on every host right after the answer).
///
/// No request touches Redis: fronts apply events to memory as they arrive. While Redis is
/// down, events made here are kept (bounded) and pushed when it is back, then the state is
/// loaded again, so hosts agree within a reconnect.
/// Thread: the loop thread.
final class SharedRevocationsRedis: SessionEventSharing {
    static let channel = Array("sy:sessions".utf8)
    static let indexKey = Array("sy:sessions".utf8)
    /// Events made while Redis was away, pushed when it is back; beyond, the oldest are dropped.
    static let maxPending = 100_000
    /// Sessions read per page when loading.
    static let loadPage = 1_000

    var deliver: ((SessionEvent) -> Void)?
    private let client: RedisClient
    private let loop: Loop
    private let log: Log
    let acks: SharedRevocationsAcks
    /// Seconds a session's state is kept: the session idle timeout (a session silent that long
    /// is over anyway), or 30 days when sessions never expire.
    private let ttl: UInt64
    private var pending: [SessionEvent] = []
    private var dropped = 0
    /// The last problem logged: a Redis answering errors (OOM, a key of the wrong type) is
    /// retried every second and logged once per distinct problem, not per retry.
    private var lastProblem: String?
    private var malformed = 0
    /// Bumped by every sync and every loss: the steps of an older sync stop.
    private var loadGeneration = 0
    /// A sync is under way.
    private var syncing = false
    private var started = false
    /// Subscribed, and the state read since: this front knows every event. False from a loss
    /// of Redis until the next load completes (/healthz says "degraded" meanwhile).
    private(set) var synced = false

    init(client: RedisClient, loop: Loop, log: Log, idleTimeout: UInt64) {
        self.client = client
        self.loop = loop
        self.log = log
        ttl = idleTimeout > 0 ? idleTimeout : 30 * 86_400
        var g = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(UInt8.random(in: 0...255, using: &g), radix: 16) }.joined()
        acks = SharedRevocationsAcks(client: client, loop: loop, log: log, frontId: "\(id)-\(getpid())")
    }

    /// Subscribes; each time the subscription is (re)established, and each time the command
    /// connection is back, syncs (subscribed first, so no event falls between the load and the
    /// stream).
    func start() {
        guard !started else { return }
        started = true
        client.subscribe(acks.ackChannel, onMessage: { [unowned self] in self.ackChannelMessage($0) }, ready: nil)
        client.subscribe(Self.channel, onMessage: { [unowned self] in self.received($0) }, ready: { [unowned self] in
            self.acks.active = true
            self.sync()
        })
        acks.isListening = { [unowned self] in self.hearing }
        acks.start()
    }

    /// Redis was lost: not synced until it is back and the state is read again.
    func lost() {
        synced = false
        syncing = false
        loadGeneration += 1
    }

    /// Redis is back (or once a second while it is up and this front is not synced): prove the
    /// subscription delivers (a probe on this front's own channel comes back), register as
    /// live, push what was made meanwhile, read the state. A step that fails or stalls leaves
    /// `synced` false, and a later tick tries again.
    func sync() {
        guard client.isUp, acks.active, !syncing else { return }
        syncing = true
        syncStartedAt = loop.now
        loadGeneration += 1
        let generation = loadGeneration
        probe { [unowned self] in
            guard generation == self.loadGeneration else { return }
            self.acks.refresh { [unowned self] failure in
                guard generation == self.loadGeneration else { return }
                if let failure {
                    if !failure.hasPrefix("DOWN") { self.problem("redis: cannot register this front; retried", failure) }
                    self.syncing = false
                    return
                }
                self.pushPending()
                self.load(generation: generation)
            }
        }
    }

    /// Once a second: probes the subscription, retries a sync that did not complete or stalled,
    /// and events whose push failed. A subscription silent for `silentMs` (the client
    /// re-establishes it on its own; meanwhile this front would miss deletions) makes the front
    /// unsynced, and no longer registered as live, until a probe comes back.
    func tick() {
        let now = loop.now
        if client.isUp { probe(nil) }
        if synced && !hearing {
            synced = false
            problem("redis: the subscription is silent; not sharing until it delivers again", "no probe back")
        }
        if syncing && now - syncStartedAt > Self.silentMs { syncing = false }
        if !synced { sync() } else if client.isUp && !pending.isEmpty { pushPending() }
    }

    // MARK: probing the subscription

    /// A subscription whose probe has not come back for this long is taken as down.
    static let silentMs: UInt64 = 2_500
    private var probeSequence: UInt64 = 0
    private var lastHeard: UInt64 = 0
    private var syncStartedAt: UInt64 = 0
    /// Runs when the probe of that sequence number (or a later one) comes back.
    private var probeWaiters: [(UInt64, () -> Void)] = []

    /// A probe came back recently: messages published now reach this front.
    var hearing: Bool { lastHeard > 0 && loop.now - lastHeard <= Self.silentMs }

    private func probe(_ then: (() -> Void)?) {
        probeSequence += 1
        if let then { probeWaiters.append((probeSequence, then)) }
        client.send([Array("PUBLISH".utf8), acks.ackChannel, Array("probe \(probeSequence)".utf8)], key: nil) { _ in }
    }

    private func ackChannelMessage(_ payload: [UInt8]) {
        let probePrefix = Array("probe ".utf8)
        guard payload.starts(with: probePrefix) else { acks.acknowledged(payload); return }
        guard let seq = UInt64(String(decoding: payload.dropFirst(probePrefix.count), as: UTF8.self)) else { return }
        lastHeard = loop.now
        let ready = probeWaiters.filter { $0.0 <= seq }
        probeWaiters.removeAll { $0.0 <= seq }
        for (_, run) in ready { run() }
    }

    func stop() {
        acks.stop()
        client.unsubscribe(Self.channel)
        client.unsubscribe(acks.ackChannel)
    }

    func refresh() {}

    var pendingCount: Int { pending.count }

    // MARK: publishing

    func publish(_ event: SessionEvent, applied: @escaping () -> Void) {
        guard client.isUp else {
            keep(event)
            applied()
            return
        }
        store(event) { [unowned self] stored in
            guard stored else {
                self.keep(event)
                applied()
                return
            }
            self.lastProblem = nil
            self.acks.liveFronts { [unowned self] fronts in
                guard let fronts else {
                    // Stored: every front reads it when it (re)loads; publish without waiting.
                    self.broadcast(event, ack: nil)
                    applied()
                    return
                }
                let ack = self.acks.wait(for: fronts, applied: applied)
                self.broadcast(event, ack: fronts.isEmpty ? nil : ack)
            }
        }
    }

    /// Logs `message` with `error` unless it is the problem logged last.
    private func problem(_ message: String, _ error: String) {
        let key = message + "\u{0}" + error
        guard key != lastProblem else { return }
        lastProblem = key
        log.warning(message, [("error", error)])
    }

    private func keep(_ event: SessionEvent) {
        if pending.count >= Self.maxPending {
            pending.removeFirst(pending.count / 10)
            dropped += 1
            if dropped == 1 || dropped % 100 == 0 {
                log.warning("redis: too many session events waiting for Redis; the oldest were dropped",
                            [("kept", String(pending.count))])
            }
        }
        pending.append(event)
    }

    private func pushPending() {
        guard !pending.isEmpty else { return }
        let events = pending
        pending.removeAll()
        if lastProblem == nil {
            log.info("redis: pushing session events made while it was away", [("events", String(events.count))])
        }
        for e in events {
            store(e) { [unowned self] ok in
                if ok { self.broadcast(e, ack: nil) } else { self.keep(e) }
            }
        }
    }

    /// The state key of a session: its id as the hash tag, so all of it sits on one slot.
    static func stateKey(_ session: String) -> [UInt8] { Array("sy:{\(session)}:s".utf8) }

    /// Writes the event into the session's hash and the index; `done(true)` when all succeeded.
    private func store(_ event: SessionEvent, _ done: @escaping (Bool) -> Void) {
        let session: String, write: [[UInt8]]
        switch event {
        case .revoked(let id):
            session = id
            write = ["HSET", "", "rev", "1"].map { Array($0.utf8) }
        case .level(let id, let level):
            session = id
            write = ["HSET", "", "level", level].map { Array($0.utf8) }
        case .subscription(let id, let uri, let on):
            session = id
            write = (on ? ["HSET", "", "sub:" + uri, "1"] : ["HDEL", "", "sub:" + uri]).map { Array($0.utf8) }
        }
        let key = Self.stateKey(session)
        var first = write
        first[1] = key
        let expiry = UInt64(time(nil)) + ttl
        var remaining = 3, failure: String?
        let reply: (RedisReply) -> Void = { [unowned self] r in
            if case .error(let e) = r { failure = failure ?? e }
            remaining -= 1
            guard remaining == 0 else { return }
            if let failure, !failure.hasPrefix("DOWN") {
                self.problem("redis: cannot store a session event; kept here and retried", failure)
            }
            done(failure == nil)
        }
        client.send(first, key: key, reply)
        client.send([Array("EXPIRE".utf8), key, Array(String(ttl).utf8)], key: key, reply)
        client.send([Array("ZADD".utf8), Self.indexKey, Array(String(expiry).utf8), Array(session.utf8)],
                    key: Self.indexKey, reply)
    }

    private func broadcast(_ event: SessionEvent, ack: UInt64?) {
        let payload = Wire.encode(event, origin: acks.frontId, ack: ack)
        client.send([Array("PUBLISH".utf8), Self.channel, payload], key: nil) { [unowned self] r in
            if case .error(let e) = r, let ack {
                self.problem("redis: publishing a session deletion failed", e)
                self.acks.cancel(ack)
            }
        }
    }

    // MARK: receiving

    private func received(_ payload: [UInt8]) {
        guard let m = Wire.decode(payload) else {
            // Whoever can publish on the channel could flood the log: the first, then every 1,000th.
            malformed += 1
            if malformed % 1000 == 1 {
                log.warning("redis: ignored a malformed message on sy:sessions",
                            [("bytes", String(payload.count)), ("ignored", String(malformed))])
            }
            return
        }
        guard m.origin != acks.frontId else { return }
        deliver?(m.event)
        if let ack = m.ack {
            let channel = SharedRevocationsAcks.ackChannel(m.origin)
            client.send([Array("PUBLISH".utf8), channel, Array("\(ack) \(acks.frontId)".utf8)], key: nil) { _ in }
        }
    }

    /// Reads every session with state, a page of the index at a time, then each one's hash.
    private func load(generation: Int) {
        let now = String(time(nil))
        client.send([Array("ZREMRANGEBYSCORE".utf8), Self.indexKey, Array("-inf".utf8), Array(now.utf8)],
                    key: Self.indexKey) { _ in }
        loadPage(from: 0, now: now, loaded: 0, generation: generation)
    }

    private func loadPage(from offset: Int, now: String, loaded: Int, generation: Int) {
        let args = [Array("ZRANGEBYSCORE".utf8), Self.indexKey] + [now, "+inf", "LIMIT", String(offset),
                                                                   String(Self.loadPage)].map { Array($0.utf8) }
        client.send(args, key: Self.indexKey) { [unowned self] reply in
            guard generation == self.loadGeneration else { return }
            guard case .array(let items) = reply else {
                if case .error(let e) = reply { self.problem("redis: cannot load session state; retried", e) }
                self.syncing = false
                return
            }
            let sessions = items.compactMap { item -> String? in
                guard case .bulk(let b) = item, let s = Wire.session(b) else { return nil }
                return s
            }
            for s in sessions { self.loadSession(s) }
            if items.count == Self.loadPage {
                self.loadPage(from: offset + Self.loadPage, now: now, loaded: loaded + sessions.count,
                              generation: generation)
                return
            }
            // Synced once the last HGETALL is in (in a cluster they come from several nodes).
            self.finishLoad(total: loaded + sessions.count, generation: generation)
        }
    }

    /// Hashes still to read, and the load that waits for them to finish.
    private var outstanding = 0
    private var finishWhenRead: (total: Int, generation: Int)?

    private func finishLoad(total: Int, generation: Int) {
        guard outstanding == 0 else {
            finishWhenRead = (total, generation)
            return
        }
        finishWhenRead = nil
        syncing = false
        synced = true
        lastProblem = nil
        if total > 0 { log.info("redis: session state loaded", [("sessions", String(total))]) }
    }

    private func loadSession(_ session: String) {
        let key = Self.stateKey(session)
        let generation = loadGeneration
        outstanding += 1
        client.send([Array("HGETALL".utf8), key], key: key) { [unowned self] reply in
            self.outstanding -= 1
            defer {
                if self.outstanding == 0, let f = self.finishWhenRead, f.generation == self.loadGeneration {
                    self.finishLoad(total: f.total, generation: f.generation)
                }
            }
            guard generation == self.loadGeneration else { return }
            guard case .array(let items) = reply, items.count % 2 == 0 else { return }
            var i = 0
            while i < items.count {
                if case .bulk(let f) = items[i], case .bulk(let v) = items[i + 1],
                   let e = Wire.field(session: session, field: f, value: v) {
                    self.deliver?(e)
                }
                i += 2
            }
        }
    }
}
