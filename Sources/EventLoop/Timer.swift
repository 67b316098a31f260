import CLibUV

/// A libuv timer that calls a closure on the loop thread.
///
/// A one-shot timer (started without `repeat`) closes itself once its callback has run, unless
/// the callback started it again: a timer that fired and is not needed any more never holds a
/// handle. `Timer.once` creates and starts one. A repeating timer lives until `close()`.
/// Cancelling is `close()`: it may be called any number of times, before or after the timer
/// fired, from its own callback too. Once closed, `start`, `stop` and `unref` do nothing.
///
/// Ownership: the handle holds one retained reference to this object from `init` until its
/// close callback, which frees the handle memory; the callback closure is dropped there too.
/// Thread: the loop thread only.
public final class Timer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: () -> Void
    /// `close()` was called: the handle is closing or closed (freed) and must not be touched.
    public private(set) var isClosed = false
    /// Started without `repeat`: closed after the callback unless started again inside it.
    private var oneShot = false

    public init(loop: Loop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = HandleMemory.allocate(uv_timer_t.self)
        uv_timer_init(loop.uv, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// A started one-shot timer: `work` runs once after `timeout` ms, then the handle is closed.
    /// Close the returned timer to cancel it. `unref`: the timer alone does not keep the loop running.
    @discardableResult
    public static func once(loop: Loop, after timeout: UInt64, unref: Bool = false,
                            _ work: @escaping () -> Void) -> Timer {
        let t = Timer(loop: loop, work)
        t.start(after: timeout)
        if unref { t.unref() }
        return t
    }

    /// Starts (or restarts) the timer: first after `timeout` ms, then every `repeatMs` (0: once,
    /// and the timer closes itself after firing).
    public func start(after timeout: UInt64, repeat repeatMs: UInt64 = 0) {
        guard !isClosed else { return }
        oneShot = repeatMs == 0
        uv_timer_start(handle, timerCallback, timeout, repeatMs)
    }

    /// Stops the timer without closing it: `start` may arm it again; `close()` still has to follow.
    public func stop() {
        guard !isClosed else { return }
        uv_timer_stop(handle)
    }

    /// Keeps the loop from waiting on this timer alone.
    public func unref() {
        guard !isClosed else { return }
        uv_unref(asHandle(handle))
    }

    /// Stops the timer and closes its handle; the memory is freed in the close callback.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_timer_stop(handle)
        uv_close(asHandle(handle), timerClosed)
    }

    fileprivate func fire() {
        callback()
        // A one-shot timer is done unless its callback armed it again (or closed it).
        if oneShot && !isClosed && uv_is_active(asHandle(handle)) == 0 { close() }
    }

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
