import CLibUV

/// A Swift task executor that runs jobs on a loop's thread: a task started with it as its
/// preference runs between I/O callbacks, with no hop to the global pool and back.
/// For work that never blocks and takes microseconds (a task that blocks stalls every
/// connection of the loop).
///
/// Thread: `enqueue` from any thread. Jobs enqueued on the loop thread run later in the same
/// turn, before its writes leave; jobs from other threads arrive through a mailbox.
public final class LoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    /// Loop thread only.
    private nonisolated(unsafe) let loop: Loop
    private nonisolated(unsafe) var local: [UnownedJob] = []
    private let remote: Mailbox<UnownedJob>

    public init(loop: Loop) {
        self.loop = loop
        var runJobs: ((UnownedJob) -> Void)!
        remote = Mailbox(loop: loop) { boxes in for job in boxes { runJobs(job) } }
        remote.unref()
        runJobs = { [unowned self] job in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        guard loop.isCurrentThread else { remote.post(job); return }
        if local.isEmpty { loop.runAtEndOfTurn { [self] in runLocal() } }
        local.append(job)
    }

    private func runLocal() {
        let jobs = local
        local.removeAll(keepingCapacity: true)
        for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
    }

    public func close() { remote.close() }
}
