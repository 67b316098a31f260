/// The front's own tier of the result cache: results by key, least recently used first out,
/// bounded by bytes (each entry counts its result, its key's bytes and `entryOverhead`), each with
/// its expiry.
/// An expired entry is dropped when it is looked up or when room is needed; no timer.
/// Thread: the loop thread (a value owned by `ResultCache`).
struct MemoryResultCache {
    /// What an entry costs beyond its result and key bytes: the list links, the table slot.
    static let entryOverhead = 128

    private struct Entry {
        var key: ResultKey
        var value: [UInt8]
        var expiresAt: UInt64
        var newer = -1
        var older = -1
    }

    let maxBytes: Int
    private var slots: [Entry] = []
    private var freeSlots: [Int] = []
    private var index: [ResultKey: Int] = [:]
    private var newest = -1
    private var oldest = -1
    private(set) var bytes = 0
    private(set) var evictions = 0

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    var count: Int { index.count }

    /// The result under `key` unless it expired by `now` (ms on the caller's clock).
    mutating func lookup(_ key: ResultKey, now: UInt64) -> [UInt8]? {
        guard let s = index[key] else { return nil }
        guard slots[s].expiresAt > now else {
            remove(s)
            return nil
        }
        if s != newest {
            unlink(s)
            pushNewest(s)
        }
        return slots[s].value
    }

    /// Keeps `value` under `key` until `expiresAt`, evicting the least recently used entries
    /// to stay within `maxBytes`. A result larger than an eighth of the tier is not kept: one
    /// answer must not flush the rest.
    mutating func store(_ key: ResultKey, _ value: [UInt8], expiresAt: UInt64) {
        let cost = Self.cost(key, value)
        if let s = index[key] { remove(s) }
        guard cost <= maxBytes / 8 else { return }
        while bytes + cost > maxBytes, oldest >= 0 {
            remove(oldest)
            evictions += 1
        }
        let entry = Entry(key: key, value: value, expiresAt: expiresAt)
        let s: Int
        if let f = freeSlots.popLast() { slots[f] = entry; s = f } else { slots.append(entry); s = slots.count - 1 }
        index[key] = s
        bytes += cost
        pushNewest(s)
    }

    private mutating func remove(_ s: Int) {
        unlink(s)
        index[slots[s].key] = nil
        bytes -= Self.cost(slots[s].key, slots[s].value)
        slots[s].value = [] // the result's storage goes now, not when the slot is reused
        freeSlots.append(s)
    }

    static func cost(_ key: ResultKey, _ value: [UInt8]) -> Int {
        value.count + key.material.count + entryOverhead
    }

    private mutating func unlink(_ s: Int) {
        let newer = slots[s].newer, older = slots[s].older
        if newer >= 0 { slots[newer].older = older } else { newest = older }
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
        slots[s].newer = -1
        slots[s].older = -1
    }

    private mutating func pushNewest(_ s: Int) {
        slots[s].older = newest
        slots[s].newer = -1
        if newest >= 0 { slots[newest].newer = s }
        newest = s
        if oldest < 0 { oldest = s }
    }
}
