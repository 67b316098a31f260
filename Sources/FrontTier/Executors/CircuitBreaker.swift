/// Sheds calls to something that keeps failing (an executor, a tool), then probes it.
/// closed → (failureThreshold consecutive failures) → open → (after openMs) → half-open:
/// one probe passes; its success closes the breaker, its failure opens it again.
/// Pure: times are passed in (milliseconds), so tests drive it with a fake clock.
struct CircuitBreaker {
    enum State: Equatable { case closed, open(until: UInt64), halfOpen(probing: Bool) }

    var failureThreshold = 5
    var openMs: UInt64 = 2_000
    private(set) var state = State.closed
    private var consecutiveFailures = 0

    init(failureThreshold: Int = 5, openMs: UInt64 = 2_000) {
        self.failureThreshold = failureThreshold
        self.openMs = openMs
    }

    /// May a call go through now? A half-open breaker lets exactly one probe through.
    mutating func allow(now: UInt64) -> Bool {
        switch state {
        case .closed: return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(probing: true)
            return true
        case .halfOpen(let probing):
            if probing { return false }
            state = .halfOpen(probing: true)
            return true
        }
    }

    /// Whether calls would be shed now, without taking the probe.
    func isOpen(now: UInt64) -> Bool {
        switch state {
        case .closed: return false
        case .open(let until): return now < until
        case .halfOpen(let probing): return probing
        }
    }

    mutating func recordSuccess() {
        consecutiveFailures = 0
        state = .closed
    }

    mutating func recordFailure(now: UInt64) {
        consecutiveFailures += 1
        switch state {
        case .halfOpen: state = .open(until: now + openMs)
        case .closed where consecutiveFailures >= failureThreshold: state = .open(until: now + openMs)
        default: break
        }
    }

    var name: String {
        switch state {
        case .closed: return "closed"
        case .open: return "open"
        case .halfOpen: return "half-open"
        }
    }
}
