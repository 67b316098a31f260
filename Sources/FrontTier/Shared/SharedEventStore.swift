import Redis

/// The event log of handshake-era GET streams when Redis is configured: one Redis stream
/// (`sy:events`) holding each link-wide notification once (list changes, resources/updated),
/// bounded in length (`MAXLEN ~ eventStoreSize`) and age (`MINID ~` now minus `eventStoreAge`, and
/// the key's TTL). Every GET stream of every session on every host shows its subset of this one
/// log (what its filter wants), with the entry's id as SSE event id: a `Last-Event-ID` resumes on
/// any host. One entry per notification, not one per session: nothing private is stored (the
/// filter is applied by the front that serves the stream), and no two hosts race to write a
/// session's copy.
///
/// Appending and publishing are one script, so the order of the channel is the order of the log.
/// Thread: the loop thread.
final class SharedEventStore {
    static let logKey = Array("sy:events".utf8)
    static let channel = Array("sy:notify".utf8)

    private let redis: RedisClient
    private let maxEvents: Int
    private let maxAgeMs: UInt64

    init(redis: RedisClient, maxEvents: Int, maxAgeMs: UInt64) {
        self.redis = redis
        self.maxEvents = max(1, maxEvents)
        self.maxAgeMs = max(1, maxAgeMs)
    }

    /// Appends a notification and publishes `<id> <payload>` on `sy:notify`. `done` gets the id,
    /// or nil when Redis did not take it (then the caller delivers locally).
    func append(_ payload: [UInt8], _ done: @escaping (SharedEventId?) -> Void) {
        redis.eval(Self.appendScript, keys: [Self.logKey],
                   args: [Self.channel, Array(String(maxEvents).utf8), Array(String(maxAgeMs).utf8), payload]) { reply in
            if case .bulk(let id) = reply, let event = SharedEventId(id) { done(event) } else { done(nil) }
        }
    }

    /// What a GET stream starts from: the log's newest id, and the entries after `lastEventId`
    /// when the client resumes with an id the log can answer (oldest first, at most the
    /// `eventStoreSize` newest). An id past the newest (made up, or from a log that was lost) replays
    /// nothing. nil when Redis cannot answer.
    struct Opening {
        var newest: SharedEventId
        var entries: [(id: SharedEventId, payload: [UInt8])]
    }

    func open(after lastEventId: SharedEventId?, _ done: @escaping (Opening?) -> Void) {
        let last = lastEventId.map { Array($0.description.utf8) } ?? []
        redis.eval(Self.openScript, keys: [Self.logKey], args: [last, Array(String(maxEvents).utf8)]) { reply in
            done(Self.opening(reply))
        }
    }

    /// Parses the open script's reply: `{newest}` or `{newest, XREVRANGE reply}` (newest first:
    /// a client further behind than the length bound gets the latest entries).
    static func opening(_ reply: RedisReply) -> Opening? {
        guard case .array(let parts) = reply, let first = parts.first, case .bulk(let top) = first,
              let newest = SharedEventId(top) else { return nil }
        var entries: [(id: SharedEventId, payload: [UInt8])] = []
        if parts.count > 1, case .array(let range) = parts[1] {
            for entry in range {
                // [id, [field, value, ...]]: the notification is the value of field `m`.
                guard case .array(let pair) = entry, pair.count == 2, case .bulk(let idBytes) = pair[0],
                      let id = SharedEventId(idBytes), case .array(let fields) = pair[1] else { continue }
                var i = 0
                while i + 1 < fields.count {
                    if case .bulk(let name) = fields[i], name == [UInt8(ascii: "m")], case .bulk(let value) = fields[i + 1] {
                        entries.append((id, value))
                    }
                    i += 2
                }
            }
        }
        return Opening(newest: newest, entries: entries.reversed())
    }

    /// KEYS[1] the log; ARGV: channel, length bound, age bound (ms), payload. Trims by age with
    /// the server's clock (TIME), so hosts' clocks do not matter.
    static let appendScript = RedisScript("""
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[4])
        local t = redis.call('TIME')
        local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[3])
        if cutoff > 0 then redis.call('XTRIM', KEYS[1], 'MINID', '~', cutoff) end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[4])
        return id
        """)

    /// KEYS[1] the log; ARGV: the last event id the client saw (empty: none), the count bound.
    static let openScript = RedisScript("""
        local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        local newest = '0-0'
        if #top > 0 then newest = top[1][1] end
        if ARGV[1] == '' then return {newest} end
        local am, as = string.match(ARGV[1], '^(%d+)%-(%d+)$')
        local nm, ns = string.match(newest, '^(%d+)%-(%d+)$')
        am, as, nm, ns = tonumber(am), tonumber(as), tonumber(nm), tonumber(ns)
        if am == nil or am > nm or (am == nm and as > ns) then return {newest} end
        return {newest, redis.call('XREVRANGE', KEYS[1], '+', '(' .. ARGV[1], 'COUNT', ARGV[2])}
        """)
}
