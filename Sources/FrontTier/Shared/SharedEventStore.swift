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
/// Each entry also carries its appender's tag (field `o`, and `<id> <tag> <payload>` on the
/// channel), which names one append and the host that made it (SharedFanOut): the appender
/// recognizes its own notification when Redis took an append whose reply was lost
/// (SharedDeliveryLedger), and the host's other fronts their executors' copies (SharedHostCopies).
/// Hosts of a version before the tag read the message as `<id> <payload>` and drop it: every host
/// sharing a Redis runs one version.
/// Thread: the loop thread.
final class SharedEventStore {
    static let logKey = Array("sy:events".utf8)
    static let channel = Array("sy:notify".utf8)

    private let redis: RedisClient
    private let maxEvents: Int
    let maxAgeMs: UInt64

    init(redis: RedisClient, maxEvents: Int, maxAgeMs: UInt64) {
        self.redis = redis
        self.maxEvents = max(1, maxEvents)
        self.maxAgeMs = max(1, maxAgeMs)
    }

    /// Appends a notification with its appender's `tag` and publishes `<id> <tag> <payload>` on
    /// `sy:notify`. `done` gets the id, or nil when Redis did not answer that it took it (refused,
    /// away, or the reply was lost: it may be in the log all the same).
    func append(_ payload: [UInt8], tag: [UInt8], _ done: @escaping (SharedEventId?) -> Void) {
        redis.eval(Self.appendScript, keys: [Self.logKey],
                   args: [Self.channel, Array(String(maxEvents).utf8), Array(String(maxAgeMs).utf8), payload, tag]) { reply in
            if case .bulk(let id) = reply, let event = SharedEventId(id) { done(event) } else { done(nil) }
        }
    }

    /// One notification of the log or of the channel: its id, its appender's tag (nil from an
    /// appender that sends none), the notification.
    struct Entry {
        var id: SharedEventId
        var tag: [UInt8]?
        var payload: [UInt8]
    }

    /// A tag as an appender makes it: 1 to 64 bytes of `[0-9a-z.]` (never `{`, so a message
    /// without a tag, `<id> {...}`, is told apart).
    static func isTag<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        !bytes.isEmpty && bytes.count <= 64
            && bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E }
    }

    /// Parses `<id> <tag> <payload>` (or `<id> <payload>`) from the channel; nil if malformed.
    static func channelMessage(_ message: [UInt8]) -> Entry? {
        let space = UInt8(ascii: " ")
        guard let first = message.firstIndex(of: space), let id = SharedEventId(Array(message[..<first])) else { return nil }
        let rest = message[(first + 1)...]
        if let second = rest.firstIndex(of: space), isTag(rest[..<second]) {
            return Entry(id: id, tag: Array(rest[..<second]), payload: Array(rest[(second + 1)...]))
        }
        return Entry(id: id, tag: nil, payload: Array(rest))
    }

    /// What a GET stream starts from: the log's newest id, and the entries after `lastEventId`
    /// when the client resumes with an id the log can answer (oldest first, at most the
    /// `eventStoreSize` newest). An id past the newest (made up, or from a log that was lost) replays
    /// nothing. nil when Redis cannot answer.
    struct Opening {
        var newest: SharedEventId
        var entries: [Entry]
    }

    func open(after lastEventId: SharedEventId?, _ done: @escaping (Opening?) -> Void) {
        let last = lastEventId.map { Array($0.description.utf8) } ?? []
        redis.eval(Self.openScript, keys: [Self.logKey],
                   args: [last, Array(String(maxEvents).utf8), Array(String(maxAgeMs).utf8)]) { reply in
            done(Self.opening(reply))
        }
    }

    /// Parses the open script's reply: `{newest}` or `{newest, XREVRANGE reply}` (newest first:
    /// a client further behind than the length bound gets the latest entries).
    static func opening(_ reply: RedisReply) -> Opening? {
        guard case .array(let parts) = reply, let first = parts.first, case .bulk(let top) = first,
              let newest = SharedEventId(top) else { return nil }
        var entries: [Entry] = []
        if parts.count > 1, case .array(let range) = parts[1] {
            for entry in range {
                // [id, [field, value, ...]]: the notification is the value of field `m`, the tag of `o`.
                guard case .array(let pair) = entry, pair.count == 2, case .bulk(let idBytes) = pair[0],
                      let id = SharedEventId(idBytes), case .array(let fields) = pair[1] else { continue }
                var payload: [UInt8]?, tag: [UInt8]?
                var i = 0
                while i + 1 < fields.count {
                    if case .bulk(let name) = fields[i], case .bulk(let value) = fields[i + 1] {
                        if name == [UInt8(ascii: "m")] { payload = value }
                        if name == [UInt8(ascii: "o")], isTag(value) { tag = value }
                    }
                    i += 2
                }
                if let payload { entries.append(Entry(id: id, tag: tag, payload: payload)) }
            }
        }
        return Opening(newest: newest, entries: entries.reversed())
    }

    /// KEYS[1] the log; ARGV: channel, length bound, age bound (ms), payload, tag. Trims by age
    /// with the server's clock (TIME), so hosts' clocks do not matter.
    static let appendScript = RedisScript("""
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[4], 'o', ARGV[5])
        local t = redis.call('TIME')
        local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[3])
        if cutoff > 0 then redis.call('XTRIM', KEYS[1], 'MINID', '~', cutoff) end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[5] .. ' ' .. ARGV[4])
        return id
        """)

    /// KEYS[1] the log; ARGV: the last event id the client saw (empty: none), the count bound,
    /// the age bound (ms). Trimming is by whole stream nodes (`~`), so the log may still hold
    /// entries past either bound: the replay leaves out those older than the age by the server's
    /// clock, and takes at most the count.
    static let openScript = RedisScript("""
        local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        local newest = '0-0'
        if #top > 0 then newest = top[1][1] end
        if ARGV[1] == '' then return {newest} end
        local am, as = string.match(ARGV[1], '^(%d+)%-(%d+)$')
        local nm, ns = string.match(newest, '^(%d+)%-(%d+)$')
        am, as, nm, ns = tonumber(am), tonumber(as), tonumber(nm), tonumber(ns)
        if am == nil or am > nm or (am == nm and as > ns) then return {newest} end
        local t = redis.call('TIME')
        local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[3])
        local from = '(' .. ARGV[1]
        if am < cutoff then from = string.format('%.0f', cutoff) end
        return {newest, redis.call('XREVRANGE', KEYS[1], '+', from, 'COUNT', ARGV[2])}
        """)
}
