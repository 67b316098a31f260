import CLibUV
import CSupport
import EventLoop
import Glibc

/// A one-shot wake-up at an instant on uv_hrtime's clock, to the microsecond: a timerfd polled
/// by the loop. libuv's own timers count whole milliseconds, which put up to a millisecond of
/// the generator's own delay into every open-loop latency (nginx showed a p50 of 1.7 ms).
///
/// Ownership: the descriptor and the poll handle are this object's; `close()` stops the poll,
/// closes the handle (freed in its close callback) and then the descriptor.
final class PreciseTimer {
    private let fd: Int32
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private let fired: () -> Void
    private var closed = false

    /// nil when the kernel gives no timer descriptor (the caller keeps its millisecond tick).
    init?(loop: Loop, _ fired: @escaping () -> Void) {
        fd = sy_timerfd_new()
        guard fd >= 0 else { return nil }
        self.fired = fired
        poll = .allocate(capacity: 1)
        guard uv_poll_init(loop.uv, poll, fd) == 0 else {
            poll.deallocate()
            Glibc.close(fd)
            return nil
        }
        poll.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_poll_start(poll, Int32(UV_READABLE.rawValue), preciseTimerCallback)
        // Like the tick it sharpens, it must not keep the loop alive on its own.
        uv_unref(UnsafeMutableRawPointer(poll).assumingMemoryBound(to: uv_handle_t.self))
    }

    /// Fires once at `ns` (uv_hrtime), or at once when that has passed.
    func arm(at ns: UInt64) {
        guard !closed else { return }
        _ = sy_timerfd_arm_at(fd, ns)
    }

    fileprivate func onReadable() {
        sy_timerfd_clear(fd)
        fired()
    }

    func close() {
        guard !closed else { return }
        closed = true
        uv_poll_stop(poll)
        uv_close(UnsafeMutableRawPointer(poll).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            handle?.deallocate()
        }
        Glibc.close(fd)
    }
}

private let preciseTimerCallback: uv_poll_cb = { handle, _, _ in
    guard let data = handle?.pointee.data else { return }
    Unmanaged<PreciseTimer>.fromOpaque(data).takeUnretainedValue().onReadable()
}
