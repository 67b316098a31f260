import EventLoop
import Redis

/// Which fronts of any host are live, and who acknowledged a deletion, so a DELETE is answered
/// only once every live front refuses the session:
///
/// - every front refreshes its id in the sorted set `sy:fronts` once a second (score: Redis's
///   own clock + `liveMs`, so hosts' clocks do not matter) while Redis is up;
/// - a deletion lists the live fronts, publishes, and waits until each of them (but this one)
///   answered on `sy:acks:<this front>`, or `timeoutMs` passed (a host that lost Redis a moment
///   ago is still listed; it loads every deletion when it reconnects).
///
/// Thread: the loop thread.
final class SharedRevocationsAcks {
    static let frontsKey = Array("sy:fronts".utf8)
    /// A front missing its refresh this long is no longer waited for.
    static let liveMs = 3_000
    /// The longest a DELETE waits for acknowledgements.
    static let timeoutMs: UInt64 = 1_000

    /// Adds (or refreshes) ARGV[1] until Redis time + ARGV[2] ms; forgets expired fronts.
    private let register = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        return 1
        """)
    /// The fronts whose registration has not expired.
    private let live = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
        """)

    private struct Waiter {
        var expected: Set<String>
        let applied: () -> Void
        let timer: Timer
    }

    private let client: RedisClient
    private let loop: Loop
    /// This front's id: random per process, so a restarted front is a new member.
    let frontId: String
    private var heartbeat: Timer?
    private var waiters: [UInt64: Waiter] = [:]
    private var nextAck: UInt64 = 0
    /// Deletions answered after the bound rather than on every acknowledgement (for logs).
    private(set) var timedOut = 0

    var ackChannel: [UInt8] { Self.ackChannel(frontId) }
    static func ackChannel(_ front: String) -> [UInt8] { Array("sy:acks:\(front)".utf8) }

    init(client: RedisClient, loop: Loop, frontId: String) {
        self.client = client
        self.loop = loop
        self.frontId = frontId
    }

    /// Registers now and every second while Redis is up.
    func start() {
        let t = Timer(loop: loop) { [unowned self] in self.refresh() }
        t.start(after: 1000, repeat: 1000)
        t.unref()
        heartbeat = t
        refresh()
    }

    /// Subscribed to deletions at least once, so worth waiting for (set by the owner; a
    /// subscription that drops is established again by the client).
    var active = false

    /// Registers now (`done(true)` once Redis has it); once a second from the timer.
    func refresh(_ done: @escaping (Bool) -> Void = { _ in }) {
        guard active, client.isUp else { done(false); return }
        client.eval(register, keys: [Self.frontsKey],
                    args: [Array(frontId.utf8), Array(String(Self.liveMs).utf8)]) { reply in
            if case .integer = reply { done(true) } else { done(false) }
        }
    }

    /// Leaves the set and closes the timers; waiting deletions are answered.
    func stop() {
        heartbeat?.close()
        heartbeat = nil
        if client.isUp { client.send([Array("ZREM".utf8), Self.frontsKey, Array(frontId.utf8)], key: Self.frontsKey) { _ in } }
        for id in Array(waiters.keys) { finish(id) }
    }

    /// The live fronts other than this one, or nil when Redis could not say.
    func liveFronts(_ done: @escaping (Set<String>?) -> Void) {
        client.eval(live, keys: [Self.frontsKey], args: []) { [frontId] reply in
            guard case .array(let items) = reply else { done(nil); return }
            var fronts = Set<String>()
            for case .bulk(let b) in items { fronts.insert(String(decoding: b, as: UTF8.self)) }
            fronts.remove(frontId)
            done(fronts)
        }
    }

    /// A new acknowledgement id whose waiter runs `applied` once every front of `expected` has
    /// acknowledged it, or after `timeoutMs`.
    func wait(for expected: Set<String>, applied: @escaping () -> Void) -> UInt64 {
        nextAck &+= 1
        let id = nextAck
        guard !expected.isEmpty else { applied(); return id }
        let timer = Timer.once(loop: loop, after: Self.timeoutMs) { [unowned self] in
            guard self.waiters[id] != nil else { return }
            self.timedOut += 1
            self.finish(id)
        }
        waiters[id] = Waiter(expected: expected, applied: applied, timer: timer)
        return id
    }

    /// Gives up waiting for `id` (the publish failed): answers now.
    func cancel(_ id: UInt64) { finish(id) }

    /// `payload`: `<ack id> <front id>`, sent on this front's ack channel.
    func acknowledged(_ payload: [UInt8]) {
        let parts = payload.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 2, let id = UInt64(String(decoding: parts[0], as: UTF8.self)),
              waiters[id] != nil else { return }
        waiters[id]!.expected.remove(String(decoding: parts[1], as: UTF8.self))
        if waiters[id]!.expected.isEmpty { finish(id) }
    }

    private func finish(_ id: UInt64) {
        guard let w = waiters.removeValue(forKey: id) else { return }
        w.timer.close()
        w.applied()
    }
}
