import EventLoop
import MCPCore

/// Open notification streams: 2026-07-28 `subscriptions/listen` streams and 2025-11-25
/// standalone GET streams. Executors' link-wide notifications fan out to every stream whose
/// filter wants them.
///
/// GET streams are resumable: each event has an id `<front>.<stream>.<seq>`, and the last
/// events of each stream stay in a bounded store (count and age limits) while its client is
/// away, so a reconnect with `Last-Event-ID` to the same front gets what it missed. With Redis
/// (SharedFanOut), notifications arrive with an id of the shared log (SharedEventStore) and GET
/// streams carry that id instead, so a reconnect resumes on any host; events that arrive without
/// one (Redis away) keep the local numbering and store.
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
        /// Changed only by stdio's second `initialize` (the stream follows the new session).
        var filter: Filter
        /// Resumable (GET) streams number their events and keep the last ones.
        let key: UInt64?
        var seq: UInt64 = 0
        var recent: [(seq: UInt64, at: UInt64, json: [UInt8])] = []
        var detachedAt: UInt64 = 0
        /// Shared log (Redis): the id of the last shared event written; anything at or before it
        /// is skipped (a live event that the replay already carried).
        var sharedCursor: SharedEventId?
        /// Shared log: live events held while the stream's replay is read; nil once it is written.
        var held: [(id: SharedEventId, json: [UInt8])]?
        /// When the stream was opened (loop ms).
        var openedAt: UInt64 = 0

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
    /// The newest shared log id delivered (from the channel or a catch-up, in the log's order), or
    /// where the log was when this front first listened (`noteShared`).
    private(set) var newestShared: SharedEventId?
    /// How far a stream without a cursor reaches back before its opening, by this host's clock,
    /// when it is first caught up (room for a host's clock ahead of Redis's).
    static let cursorClockSlackMs: UInt64 = 5_000

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

    func add(_ s: Stream) {
        s.openedAt = loop.now
        streams[ObjectIdentifier(s)] = s
    }

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
        s.openedAt = loop.now
        resumable[s.key!] = s
        streams[ObjectIdentifier(s)] = s
        return (s, [])
    }

    /// Whether `lastEventId` names a stream of `session` this front still keeps (an id it issued
    /// while the shared log was away): such a reconnect resumes from the local store.
    func holdsLocally(_ lastEventId: String?, session: String) -> Bool {
        guard let last = lastEventId, let (key, _) = parseEventId(last), let old = resumable[key] else { return false }
        return old.filter.session == session && old.seq > 0
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

    /// A notification as every stream sees it: its method, the URI it names, the message, and
    /// the session it is for alone, if any.
    struct Rendered {
        var message: [String: JSONValue]
        var method: String
        var uri: String?
        var plain: [UInt8]
        /// The session key (a CALL context's `session`) of the only session it is for.
        var session: String?
    }

    /// Parses an executor's notification (`{"method":...,"params":{...},"session"?:KEY}`, protocol
    /// §5.7); nil if it is not one. `session` is taken out of the message clients see.
    static func render(_ payload: [UInt8]) -> Rendered? {
        guard case .object(var msg)? = try? JSONValue.parse(payload), case .string(let method)? = msg["method"] else {
            return nil
        }
        var session: String?
        if let s = msg.removeValue(forKey: "session") {
            // A target that is not a key names no session: for no one.
            session = s.stringValue ?? ""
        }
        let uri = msg["params"]?["uri"]?.stringValue
        msg["jsonrpc"] = .string("2.0")
        return Rendered(message: msg, method: method, uri: uri, plain: Array(JSONValue.object(msg).compactJSON().utf8),
                        session: session)
    }

    /// A notification from an executor, or from the shared log with its id (`sharedId`). A catch-up
    /// (SharedFanOut) passes `toListenStreams` false for an entry the front had already (only GET
    /// streams behind it take it, by their cursor), and `openedAfter` for an entry this host
    /// delivered locally at that time (loop ms): streams opened then or before had it.
    func deliver(_ payload: [UInt8], sharedId: SharedEventId? = nil, toListenStreams: Bool = true,
                 openedAfter: UInt64? = nil) {
        if let sharedId, newestShared.map({ sharedId > $0 }) ?? true { newestShared = sharedId }
        guard !streams.isEmpty || !resumable.isEmpty, let r = Listeners.render(payload) else { return }
        var seen = Set<ObjectIdentifier>()
        for s in Array(streams.values) + Array(resumable.values) where seen.insert(ObjectIdentifier(s)).inserted {
            if s.key == nil && !toListenStreams { continue }
            if let at = openedAfter, s.openedAt <= at { continue }
            guard let json = message(for: s, r) else { continue }
            send(s, json, sharedId: sharedId)
        }
    }

    /// The log's newest id when this front starts listening to the channel: a later catch-up of
    /// `subscriptions/listen` streams reads only what follows it.
    func noteShared(_ id: SharedEventId) {
        if newestShared.map({ id > $0 }) ?? true { newestShared = id }
    }

    /// What stream `s` shows of a notification, or nil when its filter does not want it.
    private func message(for s: Stream, _ r: Rendered) -> [UInt8]? {
        if let target = r.session {
            // Only a handshake-era session's streams can be the one it is for.
            guard let id = s.filter.session, ExecutorCalls.sessionKey(of: id) == target else { return nil }
        }
        guard wants(s.filter, r.method, uri: r.uri) else { return nil }
        guard let sid = s.subscriptionId else { return r.plain }
        var m = r.message
        var params = m["params"]?.objectValue ?? [:]
        var meta = params["_meta"]?.objectValue ?? [:]
        meta["io.modelcontextprotocol/subscriptionId"] = (try? JSONValue.parse(Array(sid.utf8))) ?? .string(sid)
        params["_meta"] = .object(meta)
        m["params"] = .object(params)
        return Array(JSONValue.object(m).compactJSON().utf8)
    }

    // MARK: GET streams on the shared log

    /// Opens a GET stream whose events come from the shared log: registered at once (live events
    /// are held) while its replay is read; `finishOpening` writes the replay and releases them.
    func openShared(connection: any AnswerChannel, slot: ResponseSlot, filter: Filter) -> Stream {
        let s = Stream(connection: connection, slot: slot, subscriptionId: nil, filter: filter, key: newKey())
        s.openedAt = loop.now
        s.held = []
        resumable[s.key!] = s
        streams[ObjectIdentifier(s)] = s
        return s
    }

    /// Writes what the shared log answered (its entries after the client's `Last-Event-ID` that
    /// the stream's filter wants), the priming event, then the live events held meanwhile that
    /// the replay did not carry. `opening` nil (Redis could not answer): the stream starts
    /// empty, primed with a local id.
    func finishOpening(_ s: Stream, _ opening: SharedEventStore.Opening?) {
        guard let c = s.connection, !c.isClosed, let slot = s.slot else {
            s.held = nil
            detach(s)
            return
        }
        var primingId = eventId(s, s.seq)
        if let opening {
            let after = s.sharedCursor
            for e in opening.entries where after.map({ e.id > $0 }) ?? true {
                guard let r = Listeners.render(e.payload), let json = message(for: s, r) else { continue }
                slot.appendEventChunk(json, id: e.id.description)
            }
            // A log younger than the cursor (Redis lost it) keeps the cursor: new ids are larger.
            s.sharedCursor = max(after ?? .zero, opening.newest)
            primingId = s.sharedCursor!.description
        }
        // Priming: an id and a reconnection delay, after what is replayed so that ids only
        // move forward (a client that drops right after it resumes from the newest event).
        let text = "id: \(primingId)\nretry: 3000\ndata: \n\n"
        slot.append(.text(String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n"))
        let held = s.held ?? []
        s.held = nil
        for e in held { send(s, e.json, sharedId: e.id) }
        c.push(slot)
    }

    /// Where a catch-up of GET streams reads the log from (after the channel was away: Redis
    /// reconnected): the oldest cursor of a connected GET stream, nil when there is none. A stream
    /// without a cursor (opened while the log could not answer) gets one first: the newest id this
    /// front had from the channel, or its opening time by this host's clock (`wallClockMs` now)
    /// less `cursorClockSlackMs`, whichever is later, so it gets what other hosts published since
    /// it opened. Streams still reading their opening replay (held) are left to it.
    func catchUpCursor(wallClockMs: UInt64) -> SharedEventId? {
        var oldest: SharedEventId?
        for s in resumable.values where s.held == nil && s.slot != nil {
            if s.sharedCursor == nil {
                let openedAgo = loop.now &- s.openedAt
                let opened = SharedEventId(ms: wallClockMs &- min(wallClockMs, openedAgo &+ Self.cursorClockSlackMs), seq: 0)
                s.sharedCursor = max(newestShared ?? .zero, opened)
            }
            oldest = min(oldest ?? s.sharedCursor!, s.sharedCursor!)
        }
        return oldest
    }

    /// Writes an event to a stream (recording it first when the stream is resumable and the
    /// event has no id in the shared log).
    func send(_ s: Stream, _ json: [UInt8], sharedId: SharedEventId? = nil) {
        var id: String?
        if let shared = sharedId, s.key != nil {
            if s.held != nil { s.held!.append((shared, json)); return }
            if let cursor = s.sharedCursor, shared <= cursor { return }
            s.sharedCursor = shared
            id = shared.description
        } else if s.key != nil {
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
            // Ended: a replay still being read (shared log) finds no slot to write to.
            s.slot = nil
            s.connection = nil
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
