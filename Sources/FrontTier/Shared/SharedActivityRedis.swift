import EventLoop
import Glibc
import Redis

/// When each session was last used, across hosts (`SessionActivitySharing` on Redis), so the
/// idle timeout counts every host's uses:
///
/// - record: 16 sorted sets `sy:activity:<0-15>` (a session's `SessionActivity` key, 16 hex
///   digits, scored by the Unix second of its newest use on Redis's clock), a session in the
///   set its key picks. Every `flushInterval` (the idle timeout / 8, from 1 s to 60 s) a front
///   sends the sessions it saw used since the last flush (`SessionActivityOutbox`), one script
///   call per set it touches (up to `chunk` sessions each): `ZADD GT`, then what is older than
///   the timeout is removed and the set expires a minute after the timeout. The state of the
///   sessions used that have some (a log level, subscriptions: `sy:{<session>}:s`) is kept
///   alive with them.
/// - ask: a front that would expire a session from its own uses asks the set for the seconds
///   since its newest use (a script: Redis's clock, so hosts' clocks do not matter).
///
/// A request sends nothing here but the question about a session idle on this host (and, when
/// the outbox fills up within one interval, 65,536 distinct sessions, the flush it triggers).
/// Redis away: the outbox keeps what it can (bounded) for when it is back, and a session idle
/// here is refused from this host's uses alone (logged once per outage).
/// Thread: the loop thread.
final class SharedActivityRedis: SessionActivitySharing {
    static let shards = 16
    /// Sessions per script call: a bounded reply and Lua stack.
    static let chunk = 1_000

    /// KEYS[1]: a set; ARGV[1]: the idle timeout (s); then pairs of (seconds since the use,
    /// session key). Returns how many sessions it recorded.
    static let recordScript = RedisScript("""
        local now = tonumber(redis.call('TIME')[1])
        local timeout = tonumber(ARGV[1])
        for i = 2, #ARGV - 1, 2 do
          redis.call('ZADD', KEYS[1], 'GT', now - tonumber(ARGV[i]), ARGV[i + 1])
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - timeout))
        redis.call('EXPIRE', KEYS[1], timeout + 60)
        return (#ARGV - 1) / 2
        """)
    /// KEYS[1]: a set; ARGV: session keys. Returns, in order, the seconds since each one's
    /// newest use, or -1 when the set does not hold it.
    static let askScript = RedisScript("""
        local now = tonumber(redis.call('TIME')[1])
        local out = {}
        for i = 1, #ARGV do
          local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
          if score then out[i] = math.max(0, now - tonumber(score)) else out[i] = -1 end
        end
        return out
        """)

    private let client: RedisClient
    private let loop: Loop
    private let log: Log
    let idleTimeout: UInt64
    /// Seconds between flushes.
    let flushInterval: UInt64
    private var timer: Timer?
    /// The front's sessions, which outlive this object (both live as long as the front). Not
    /// `weak`: a weak reference would move every retain of SessionTokens, once per request, to
    /// the slow side-table path.
    private unowned(unsafe) var sessions: SessionTokens?
    private var outbox: SessionActivityOutbox?
    /// A local decision was logged in this outage (reset when Redis is back).
    private var saidLocal = false
    private var saidDropped: UInt64 = 0
    private var lastProblem: String?

    init(client: RedisClient, loop: Loop, log: Log, idleTimeout: UInt64) {
        precondition(idleTimeout > 0, "sessions that never expire need no shared activity")
        self.client = client
        self.loop = loop
        self.log = log
        self.idleTimeout = idleTimeout
        flushInterval = Self.flushInterval(idleTimeout: idleTimeout)
    }

    /// The idle timeout / 8, within 1 s and 60 s: a use elsewhere is known within an eighth of
    /// the timeout, and a front sends at most one batch a second.
    static func flushInterval(idleTimeout: UInt64) -> UInt64 { max(1, min(60, idleTimeout / 8)) }

    /// The set of a session key.
    static func shardKey(_ shard: Int) -> [UInt8] { Array("sy:activity:\(shard)".utf8) }
    static func shard(of key: UInt64) -> Int { Int(key % UInt64(shards)) }
    /// A session key as the set's member: 16 lowercase hex digits.
    static func member(_ key: UInt64) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return (0..<16).map { i in digits[Int(key >> (60 - 4 * UInt64(i)) & 0xF)] }
    }

    /// The script calls of one flush: per set, up to `chunk` sessions each.
    static func batches(_ entries: [SessionActivityOutbox.Entry]) -> [(shard: Int, entries: [SessionActivityOutbox.Entry])] {
        var byShard = [[SessionActivityOutbox.Entry]](repeating: [], count: shards)
        for e in entries { byShard[shard(of: e.key)].append(e) }
        var out: [(shard: Int, entries: [SessionActivityOutbox.Entry])] = []
        for (shard, list) in byShard.enumerated() where !list.isEmpty {
            var start = 0
            while start < list.count {
                let end = min(start + chunk, list.count)
                out.append((shard, Array(list[start..<end])))
                start = end
            }
        }
        return out
    }

    /// Starts sharing the uses of `sessions`' sessions; flushes on a timer from now on.
    func start(_ sessions: SessionTokens) {
        self.sessions = sessions
        let outbox = sessions.share(activity: self)
        outbox.onFull = { [unowned self] in self.flush() }
        self.outbox = outbox
        let t = Timer(loop: loop) { [unowned self] in self.flush() }
        t.start(after: flushInterval * 1000, repeat: flushInterval * 1000)
        t.unref()
        timer = t
    }

    func stop() {
        timer?.close()
        timer = nil
    }

    /// Redis is back: what was kept goes now, and the next local decision is logged again.
    func reconnected() {
        saidLocal = false
        flush()
    }

    /// Sends the outbox (nothing when it is empty or Redis is away: it keeps filling, bounded).
    func flush() {
        guard let outbox, let sessions else { return }
        if outbox.dropped > saidDropped {
            saidDropped = outbox.dropped
            log.warning("redis: too many sessions used while Redis was away; some uses are known only here",
                        [("notShared", String(outbox.dropped))])
        }
        guard client.isUp, !outbox.isEmpty else { return }
        let entries = outbox.drain(now: UInt64(time(nil)), unknownAge: flushInterval) { sessions.lastSeen(key: $0) }
        keepState(of: sessions.sessionsWithState, used: entries)
        let timeout = Array(String(idleTimeout).utf8)
        for batch in Self.batches(entries) {
            var args = [timeout]
            args.reserveCapacity(1 + 2 * batch.entries.count)
            for e in batch.entries {
                args.append(Array(String(e.age).utf8))
                args.append(Self.member(e.key))
            }
            client.eval(Self.recordScript, keys: [Self.shardKey(batch.shard)], args: args) { [unowned self] reply in
                guard case .error(let e) = reply else { self.lastProblem = nil; return }
                // Told again with the next flush (ages from this host's table then).
                self.outbox?.putBack(batch.entries)
                if !e.hasPrefix("DOWN") { self.problem("redis: cannot record session uses; retried", e) }
            }
        }
    }

    /// The state of a session (`sy:{<session>}:s`, its entry in `sy:sessions`) expires an idle
    /// timeout after it was last written: for the sessions with state that were used, it is
    /// pushed back to an idle timeout from now, so a host that loads it later still finds it.
    private func keepState(of withState: [String], used entries: [SessionActivityOutbox.Entry]) {
        guard !withState.isEmpty else { return }
        let used = Set(entries.map(\.key))
        let ttl = Array(String(idleTimeout).utf8)
        let expiry = Array(String(UInt64(time(nil)) + idleTimeout).utf8)
        for session in withState where used.contains(SessionActivity.key(session)) {
            let key = SharedRevocationsRedis.stateKey(session)
            client.send([Array("EXPIRE".utf8), key, ttl], key: key) { _ in }
            client.send([Array("ZADD".utf8), SharedRevocationsRedis.indexKey, Array("GT".utf8), expiry,
                         Array(session.utf8)], key: SharedRevocationsRedis.indexKey) { [unowned self] reply in
                if case .error(let e) = reply, !e.hasPrefix("DOWN") {
                    self.problem("redis: cannot keep the state of a session in use", e)
                }
            }
        }
    }

    // MARK: SessionActivitySharing

    var canAsk: Bool { client.isUp }
    var recheckAfter: UInt64 { flushInterval * 2 }

    func lastUse(_ keys: [UInt64], _ done: @escaping ([SharedLastUse]) -> Void) {
        var answers = [SharedLastUse](repeating: .unknown, count: keys.count)
        var positions = [[Int]](repeating: [], count: Self.shards)
        for (i, k) in keys.enumerated() { positions[Self.shard(of: k)].append(i) }
        var calls = 0
        var asks: [(shard: Int, positions: ArraySlice<Int>)] = []
        for (shard, list) in positions.enumerated() where !list.isEmpty {
            var start = 0
            while start < list.count {
                let end = min(start + Self.chunk, list.count)
                asks.append((shard, list[start..<end]))
                start = end
            }
        }
        calls = asks.count
        guard calls > 0 else { return done(answers) }
        for ask in asks {
            let members = ask.positions.map { Self.member(keys[$0]) }
            client.eval(Self.askScript, keys: [Self.shardKey(ask.shard)], args: members) { [unowned self] reply in
                if let ages = Self.ages(reply, count: members.count) {
                    for (p, age) in zip(ask.positions, ages) { answers[p] = age }
                } else if case .error(let e) = reply, !e.hasPrefix("DOWN") {
                    self.problem("redis: cannot ask when a session was last used; deciding here", e)
                }
                calls -= 1
                if calls == 0 { done(answers) }
            }
        }
    }

    /// The ask script's reply: one answer per session asked, or nil for anything else.
    static func ages(_ reply: RedisReply, count: Int) -> [SharedLastUse]? {
        guard case .array(let items) = reply, items.count == count else { return nil }
        var out: [SharedLastUse] = []
        out.reserveCapacity(count)
        for item in items {
            guard case .integer(let age) = item else { return nil }
            out.append(age < 0 ? .none : .secondsAgo(UInt64(age)))
        }
        return out
    }

    func decidedLocally() {
        guard !saidLocal else { return }
        saidLocal = true
        log.warning("redis: cannot ask whether another host used a session idle here; deciding from this host's uses",
                    [("idleTimeout", String(idleTimeout))])
    }

    /// Logs `message` with `error` unless it is the problem logged last.
    private func problem(_ message: String, _ error: String) {
        let key = message + "\u{0}" + error
        guard key != lastProblem else { return }
        lastProblem = key
        log.warning(message, [("error", error)])
    }
}
