import CSupport

/// What the allocator holds, from `sy_heap_census`.
public struct HeapCensus: Sendable, Equatable {
    /// Bytes malloc has handed out and not had back (the chunk pools' cached chunks included).
    public var inUse: Int
    /// Bytes free inside malloc's heaps, resident or not.
    public var free: Int
    /// The process's anonymous resident memory (0 when /proc cannot be read).
    public var anonResident: Int

    public init(inUse: Int, free: Int, anonResident: Int) {
        self.inUse = inUse
        self.free = free
        self.anonResident = anonResident
    }

    /// Resident anonymous memory the program is not using: free heap pages that stay mapped
    /// after a burst, which `malloc_trim` gives back (thread stacks and runtime tables make a
    /// small remainder).
    public var retained: Int { max(0, anonResident - inUse) }

    public static func now() -> HeapCensus {
        var c = sy_heap_census_t()
        sy_heap_census(&c)
        return HeapCensus(inUse: Int(c.in_use), free: Int(c.free_bytes), anonResident: Int(c.anon_resident))
    }
}

/// When to give retained heap back: once at least `minRetained` bytes are resident and unused,
/// the program's own use has stopped growing (a burst is over: trimming during one only makes
/// the next allocations fault the pages back in), and `minIntervalMs` have passed since the
/// last trim (a server moving large messages keeps some retained all the time; it pays the
/// page faults of one trim per interval at most).
public struct HeapTrimPolicy: Sendable {
    public var minRetained: Int
    public var minIntervalMs: UInt64
    private var lastInUse = Int.max
    private var lastTrimMs: UInt64?

    public init(minRetained: Int = 2 << 20, minIntervalMs: UInt64 = 10_000) {
        self.minRetained = minRetained
        self.minIntervalMs = minIntervalMs
    }

    /// Decides for one sample taken at `nowMs`; true means trim now (the trim is then counted).
    public mutating func shouldTrim(_ census: HeapCensus, nowMs: UInt64) -> Bool {
        let growing = census.inUse > lastInUse
        lastInUse = census.inUse
        guard census.anonResident > 0, census.retained >= minRetained, !growing else { return false }
        if let last = lastTrimMs, nowMs &- last < minIntervalMs { return false }
        lastTrimMs = nowMs
        return true
    }
}

/// Gives the allocator's unused resident memory back to the system after bursts.
///
/// Why: glibc keeps memory freed inside its heaps mapped. `free` returns only the top of a heap,
/// and only past the trim threshold (32 MiB here, `sy_malloc_tune`, so 1 MB messages do not
/// fault every time); freed chunks below live ones stay resident for good. A burst (thousands of
/// calls waiting while an executor is replaced or the loop stalls, each holding its request's
/// read buffer) left a front with 24 MiB free in a 29 MiB heap, resident until exit: the soak's
/// RSS growth (bench/RESULTS.md). `malloc_trim` releases the free pages wherever they lie.
///
/// The loop's chunk pool gives its surplus free chunks back to malloc a second or two after a
/// load falls (`Loop`, `sy_pool_decay`); a trim then returns them to the system.
///
/// Ownership: the timer is this object's; `close()` closes it. Thread: the loop thread.
public final class HeapTrimmer {
    private var timer: Timer?
    private var policy: HeapTrimPolicy
    /// Trims made so far.
    public private(set) var trims = 0
    /// The last census taken.
    public private(set) var last = HeapCensus(inUse: 0, free: 0, anonResident: 0)

    /// Samples every `everyMs` on a timer that does not keep the loop alive; `sampled` sees each
    /// census (for metrics) before the decision.
    public init(loop: Loop, everyMs: UInt64 = 1000, policy: HeapTrimPolicy = HeapTrimPolicy(),
                sampled: ((HeapCensus) -> Void)? = nil) {
        self.policy = policy
        let t = Timer(loop: loop) { [unowned self, unowned loop] in
            let census = HeapCensus.now()
            self.last = census
            sampled?(census)
            if self.policy.shouldTrim(census, nowMs: loop.now) {
                sy_malloc_trim()
                self.trims += 1
            }
        }
        t.start(after: everyMs, repeat: everyMs)
        t.unref()
        timer = t
    }

    public func close() {
        timer?.close()
        timer = nil
    }

    deinit { timer?.close() }
}
