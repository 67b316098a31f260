import EventLoop
import Metrics

/// The fresh tool-result cache of one front: its memory tier (`MemoryResultCache`, bounded by
/// `--result-cache-mb`), then the shared tier (`RemoteResultStore`: Redis) when there is one. A
/// shared-tier hit fills the memory tier. A shared-tier lookup is asynchronous and bounded: its
/// answer is taken if it comes within `remoteWaitMs`, else the lookup counts as a miss and the
/// call goes to an executor; a store that is down is not asked at all.
/// Thread: the loop thread.
final class ResultCache {
    /// The longest a call waits for the shared tier before it goes to an executor anyway.
    static let remoteWaitMs: UInt64 = 50
    /// How often lookups past their wait are answered as misses (while any is waiting).
    static let sweepMs: UInt64 = 10
    /// Larger results stay in the front's memory only: one GET must not move megabytes.
    static let maxSharedResultBytes = 1 << 20

    enum Tier: Int { case memory = 0, redis = 1 }

    private let loop: Loop
    private let log: Log
    private var memory: MemoryResultCache
    private let sealer: ResultSealer
    /// The shared tier; nil without Redis.
    var remote: (any RemoteResultStore)?
    private let hits: [Counter]
    private let misses: [Counter]

    private struct Waiting {
        let id: UInt64
        let deadline: UInt64
        let done: ([UInt8]?) -> Void
    }
    /// Shared-tier lookups in flight, oldest first (all wait as long: deadlines ascend).
    @exclusivity(unchecked) private var waiting: [Waiting] = []
    @exclusivity(unchecked) private var waitingHead = 0
    @exclusivity(unchecked) private var answeredEarly: Set<UInt64> = []
    @exclusivity(unchecked) private var nextLookup: UInt64 = 0
    private var sweep: Timer?

    init(loop: Loop, log: Log, maxBytes: Int, sessionKey: [UInt8]) {
        self.loop = loop
        self.log = log
        memory = MemoryResultCache(maxBytes: maxBytes)
        sealer = ResultSealer(sessionKey: sessionKey)
        let h = Metrics.family(.cacheHitsTotal), m = Metrics.family(.cacheMissesTotal)
        hits = [h.counter(Tier.memory.rawValue), h.counter(Tier.redis.rawValue)]
        misses = [m.counter(Tier.memory.rawValue), m.counter(Tier.redis.rawValue)]
    }

    /// Results held in memory, and their bytes (with each entry's overhead), for /healthz.
    var memoryEntries: Int { memory.count }
    var memoryBytes: Int { memory.bytes }

    /// There is a shared tier and it is reachable: `lookupRemote` will ask it.
    var sharedTierIsUp: Bool { remote?.isUp == true }

    /// The result in the memory tier, counted as a hit or a miss of that tier.
    func lookupMemory(_ key: ResultKey) -> [UInt8]? {
        let found = memory.lookup(key, now: loop.now)
        (found == nil ? misses : hits)[Tier.memory.rawValue].increment()
        return found
    }

    /// Asks the shared tier when it is up: `done` is called once, on the loop thread, with the
    /// result (also put in memory) or nil, within `remoteWaitMs` plus a sweep. Returns false,
    /// without calling `done`, when there is no shared tier or it is down.
    func lookupRemote(_ key: ResultKey, _ done: @escaping ([UInt8]?) -> Void) -> Bool {
        guard let remote, remote.isUp else { return false }
        nextLookup &+= 1
        let id = nextLookup
        waiting.append(Waiting(id: id, deadline: loop.now + Self.remoteWaitMs, done: done))
        startSweep()
        let redisKey = key.redisKey
        remote.get(redisKey) { [weak self] box in
            guard let self, let w = self.take(id) else { return } // already answered as a miss
            let now = ResultSealer.nowUnixMs()
            if let box, let opened = self.sealer.open(box, under: redisKey, nowUnixMs: now) {
                self.hits[Tier.redis.rawValue].increment()
                self.memory.store(key, opened.result, expiresAt: self.loop.now + (opened.expiresAtUnixMs - now))
                w.done(opened.result)
            } else {
                if box != nil { self.log.warning("a shared cached result did not open (altered, or another key); ignored") }
                self.misses[Tier.redis.rawValue].increment()
                w.done(nil)
            }
        }
        return true
    }

    /// Keeps a fresh result for `ttlMs` in memory and, sealed, in the shared tier.
    func store(_ key: ResultKey, ttlMs: UInt64, _ result: [UInt8]) {
        memory.store(key, result, expiresAt: loop.now + ttlMs)
        guard let remote, remote.isUp, result.count <= Self.maxSharedResultBytes else { return }
        let redisKey = key.redisKey
        guard let box = sealer.seal(result, expiresAtUnixMs: ResultSealer.nowUnixMs() + ttlMs, under: redisKey) else {
            log.warning("cannot seal a result for the shared cache (no random bytes); kept in memory only")
            return
        }
        remote.set(redisKey, box, ttlMs: ttlMs)
    }

    /// At the end of a drain: its connections are closed, so lookups still waiting (at most
    /// `remoteWaitMs` old) are dropped with their requests, and a late answer finds nothing.
    func close() {
        sweep?.close()
        sweep = nil
        waiting.removeAll()
        waitingHead = 0
        answeredEarly.removeAll()
        remote = nil
    }

    /// The waiting lookup `id`, removed; nil when it was answered as a miss already.
    private func take(_ id: UInt64) -> Waiting? {
        guard waitingHead < waiting.count else { return nil }
        if waiting[waitingHead].id == id {
            let w = waiting[waitingHead]
            waitingHead += 1
            compact()
            return w
        }
        // Answered out of order (a cluster's nodes answer independently): found by search,
        // marked so the sweep skips it.
        guard let w = waiting[waitingHead...].first(where: { $0.id == id }), !answeredEarly.contains(id) else {
            return nil
        }
        answeredEarly.insert(id)
        return w
    }

    private func compact() {
        while waitingHead < waiting.count, answeredEarly.remove(waiting[waitingHead].id) != nil { waitingHead += 1 }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
            sweep?.stop()
        } else if waitingHead > 1024 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    private func startSweep() {
        if sweep == nil {
            let t = Timer(loop: loop) { [unowned self] in self.expire() }
            t.unref()
            sweep = t
        }
        if waiting.count - waitingHead == 1 { sweep?.start(after: Self.sweepMs, repeat: Self.sweepMs) }
    }

    /// Lookups past their wait become misses: their calls go on to executors.
    private func expire() {
        let now = loop.now
        var late: [Waiting] = []
        while waitingHead < waiting.count, waiting[waitingHead].deadline <= now {
            let w = waiting[waitingHead]
            waitingHead += 1
            if answeredEarly.remove(w.id) == nil { late.append(w) }
        }
        compact()
        if !late.isEmpty {
            log.debug("shared result cache did not answer in time; calls go to executors",
                      [("calls", String(late.count)), ("waitMs", String(Self.remoteWaitMs))])
        }
        for w in late {
            misses[Tier.redis.rawValue].increment()
            w.done(nil)
        }
    }
}
