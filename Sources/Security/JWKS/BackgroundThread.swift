import Glibc

/// Runs a closure on a new detached thread: for blocking work (the JWKS fetch) that must not
/// stall an event loop.
enum BackgroundThread {
    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// False when the thread could not be created (the closure then never runs).
    static func run(_ body: @escaping @Sendable () -> Void) -> Bool {
        // Ownership: the retained Work is released by the thread once it ran, or here on failure.
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { arg in
            Unmanaged<Work>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, work) == 0 else {
            Unmanaged<Work>.fromOpaque(work).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
