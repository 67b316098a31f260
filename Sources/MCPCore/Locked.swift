import Glibc

/// A value behind a pthread mutex, with `withLock` as Synchronization's `Mutex` has it. Why not
/// that `Mutex`: on Linux it locks with futex system calls that ThreadSanitizer does not model,
/// so every value it guards is reported as a race (`make test-sanitize` found this in Mailbox),
/// while TSan intercepts pthread mutexes. Uncontended, both cost one atomic operation.
/// Ownership: the mutex and the value live in memory of their own (a pthread mutex must not
/// move), allocated here and freed in deinit.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let storage: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Runs `body` with the value, the mutex held.
    @inlinable
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&storage.pointee)
    }
}
