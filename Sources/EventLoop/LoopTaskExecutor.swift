import CLibUV

/// A Swift task executor that runs jobs on a loop's thread: a task started with it as its
/// preference runs between I/O callbacks, with no hop to the global pool and back.
/// For work that never blocks and takes microseconds (a task that blocks stalls every
/// connection of the loop).
///
/// Thread: `enqueue` from any thread. Jobs go through a mailbox: enqueued on the loop thread
/// they run later in the same turn, before its writes leave; from other threads they wake it.
public final class LoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let jobs: Mailbox<UnownedJob>

    public init(loop: Loop) {
        var run: ((UnownedJob) -> Void)!
        jobs = Mailbox(loop: loop) { batch in for job in batch { run(job) } }
        jobs.unref()
        run = { [unowned self] job in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        jobs.post(UnownedJob(job))
    }

    public func close() { jobs.close() }
}
