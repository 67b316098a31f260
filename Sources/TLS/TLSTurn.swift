import CTLS
import EventLoop

/// One per event loop: what its TLS streams share. Each stream's writes of a loop turn are
/// staged and encrypted once at the end of the turn (one record for a whole answer, not one per
/// piece), before the turn's socket writes leave; and the records of every stream go through one
/// scratch buffer on their way into the socket's output queue.
///
/// Ownership: `output` (and its malloc'd bytes) belongs to this object and is freed in `deinit`;
/// streams hold this object strongly. Thread: the loop thread only.
public final class TLSTurn {
    /// Where OpenSSL writes records; drained into a socket after every call that may write.
    let output: UnsafeMutablePointer<sy_tls_out_t>
    /// The chunk pool of the loop: plaintext read buffers and write staging.
    let pool: OpaquePointer
    private let schedule: (@escaping () -> Void) -> Void
    @exclusivity(unchecked) private var pending: [TLSStream] = []

    /// `schedule` runs work later in the current loop turn, before its writes leave.
    public init(pool: OpaquePointer, schedule: @escaping (@escaping () -> Void) -> Void) {
        self.pool = pool
        self.schedule = schedule
        output = .allocate(capacity: 1)
        output.initialize(to: sy_tls_out_t())
    }

    /// For a libuv `Loop`: end-of-turn work through `runAtEndOfTurn`.
    public convenience init(loop: Loop) {
        self.init(pool: loop.pool, schedule: { loop.runAtEndOfTurn($0) })
    }

    deinit {
        sy_tls_out_free(output)
        output.deallocate()
    }

    /// `stream` has staged writes (or input to go back to): it runs `endOfTurn()` once this turn.
    func enqueue(_ stream: TLSStream) {
        if pending.isEmpty { schedule { [self] in run() } }
        pending.append(stream)
    }

    private func run() {
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        for stream in batch { stream.endOfTurn() }
    }
}
