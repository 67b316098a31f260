import CLibUV

/// Calls a closure on the loop thread when a signal arrives.
///
/// Ownership: the handle holds a retained reference to this object until its close callback,
/// which frees the handle memory. `close()` may be called more than once.
public final class SignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private let callback: (Int32) -> Void
    private var closed = false

    public init(loop: Loop, signal: Int32, _ callback: @escaping (Int32) -> Void) {
        self.callback = callback
        handle = HandleMemory.allocate(uv_signal_t.self)
        uv_signal_init(loop.uv, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_signal_start(handle, signalCallback, signal)
    }

    /// Lets the loop end while this watcher is active.
    public func unref() {
        guard !closed else { return }
        uv_unref(asHandle(handle))
    }

    public func close() {
        guard !closed else { return }
        closed = true
        uv_close(asHandle(handle), signalClosed)
    }

    fileprivate func fire(_ sig: Int32) { callback(sig) }
}

private let signalCallback: uv_signal_cb = { h, sig in
    guard let data = h?.pointee.data else { return }
    Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue().fire(sig)
}

private let signalClosed: uv_close_cb = { h in
    guard let h, let data = h.pointee.data else { return }
    Unmanaged<SignalWatcher>.fromOpaque(data).release()
    h.deallocate()
}
