import EventLoop
import MCPCore

/// Open notification streams: 2026-07-28 `subscriptions/listen` streams and 2025-11-25
/// standalone GET streams. Executors' link-wide notifications fan out to every stream whose
/// filter wants them.
///
/// GET streams are resumable: each event has an id `<front>.<stream>.<seq>`, and the last
/// events of each stream stay in a bounded store (count and age limits) while its client is
/// away, so a reconnect with `Last-Event-ID` to the same front gets what it missed.
/// Thread: the loop thread.
final class Listeners {
    struct Filter {
        var tools = false, prompts = false, resources = false
        var resourceURIs: Set<String> = []
        /// A handshake-era session: resources/updated follows its resources/subscribe calls.
        var session: String?

        /// The subset of a requested filter this server honors, as JSON.
        var json: String {
            var parts: [String] = []
            if tools { parts.append("\"toolsListChanged\":true") }
            if prompts { parts.append("\"promptsListChanged\":true") }
            if resources { parts.append("\"resourcesListChanged\":true") }
            if !resourceURIs.isEmpty {
                let uris = resourceURIs.sorted().map { JSONValue.quote($0) }.joined(separator: ",")
                parts.append("\"resourceSubscriptions\":[" + uris + "]")
            }
            return "{" + parts.joined(separator: ",") + "}"
        }
    }

    /// One stream: its filter, its sink (the open answer, if connected) and its recent events.
    final class Stream {
        weak var connection: (any AnswerChannel)?
        var slot: ResponseSlot?
        /// The listen request's id as JSON (its type kept), for listen streams.
        let subscriptionId: String?
        let filter: Filter
        /// Resumable (GET) streams number their events and keep the last ones.
        let key: UInt64?
        var seq: UInt64 = 0
        var recent: [(seq: UInt64, at: UInt64, json: [UInt8])] = []
        var detachedAt: UInt64 = 0

        init(connection: any AnswerChannel, slot: ResponseSlot, subscriptionId: String?, filter: Filter, key: UInt64?) {
            self.connection = connection; self.slot = slot; self.subscriptionId = subscriptionId
            self.filter = filter; self.key = key
        }
    }

    struct Limits {
        var maxEvents = 1_000
        var maxAgeMs: UInt64 = 300_000
    }

    private var streams: [ObjectIdentifier: Stream] = [:]
    private var resumable: [UInt64: Stream] = [:]
    private var nextKey: UInt64 = 1
    private var keepAlive: Timer?
    private let loop: Loop
    let front: Int
    let limits: Limits
    /// resources/updated for a handshake-era session: is it subscribed to the URI?
    var isSubscribed: ((String, String) -> Bool)?
    /// Events dropped from stores by the limits.
    private(set) var evicted = 0

    var count: Int { streams.count }

    init(loop: Loop, front: Int, limits: Limits = Limits()) {
        self.loop = loop
        self.front = front
        self.limits = limits
        // SSE comments keep idle streams open through proxies (every 15 s); stores are trimmed.
        let t = Timer(loop: loop) { [unowned self] in self.ping(); self.trim() }
        t.start(after: 15_000, repeat: 15_000)
        t.unref()
        keepAlive = t
    }

    deinit { keepAlive?.close() }

    /// Stops the keep-alive timer (its close completes on the libuv loop's next turn).
    func stop() {
        keepAlive?.close()
        keepAlive = nil
    }

    func add(_ s: Stream) { streams[ObjectIdentifier(s)] = s }

    /// A new resumable stream key.
    func newKey() -> UInt64 {
        defer { nextKey += 1 }
        return nextKey
    }

    /// Opens (or resumes, with `lastEventId`) a GET stream; returns the stream and the events to replay.
    func openResumable(connection: any AnswerChannel, slot: ResponseSlot, filter: Filter,
                       lastEventId: String?) -> (Stream, [(seq: UInt64, json: [UInt8])]) {
        if let last = lastEventId, let (key, seq) = parseEventId(last), let old = resumable[key],
           old.filter.session == filter.session {
            old.connection = connection
            old.slot = slot
            streams[ObjectIdentifier(old)] = old
            return (old, old.recent.filter { $0.seq > seq }.map { ($0.seq, $0.json) })
        }
        let s = Stream(connection: connection, slot: slot, subscriptionId: nil, filter: filter, key: newKey())
        resumable[s.key!] = s
        streams[ObjectIdentifier(s)] = s
        return (s, [])
    }

    func eventId(_ s: Stream, _ seq: UInt64) -> String { Listeners.eventId(front: front, key: s.key ?? 0, seq: seq) }

    /// An event id: `<front>.<stream>.<seq>`, in decimal.
    static func eventId(front: Int, key: UInt64, seq: UInt64) -> String { "\(front).\(key).\(seq)" }

    private func parseEventId(_ id: String) -> (UInt64, UInt64)? {
        Listeners.parseEventId(id, front: front).map { ($0.key, $0.seq) }
    }

    /// The stream and sequence of a `Last-Event-ID` this front issued, or nil. Only the spelling
    /// `eventId(front:key:seq:)` produces is taken: three parts of plain decimal digits without
    /// leading zeros (no sign, no empty part), so an id names at most one event.
    static func parseEventId(_ id: String, front: Int) -> (key: UInt64, seq: UInt64)? {
        var parts: [UInt64] = []
        var value: UInt64 = 0, digits = 0, leadingZero = false
        for c in id.utf8 {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts.count < 2 else { return nil }
                parts.append(value)
                value = 0; digits = 0; leadingZero = false
                continue
            }
            guard c >= 0x30 && c <= 0x39, !leadingZero else { return nil }
            if digits == 0 && c == 0x30 { leadingZero = true }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { return nil }
            value = sum
            digits += 1
        }
        guard digits > 0, parts.count == 2, front >= 0, parts[0] == UInt64(front) else { return nil }
        return (parts[1], value)
    }

    /// A notification from an executor: `{"method":...,"params":{...}}`.
    func deliver(_ payload: [UInt8]) {
        guard !streams.isEmpty || !resumable.isEmpty, case .object(var msg)? = try? JSONValue.parse(payload),
              case .string(let method)? = msg["method"] else { return }
        let uri = msg["params"]?["uri"]?.stringValue
        msg["jsonrpc"] = .string("2.0")
        let plain = Array(JSONValue.object(msg).compactJSON().utf8)
        var seen = Set<ObjectIdentifier>()
        for s in Array(streams.values) + Array(resumable.values) where seen.insert(ObjectIdentifier(s)).inserted {
            guard wants(s.filter, method, uri: uri) else { continue }
            var json = plain
            if let sid = s.subscriptionId {
                var m = msg
                var params = m["params"]?.objectValue ?? [:]
                var meta = params["_meta"]?.objectValue ?? [:]
                meta["io.modelcontextprotocol/subscriptionId"] = (try? JSONValue.parse(Array(sid.utf8))) ?? .string(sid)
                params["_meta"] = .object(meta)
                m["params"] = .object(params)
                json = Array(JSONValue.object(m).compactJSON().utf8)
            }
            send(s, json)
        }
    }

    /// Writes an event to a stream (recording it first when the stream is resumable).
    func send(_ s: Stream, _ json: [UInt8]) {
        var id: String?
        if s.key != nil {
            s.seq += 1
            s.recent.append((s.seq, loop.now, json))
            if s.recent.count > limits.maxEvents { s.recent.removeFirst(); evicted += 1 }
            id = eventId(s, s.seq)
        }
        guard let c = s.connection, !c.isClosed, let slot = s.slot else {
            detach(s)
            return
        }
        slot.appendEventChunk(json, id: id)
        c.push(slot)
    }

    private func wants(_ f: Filter, _ method: String, uri: String?) -> Bool {
        switch method {
        case "notifications/tools/list_changed": return f.tools
        case "notifications/prompts/list_changed": return f.prompts
        case "notifications/resources/list_changed": return f.resources
        case "notifications/resources/updated":
            guard let uri else { return false }
            if let session = f.session { return isSubscribed?(session, uri) ?? false }
            return f.resourceURIs.contains(uri)
        default: return false
        }
    }

    /// The client went away: a resumable stream keeps its store for a while, others are gone.
    private func detach(_ s: Stream) {
        streams[ObjectIdentifier(s)] = nil
        if s.slot != nil { s.detachedAt = loop.now }
        s.slot = nil
        s.connection = nil
    }

    /// Ends every stream (drain): the last chunk, with a retry hint for GET streams.
    func closeAll() {
        for s in streams.values {
            guard let c = s.connection, !c.isClosed, let slot = s.slot else { continue }
            // A stdio stream (line-framed) has no framing to end.
            if !slot.lineFramed {
                if s.key != nil {
                    let hint = "retry: 1000\n\n"
                    slot.append(.text(String(hint.utf8.count, radix: 16) + "\r\n" + hint + "\r\n"))
                }
                slot.append(.text("0\r\n\r\n"))
            }
            c.finish(slot)
        }
        streams.removeAll()
    }

    private func ping() {
        for s in Array(streams.values) {
            guard let c = s.connection, !c.isClosed, let slot = s.slot else { detach(s); continue }
            guard !slot.lineFramed else { continue } // stdio carries nothing but messages
            let comment = ": keepalive\n\n"
            slot.append(.text(String(comment.utf8.count, radix: 16) + "\r\n" + comment + "\r\n"))
            c.push(slot)
        }
    }

    /// Drops stored events past their age, and streams whose client stayed away too long.
    private func trim() {
        let now = loop.now
        for (key, s) in resumable {
            let before = s.recent.count
            s.recent.removeAll { now &- $0.at > limits.maxAgeMs }
            evicted += before - s.recent.count
            if s.slot == nil && now &- s.detachedAt > limits.maxAgeMs { resumable[key] = nil }
        }
    }
}
