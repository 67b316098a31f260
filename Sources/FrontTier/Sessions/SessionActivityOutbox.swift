/// The sessions this front saw used since it last told the other hosts (`SessionActivitySharing`),
/// as `SessionActivity` keys: one entry per session, however many requests it made, and only
/// for the first use of each second on this host (`SessionActivity.touch` says which). Bounded
/// (`limit` keys, 8 bytes each): when full, `onFull` runs (the Redis side flushes at once);
/// while it cannot empty it (Redis away), further sessions are not recorded (`dropped`): those
/// can be expired by another host that did not see them, as before sharing existed.
/// Thread: the loop thread.
final class SessionActivityOutbox {
    /// 65,536 keys: under 1 MiB of set, and more distinct sessions than a front serves per flush.
    static let defaultLimit = 65_536

    /// One session to tell of: its key and seconds since its last use here.
    struct Entry: Equatable {
        var key: UInt64
        var age: UInt64
    }

    let limit: Int
    private var keys = Set<UInt64>()
    /// Sessions not recorded because the outbox was full.
    private(set) var dropped: UInt64 = 0
    /// The outbox reached `limit`: empty it now if possible.
    var onFull: (() -> Void)?

    init(limit: Int = SessionActivityOutbox.defaultLimit) {
        precondition(limit > 0, "an outbox holds at least one session")
        self.limit = limit
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// Records a use of the session `key`.
    @inline(__always)
    func add(_ key: UInt64) {
        if keys.count >= limit {
            guard keys.contains(key) else { return full(key) }
            return
        }
        keys.insert(key)
    }

    private func full(_ key: UInt64) {
        onFull?()
        if keys.count < limit { keys.insert(key) } else { dropped &+= 1 }
    }

    /// Empties the outbox: every session with the seconds since its last use here (`lastSeen`,
    /// Unix seconds, from this host's table). A session the table no longer holds (evicted when
    /// full) was used since the last flush: it is told as `unknownAge` seconds old.
    func drain(now: UInt64, unknownAge: UInt64, lastSeen: (UInt64) -> UInt64?) -> [Entry] {
        guard !keys.isEmpty else { return [] }
        var out: [Entry] = []
        out.reserveCapacity(keys.count)
        for k in keys {
            let age = lastSeen(k).map { now > $0 ? now - $0 : 0 } ?? unknownAge
            out.append(Entry(key: k, age: age))
        }
        keys.removeAll(keepingCapacity: keys.count <= 4_096)
        return out
    }

    /// Takes back sessions a flush could not deliver, for the next one (up to the bound).
    func putBack(_ entries: [Entry]) {
        for e in entries where keys.count < limit { keys.insert(e.key) }
    }
}
