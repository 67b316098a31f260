/// Front 0's account of its own appends to the shared log, so that each of its executors'
/// notifications reaches its streams once. An append whose reply is lost may still have gone into
/// the log and out on the channel: front 0 then delivers its copy locally (it cannot know) and
/// must not deliver the channel's copy, nor the log's copy when a GET stream catches up. Each
/// append carries a tag (SharedEventStore); the ledger remembers, per tag, whether the channel
/// brought it while the append was pending, and which tags were delivered locally.
/// Bounded: `maxLocal` local deliveries, each kept `maxAgeMs` (the log's age bound: an older
/// entry is no longer in the log). Thread: the loop thread (a value owned by SharedFanOut).
struct SharedDeliveryLedger {
    /// Appends awaiting Redis's answer: tag → its channel copy already arrived (and was delivered).
    private var pending: [[UInt8]: Bool] = [:]
    /// Tags delivered locally after a failed append → when (loop ms).
    private var local: [[UInt8]: UInt64] = [:]
    private var order: [(tag: [UInt8], at: UInt64)] = []
    private var head = 0
    let maxLocal: Int
    let maxAgeMs: UInt64

    init(maxLocal: Int = 1_000, maxAgeMs: UInt64) {
        self.maxLocal = max(1, maxLocal)
        self.maxAgeMs = maxAgeMs
    }

    var pendingCount: Int { pending.count }
    var localCount: Int { local.count }

    mutating func appending(_ tag: [UInt8]) { pending[tag] = false }

    /// Redis answered the append (`stored`: with an id; else refused, away or lost). Returns
    /// whether the caller must deliver its copy locally: only when it was not stored and its
    /// channel copy has not arrived (it then counts as delivered locally).
    mutating func appended(_ tag: [UInt8], stored: Bool, now: UInt64) -> Bool {
        let arrived = pending.removeValue(forKey: tag) ?? false
        guard !stored, !arrived else { return false }
        trim(now)
        if local.count >= maxLocal, head < order.count {
            local[order[head].tag] = nil
            head += 1
        }
        local[tag] = now
        order.append((tag, now))
        return true
    }

    /// A channel message with this tag: whether to deliver it (not when it is the copy of one
    /// delivered locally already).
    mutating func arrived(_ tag: [UInt8]) -> Bool {
        if pending[tag] != nil {
            pending[tag] = true
            return true
        }
        return local[tag] == nil
    }

    /// When the append with this tag was delivered locally (loop ms), if it was: streams opened
    /// then or before must not get its entry.
    func localAt(_ tag: [UInt8]) -> UInt64? { local[tag] }

    /// Forgets local deliveries older than the log keeps.
    mutating func trim(_ now: UInt64) {
        while head < order.count, now &- order[head].at > maxAgeMs {
            if local[order[head].tag] == order[head].at { local[order[head].tag] = nil }
            head += 1
        }
        if head > 256, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
