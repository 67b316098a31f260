import Glibc
@testable import Security

/// Fetch results collected from the fetching thread, waited for without sleeping.
final class Results: @unchecked Sendable {
    private let lock = ConditionLock()
    private var items: [Result<JWKSet, JWKSFetchError>] = []

    func append(_ r: Result<JWKSet, JWKSFetchError>) {
        lock.locked { items.append(r) }
        lock.signal()
    }

    /// Blocks until `count` results arrived (or 10 s passed, and then the test fails on count).
    func wait(count: Int) -> [Result<JWKSet, JWKSFetchError>] {
        lock.wait(until: { self.items.count >= count }, seconds: 10)
        return lock.locked { items }
    }
}


/// A mutex and condition variable (pthread), for waiting on another thread's result.
final class ConditionLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }
    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
    func signal() {
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }
    func wait(until ready: () -> Bool, seconds: Int) {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += seconds
        pthread_mutex_lock(&mutex)
        while !ready() {
            if pthread_cond_timedwait(&cond, &mutex, &deadline) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(&mutex)
    }
}
