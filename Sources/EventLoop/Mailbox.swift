import CLibUV
import MCPCore

/// Carries values from any thread to the loop thread: a locked queue plus `uv_async_send`.
/// Posts coalesce; `onDrain` receives everything queued, in order, on the loop thread.
///
/// Thread: `post` from anywhere. `onDrain` is only ever called on the loop thread, which is
/// why the (non-Sendable) closure may be stored in a Sendable object.
/// Ownership: the handle holds the drainer (and through it this object) until its close
/// callback, which frees the handle memory. Posts after `close()` are dropped: the handle is
/// signalled only under the lock that `close()` takes before closing it.
public final class Mailbox<Item: Sendable>: @unchecked Sendable {
    private struct State {
        var items: [Item] = []
        var closed = false
    }
    private let state = Locked<State>(State())
    private let handle: UnsafeMutablePointer<uv_async_t>
    private let onDrain: ([Item]) -> Void
    /// Touched only on the loop thread (`post` checks `isCurrentThread` first).
    private nonisolated(unsafe) let loop: Loop
    private nonisolated(unsafe) var drainScheduled = false

    public init(loop: Loop, onDrain: @escaping ([Item]) -> Void) {
        self.onDrain = onDrain
        self.loop = loop
        handle = HandleMemory.allocate(uv_async_t.self)
        uv_async_init(loop.uv, handle, mailboxCallback)
        handle.pointee.data = Unmanaged.passRetained(MailboxDrainer(self.drain)).toOpaque()
    }

    public func post(_ item: Item) {
        if loop.isCurrentThread {
            let open = state.withLock { s -> Bool in
                guard !s.closed else { return false }
                s.items.append(item)
                return true
            }
            // Already on the loop: drain later in this turn, without waking it through the eventfd.
            if open && !drainScheduled {
                drainScheduled = true
                loop.runAtEndOfTurn { [self] in drainScheduled = false; drain() }
            }
        } else {
            let handle = self.handle
            state.withLock { s in
                // Under the lock: `close()` cannot free the handle in the meantime.
                guard !s.closed else { return }
                s.items.append(item)
                uv_async_send(handle)
            }
        }
    }

    /// Lets the loop end while the mailbox is open. Loop thread.
    public func unref() {
        guard !state.withLock({ $0.closed }) else { return }
        uv_unref(asHandle(handle))
    }

    /// Closes the handle; what is queued and what is posted from now on is dropped. Loop
    /// thread; more than once is fine.
    public func close() {
        let first = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.closed = true
            s.items.removeAll()
            return true
        }
        if first { uv_close(asHandle(handle), mailboxClosed) }
    }

    private func drain() {
        let items = state.withLock { s -> [Item] in
            let all = s.items
            s.items.removeAll(keepingCapacity: true)
            return all
        }
        if !items.isEmpty { onDrain(items) }
    }
}

/// Type-erased drain callback stored in the handle (the C callback cannot be generic).
private final class MailboxDrainer {
    let drain: () -> Void
    init(_ drain: @escaping () -> Void) { self.drain = drain }
}

private let mailboxCallback: uv_async_cb = { h in
    guard let data = h?.pointee.data else { return }
    Unmanaged<MailboxDrainer>.fromOpaque(data).takeUnretainedValue().drain()
}

private let mailboxClosed: uv_close_cb = { h in
    guard let h, let data = h.pointee.data else { return }
    Unmanaged<MailboxDrainer>.fromOpaque(data).release()
    h.deallocate()
}
