import Redis
import Security

/// Rate-limit buckets in Redis, so a `--rate-limit` holds across hosts: the same GCRA as the
/// run directory's table (CSupport/ratelimit: a bucket of `burst` tokens refilled one per
/// interval, one "theoretical arrival time" per bucket), run atomically by a Lua script on
/// Redis's clock (microseconds), one key per (principal or address) × tool, expiring once the
/// bucket is full again. The caller falls back to the local table when this cannot decide.
/// Thread: the loop thread.
final class SharedRateLimitsRedis {
    /// KEYS[1]: the bucket; ARGV: interval µs, burst. Returns {1, 0} (allowed) or {0, wait µs}.
    private let script = RedisScript("""
        local interval = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local window = interval * burst
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        if tat < now then tat = now end
        if tat - now > window then tat = now + window end
        local nxt = tat + interval
        if nxt - now > window then return {0, nxt - window - now} end
        redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.floor((nxt - now) / 1000) + 1)
        return {1, 0}
        """)

    private let client: RedisClient
    /// Decisions Redis could not make (down, an error reply), left to the local table.
    private(set) var fallbacks: UInt64 = 0

    init(client: RedisClient) { self.client = client }

    /// Redis is connected: worth asking (else the local table decides without waiting).
    var isUp: Bool { client.isUp }

    /// The bucket's key: `sy:rl:<tool>\0<key>`; the key text is either `p:` or `a:` (RateLimitKey),
    /// the NUL keeps a tool name from running into it. Binary-safe: no hashing, no collisions.
    static func bucketKey(_ key: RateLimitKey, tool: String) -> [UInt8] {
        Array("sy:rl:".utf8) + Array(tool.utf8) + [0] + Array(key.text.utf8)
    }

    /// Takes one token; `done` gets the decision, or nil when Redis could not decide.
    func take(key: RateLimitKey, tool: String, rule: RateLimitRule,
              _ done: @escaping (RateLimitDecision?) -> Void) {
        let interval = max(1, rule.intervalNanoseconds / 1000)
        let bucket = Self.bucketKey(key, tool: tool)
        client.eval(script, keys: [bucket],
                    args: [Array(String(interval).utf8), Array(String(rule.burst).utf8)]) { [unowned self] reply in
            guard let decision = Self.decision(reply) else {
                self.fallbacks += 1
                done(nil)
                return
            }
            done(decision)
        }
    }

    /// The script's answer as a decision; nil for anything else (an error, a script gone wrong).
    static func decision(_ reply: RedisReply) -> RateLimitDecision? {
        guard case .array(let a) = reply, a.count == 2, case .integer(let allowed) = a[0],
              case .integer(let waitMicros) = a[1] else { return nil }
        if allowed == 1 { return .allowed }
        let seconds = (max(0, waitMicros) + 999_999) / 1_000_000
        return .limited(retryAfterSeconds: max(1, Int(seconds)))
    }
}
