import CLibUV
import Synchronization

/// Hands work from any thread to the loop thread: a locked queue plus `uv_async_send`.
/// Sends coalesce; the async callback drains the whole queue.
///
/// Thread: `send` from anywhere; the closures run on the loop thread.
public final class LoopHandoff: Sendable {
    private let queue = Mutex<[@Sendable () -> Void]>([])
    /// Ownership: allocated here, freed in the close callback; the pointer is only used through libuv.
    private nonisolated(unsafe) let handle: UnsafeMutablePointer<uv_async_t>

    public init(loop: Loop) {
        handle = HandleMemory.allocate(uv_async_t.self)
        uv_async_init(loop.uv, handle, handoffCallback)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    public func send(_ work: @escaping @Sendable () -> Void) {
        queue.withLock { $0.append(work) }
        uv_async_send(handle)
    }

    /// Lets the loop end while this handoff is open.
    public func unref() { uv_unref(asHandle(handle)) }

    fileprivate func drain() {
        let work = queue.withLock { q -> [@Sendable () -> Void] in
            let all = q
            q.removeAll()
            return all
        }
        for w in work { w() }
    }

    /// Closes the handle; pending work still queued is dropped.
    public func close() {
        uv_close(asHandle(handle), handoffClosed)
    }
}

private let handoffCallback: uv_async_cb = { h in
    guard let data = h?.pointee.data else { return }
    Unmanaged<LoopHandoff>.fromOpaque(data).takeUnretainedValue().drain()
}

private let handoffClosed: uv_close_cb = { h in
    guard let h, let data = h.pointee.data else { return }
    Unmanaged<LoopHandoff>.fromOpaque(data).release()
    h.deallocate()
}
