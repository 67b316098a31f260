import CLibUV

/// A libuv timer that calls a closure on the loop thread.
///
/// Ownership: the handle holds a retained reference to this object from `start` until its
/// close callback; call `close()` when done.
public final class Timer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: () -> Void
    private var retained = false

    public init(loop: Loop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = HandleMemory.allocate(uv_timer_t.self)
        uv_timer_init(loop.uv, handle)
    }

    /// Starts (or restarts) the timer: first after `timeout` ms, then every `repeatMs` (0: once).
    public func start(after timeout: UInt64, repeat repeatMs: UInt64 = 0) {
        if !retained {
            handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
            retained = true
        }
        uv_timer_start(handle, timerCallback, timeout, repeatMs)
    }

    public func stop() { uv_timer_stop(handle) }

    /// Keeps the loop from waiting on this timer alone.
    public func unref() { uv_unref(asHandle(handle)) }

    public func close() {
        uv_timer_stop(handle)
        if !retained {
            handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
            retained = true
        }
        uv_close(asHandle(handle), timerClosed)
    }

    fileprivate func fire() { callback() }
    fileprivate func closed() {
        callback = {}
        handle.deallocate()
    }
}

private let timerCallback: uv_timer_cb = { h in
    guard let data = h?.pointee.data else { return }
    Unmanaged<Timer>.fromOpaque(data).takeUnretainedValue().fire()
}

private let timerClosed: uv_close_cb = { h in
    guard let data = h?.pointee.data else { return }
    let timer = Unmanaged<Timer>.fromOpaque(data).takeRetainedValue()
    timer.closed()
}
