import Histogram
import Synchronization
import MCPCore

/// Counters every worker thread adds to and the coordinator reads once a second, plus the
/// start signal. Thread: any.
final class SharedProgress: Sendable {
    let ok = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let sessions = Atomic<Int>(0)
    let setupFinished = Atomic<Int>(0)
    let workersFinished = Atomic<Int>(0)
    /// Monotonic ns at which the warm-up starts; 0 until every worker is set up.
    let startAt = Atomic<UInt64>(0)
    let results = Locked<[WorkerResult]>([])
}

/// One second of the measured window.
public struct IntervalStats: Codable, Sendable {
    public var second: Int
    public var ok: Int
    public var errors: Int
    public var p50Ms: Double
    public var p99Ms: Double
}

/// What a worker hands back when its loop ends.
struct WorkerResult: @unchecked Sendable {
    var histogram: Histogram<UInt64>
    var intervals: [Histogram<UInt64>]
    var intervalErrors: [Int]
    var ok = 0
    var errorsByKind: [String: Int] = [:]
    var errorSamples: [String: String] = [:]
    var sent = 0
    var sessionsOpened = 0
    var sessionsHeld = 0
    var setupErrors = 0
    var setupSeconds = 0.0
    var connectionsOpened = 0
    /// The measured window as it closed: -d, or less when --max-requests ran out first.
    var measuredSeconds = 0.0
}

enum Latency {
    /// Microseconds, up to one hour, three significant digits.
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000,
                          numberOfSignificantValueDigits: .three)
    }
}
