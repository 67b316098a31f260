import CLibUV
import CSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One libuv loop and what hangs off it: the buffer pool and the per-turn write flush.
///
/// Thread: a `Loop` and everything created on it belong to the thread that calls `run()`.
/// Other threads reach it only through a `Mailbox`.
public final class Loop {
    /// The libuv loop. Ownership: this object; never closed or freed (a loop lives as long as
    /// its process; tests keep theirs too).
    public let uv: UnsafeMutablePointer<uv_loop_t>
    /// Chunks for every stream of this loop. Ownership: this object.
    public let pool: OpaquePointer
    private let check: UnsafeMutablePointer<uv_check_t>
    /// Active only while `deferred` has work: keeps the next poll from blocking, and the loop
    /// alive until the work has run (so it is not unref'd).
    private let idle: UnsafeMutablePointer<uv_idle_t>
    // Touched on every write and turn; unchecked for the reason given in StreamConnection.
    @exclusivity(unchecked) private var pendingFlush: [StreamConnection] = []
    /// Work queued on the loop thread for the end of this turn (before the write flush).
    @exclusivity(unchecked) private var deferred: [() -> Void] = []
    /// The thread running the loop (a `pthread_t`); 0 when it is not running, so that before
    /// `run()` every caller takes the cross-thread path. Read from any thread.
    private let runningThread = Atomic<UInt>(0)
    /// Rounds of deferred work per turn before the rest waits for the next turn: work that
    /// keeps queueing more work must not starve I/O, timers and cancellations.
    private static let deferredRoundsPerTurn = 8
    /// Bytes read and written by streams, by their `trafficClass` (0 other, 1 HTTP, 2 executor links).
    @exclusivity(unchecked) public var bytesIn: [UInt64] = [0, 0, 0]
    @exclusivity(unchecked) public var bytesOut: [UInt64] = [0, 0, 0]
    /// When the pool last ended a period of its demand (`sy_pool_decay`), on the loop's clock.
    private var lastPoolDecay: UInt64 = 0

    public init() {
        uv = .allocate(capacity: 1)
        uv_loop_init(uv)
        pool = sy_pool_new()
        check = .allocate(capacity: 1)
        idle = HandleMemory.allocate(uv_idle_t.self)
        uv_check_init(uv, check)
        check.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_check_start(check, loopCheckCallback)
        // The check handle must not keep the loop alive on its own.
        uv_unref(UnsafeMutableRawPointer(check).assumingMemoryBound(to: uv_handle_t.self))
        uv_idle_init(uv, idle)
    }

    /// Is the caller the thread running this loop (inside `run()`)?
    public var isCurrentThread: Bool {
        let t = runningThread.load(ordering: .acquiring)
        return t != 0 && pthread_equal(pthread_self(), pthread_t(t)) != 0
    }

    /// Runs `work` on the loop thread later in this turn, before the turn's writes leave, so
    /// whatever it writes shares their writev. Loop thread only; from elsewhere use a `Mailbox`.
    public func runAtEndOfTurn(_ work: @escaping () -> Void) {
        if deferred.isEmpty { uv_idle_start(idle, loopIdleCallback) }
        deferred.append(work)
    }

    /// Runs until no active handles remain or `stop()` is called.
    public func run() {
        runningThread.store(UInt(pthread_self()), ordering: .releasing)
        uv_run(uv, UV_RUN_DEFAULT)
        runningThread.store(0, ordering: .releasing)
    }

    public func stop() { uv_stop(uv) }

    /// Milliseconds on the loop's clock (cached per turn).
    public var now: UInt64 { uv_now(uv) }

    /// Chunks handed out and not returned: tests assert this returns to zero.
    public var outstandingChunks: Int { sy_pool_outstanding(pool) }

    /// Handles of this loop not being closed (`uv_walk`, skipping those `uv_is_closing`): timers,
    /// streams, listeners, signal watchers, mailboxes, and the loop's own check and idle
    /// handles. Leak tests compare it before and after a workload. Thread: the loop thread.
    public var openHandles: Int { countHandles(includingClosing: false) }

    /// Every handle still on the loop, closing ones included: once the loop has run a turn
    /// after the last `uv_close`, equal to `openHandles` (every close callback ran).
    public var registeredHandles: Int { countHandles(includingClosing: true) }

    private func countHandles(includingClosing: Bool) -> Int {
        var tally = HandleTally(includingClosing: includingClosing)
        withUnsafeMutablePointer(to: &tally) { uv_walk(uv, tallyHandle, $0) }
        return tally.count
    }

    func scheduleFlush(_ stream: StreamConnection) {
        pendingFlush.append(stream)
    }

    /// Runs once per loop turn after I/O: every stream written to in this turn leaves in one writev.
    func flushPending() {
        var rounds = 0
        while true {
            let runDeferred = !deferred.isEmpty && rounds < Loop.deferredRoundsPerTurn
            guard runDeferred || !pendingFlush.isEmpty else { break }
            if runDeferred {
                rounds += 1
                let batch = deferred
                deferred.removeAll(keepingCapacity: true)
                for work in batch { work() }
            }
            let batch = pendingFlush
            pendingFlush.removeAll(keepingCapacity: true)
            for stream in batch { stream.flushNow() }
        }
        // Work left over keeps the idle handle active: the next poll does not block.
        if deferred.isEmpty { uv_idle_stop(idle) }
        // Once a second the pool's free lists shrink to what the last second needed at its
        // peak (sy_pool_decay): they follow a load up at once, and back down after it.
        let now = uv_now(uv)
        if now &- lastPoolDecay >= 1000 {
            lastPoolDecay = now
            sy_pool_decay(pool)
        }
    }
}

private struct HandleTally {
    let includingClosing: Bool
    var count = 0
}

private let tallyHandle: uv_walk_cb = { handle, arg in
    guard let handle, let arg else { return }
    let tally = arg.assumingMemoryBound(to: HandleTally.self)
    if tally.pointee.includingClosing || uv_is_closing(handle) == 0 { tally.pointee.count += 1 }
}

// Nothing to do: an active idle handle only makes the loop poll without blocking, and the
// check callback that follows runs the deferred work.
private let loopIdleCallback: uv_idle_cb = { _ in }

private let loopCheckCallback: uv_check_cb = { handle in
    guard let data = handle?.pointee.data else { return }
    Unmanaged<Loop>.fromOpaque(data).takeUnretainedValue().flushPending()
}

/// Handle memory helpers: libuv handles are allocated raw and freed in their close callback.
enum HandleMemory {
    static func allocate<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        UnsafeMutableRawPointer(p).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
        return p
    }
}

@inline(__always)
func asHandle<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_handle_t.self)
}

@inline(__always)
func asStream<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_stream_t.self)
}

/// A libuv error code as text.
public func uvErrorName(_ code: Int32) -> String {
    String(cString: uv_strerror(code))
}
