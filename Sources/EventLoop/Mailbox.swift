import CLibUV
import Synchronization

/// Carries values from any thread to the loop thread: a locked queue plus `uv_async_send`.
/// Posts coalesce; `onDrain` receives everything queued, in order, on the loop thread.
///
/// Thread: `post` from anywhere. `onDrain` is only ever called on the loop thread, which is
/// why the (non-Sendable) closure may be stored in a Sendable object.
public final class Mailbox<Item: Sendable>: @unchecked Sendable {
    private let queue = Mutex<[Item]>([])
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
        queue.withLock { $0.append(item) }
        if loop.isCurrentThread {
            // Already on the loop: drain later in this turn, without waking it through the eventfd.
            if !drainScheduled {
                drainScheduled = true
                loop.runAtEndOfTurn { [self] in drainScheduled = false; drain() }
            }
        } else {
            uv_async_send(handle)
        }
    }

    /// Lets the loop end while the mailbox is open.
    public func unref() { uv_unref(asHandle(handle)) }

    public func close() { uv_close(asHandle(handle), mailboxClosed) }

    private func drain() {
        let items = queue.withLock { q -> [Item] in
            let all = q
            q.removeAll(keepingCapacity: true)
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
