import CSupport

/// An event loop for tests, in the part `Loop` plays for a `StreamConnection`: a buffer pool,
/// a clock that moves only when the test says so, timers on that clock, and a queue of the
/// completions libuv would deliver on later turns (reads, write flushes, closes), run in order
/// by `run()`. Nothing here touches a socket, a thread or the wall clock.
///
/// Ownership: owns `pool`; frees it on deinit unless chunks are still out (then it is leaked
/// on purpose: freeing it would leave those chunks pointing at freed memory).
/// Thread: the test's thread only.
public final class ManualLoop {
    /// Milliseconds on this loop's clock; starts well above zero, as libuv's does.
    public private(set) var now: UInt64
    /// The chunk pool behind every `MemoryStream` of this loop. Ownership: this object.
    public let pool: OpaquePointer
    private var queue: [() -> Void] = []
    private var timers: [(deadline: UInt64, order: Int, work: () -> Void)] = []
    private var timersScheduled = 0
    /// Completions run before `run()` decides the test has a loop that never settles.
    public var maxStepsPerRun = 1_000_000

    public init(now: UInt64 = 1_000_000) {
        self.now = now
        pool = sy_pool_new()
    }

    deinit {
        if sy_pool_outstanding(pool) == 0 { sy_pool_free(pool) }
    }

    /// Chunks handed out and not returned: tests assert this is zero once streams are closed.
    public var outstandingChunks: Int { sy_pool_outstanding(pool) }

    /// Queues `work` for a later turn (as libuv calls back after the call that started it).
    public func enqueue(_ work: @escaping () -> Void) { queue.append(work) }

    /// Runs queued completions, and whatever they queue, until none is left. Timers fire only
    /// from `advance(by:)`.
    public func run() {
        var steps = 0
        while !queue.isEmpty {
            let batch = queue
            queue.removeAll()
            for work in batch { work() }
            steps += batch.count
            precondition(steps <= maxStepsPerRun, "ManualLoop.run: work keeps queueing more work")
        }
    }

    /// Runs `work` once `ms` have passed on this loop's clock (see `advance(by:)`).
    public func schedule(after ms: UInt64, _ work: @escaping () -> Void) {
        timersScheduled += 1
        timers.append((now &+ ms, timersScheduled, work))
    }

    /// Timers not yet fired.
    public var pendingTimers: Int { timers.count }

    /// Moves the clock forward by `ms`. Each timer due by then fires at its own deadline, in
    /// deadline order (then scheduling order), with the queued completions run after each.
    public func advance(by ms: UInt64) {
        let target = now &+ ms
        run()
        while let next = timers.indices.filter({ timers[$0].deadline <= target })
            .min(by: { (timers[$0].deadline, timers[$0].order) < (timers[$1].deadline, timers[$1].order) }) {
            let timer = timers.remove(at: next)
            now = max(now, timer.deadline)
            timer.work()
            run()
        }
        now = target
        run()
    }
}
