import EventLoop
import Metrics
import Redis

/// A front's link to Redis (`--redis`, `--redis-sentinel`, `--redis-cluster`): the one
/// `RedisClient` of this front (FrontServices.redis, for every Redis-backed feature), what it
/// shares of the session state and the rate limits, and how its health shows in /healthz and
/// /metrics. Redis away is degraded, not down: everything keeps working on local state, and
/// sharing resumes on reconnect.
/// Thread: the loop thread.
final class SharedStateRedis {
    let client: RedisClient
    let settings: RedisSettings
    let sessions: SharedRevocationsRedis
    let rateLimits: SharedRateLimitsRedis?
    /// When sessions were last used, across hosts; nil when sessions never idle out.
    let activity: SharedActivityRedis?
    private let log: Log
    /// Called on every change of the client's state, after this object's own bookkeeping.
    private var observers: [(Bool) -> Void] = []
    private let up = Metrics.gauge(.redisUp)
    private let commands = Metrics.counter(.redisCommandsTotal)
    private let errors = Metrics.counter(.redisErrorsTotal)
    private let reconnects = Metrics.counter(.redisReconnectsTotal)
    /// The client's counters at the last sample.
    private var last: (commands: UInt64, errors: UInt64, reconnects: UInt64) = (0, 0, 0)
    /// When Redis was last lost (loop ms), for the health report; nil while up.
    private(set) var downSince: UInt64?
    private let loop: Loop

    init(settings: RedisSettings, options: FrontOptions, loop: Loop, log: Log) {
        self.settings = settings
        self.log = log
        self.loop = loop
        // The client logs without the password (RedisSettings.redacted); its lines carry this front's name.
        client = RedisClient(loop: loop, settings: settings) { line in log.info(line) }
        sessions = SharedRevocationsRedis(client: client, loop: loop, log: log, idleTimeout: options.sessionIdleTimeout)
        rateLimits = options.rateLimits.isEmpty ? nil : SharedRateLimitsRedis(client: client)
        activity = options.sessionIdleTimeout == 0 ? nil
            : SharedActivityRedis(client: client, loop: loop, log: log, idleTimeout: options.sessionIdleTimeout)
        downSince = loop.now
        client.onStateChange = { [unowned self] isUp in self.changed(isUp) }
    }

    /// Runs `observer` on every change of Redis's state (true: connected).
    func observe(_ observer: @escaping (Bool) -> Void) { observers.append(observer) }

    func start() {
        up.set(0)
        client.start()
        sessions.start()
    }

    func stop() {
        activity?.stop()
        sessions.stop()
        client.close()
        up.set(0)
    }

    private func changed(_ isUp: Bool) {
        up.set(isUp ? 1 : 0)
        if isUp {
            let downMs = downSince.map { loop.now - $0 } ?? 0
            downSince = nil
            sessions.sync()
            activity?.reconnected()
            log.info("redis: connected; sharing state", [("redis", settings.redacted), ("afterMs", String(downMs))])
        } else {
            downSince = loop.now
            sessions.lost()
            log.warning("redis: lost; serving with local state until it is back", [("redis", settings.redacted)])
        }
        for o in observers { o(isUp) }
    }

    /// Connected, subscribed and loaded: this front shares state with every host.
    var isSynced: Bool { client.isUp && sessions.synced }

    /// Once a second, from the front's sampler: the client's counters into /metrics.
    func sample() {
        let s = client.stats
        commands.add(s.commands &- last.commands)
        errors.add(s.errors &- last.errors)
        reconnects.add(s.reconnects &- last.reconnects)
        last = (s.commands, s.errors, s.reconnects)
        sessions.tick()
        up.set(client.isUp ? 1 : 0)
    }

    /// The `redis` member of /healthz: `{"up":...,"server":"<redacted>",...}`.
    var healthJSON: String {
        var o = "{\"up\":\(client.isUp),\"synced\":\(isSynced),\"server\":\"\(jsonEscaped(settings.redacted))\""
        if let since = downSince { o += ",\"downForMs\":\(loop.now - since)" }
        o += ",\"sessionEventsWaiting\":\(sessions.pendingCount)"
        if let r = rateLimits { o += ",\"rateLimitFallbacks\":\(r.fallbacks)" }
        return o + "}"
    }

    private func jsonEscaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where c.value < 0x20: out += "?"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
