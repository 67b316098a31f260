/// A front other than 0: its copies of its host's executor notifications, paired with the entries
/// front 0 of the same host appended to the shared log, so that each notification reaches this
/// front's streams once. Every front of a host gets the same notifications from its executors in
/// the same order, and front 0 appends them in that order; this front cannot know front 0's tag
/// for a copy, so it pairs by payload, oldest first: an entry of its own host (seen on the channel
/// or read by a catch-up) settles the oldest copy with that payload still waiting; else it is the
/// copy of one delivered locally already (waited longer than `confirmMs`, or this front was not
/// on the shared log), delivered only to streams opened since; else it came before this front's
/// own copy (counted, so that copy is settled when it comes). Pairing by payload keeps the count
/// right even when a copy and an entry are paired out of order: identical notifications are
/// interchangeable.
/// Bounded: each list keeps at most `maxCount` (the oldest go first), local deliveries for
/// `maxAgeMs` (the log's age bound), early entries for `earlyMs`.
/// Thread: the loop thread (a value owned by SharedFanOut).
struct SharedHostCopies {
    /// Copies waiting for their entry (payload, since when), oldest first.
    private(set) var waiting: [(payload: [UInt8], at: UInt64)] = []
    /// Copies delivered locally without an entry (payload, when), oldest first.
    private(set) var local: [(payload: [UInt8], at: UInt64)] = []
    /// Entries that came before this front's copy (payload, when), oldest first.
    private(set) var early: [(payload: [UInt8], at: UInt64)] = []
    let maxCount: Int
    let maxAgeMs: UInt64
    let earlyMs: UInt64

    init(maxCount: Int = 1_000, maxAgeMs: UInt64, earlyMs: UInt64) {
        self.maxCount = max(1, maxCount)
        self.maxAgeMs = maxAgeMs
        self.earlyMs = earlyMs
    }

    /// What an entry of this host means for this front's streams.
    enum Pairing: Equatable {
        /// Deliver it to every stream (a waiting copy is settled, or it came first).
        case deliver
        /// Its copy was delivered locally at this time (loop ms): only streams opened later want it.
        case deliveredLocally(at: UInt64)
    }

    /// A copy from an executor: settled at once when its entry came already, else it waits.
    /// Returns a copy pushed out of a full list (the caller delivers it now).
    mutating func copy(_ payload: [UInt8], now: UInt64) -> [UInt8]? {
        trim(now)
        if let i = early.firstIndex(where: { $0.payload == payload }) {
            early.remove(at: i)
            return nil
        }
        let overflow = waiting.count >= maxCount ? expireOldest(now: now) : nil
        waiting.append((payload, now))
        return overflow
    }

    /// A copy delivered locally without waiting (this front not on the shared log).
    mutating func deliveredLocally(_ payload: [UInt8], now: UInt64) {
        if local.count >= maxCount { local.removeFirst() }
        local.append((payload, now))
    }

    /// An entry of this host's log (from the channel or a catch-up), each once.
    mutating func entry(_ payload: [UInt8], now: UInt64) -> Pairing {
        if let i = waiting.firstIndex(where: { $0.payload == payload }) {
            waiting.remove(at: i)
            return .deliver
        }
        if let i = local.firstIndex(where: { $0.payload == payload }) {
            return .deliveredLocally(at: local.remove(at: i).at)
        }
        if early.count >= maxCount { early.removeFirst() }
        early.append((payload, now))
        return .deliver
    }

    /// Copies that waited `ms` or longer, oldest first: the caller delivers them (recorded as
    /// delivered locally).
    mutating func expire(olderThan ms: UInt64, now: UInt64) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let first = waiting.first, now &- first.at >= ms { out.append(expireOldest(now: now)) }
        return out
    }

    private mutating func expireOldest(now: UInt64) -> [UInt8] {
        let first = waiting.removeFirst()
        deliveredLocally(first.payload, now: now)
        return first.payload
    }

    /// Forgets local deliveries older than the log keeps and early entries past their window.
    mutating func trim(_ now: UInt64) {
        while let first = local.first, now &- first.at > maxAgeMs { local.removeFirst() }
        while let first = early.first, now &- first.at > earlyMs { early.removeFirst() }
    }
}
