import CMetrics

/// Handles: a metric series resolved once to a pointer into the process's region. Using one
/// is one relaxed atomic operation (a histogram: a short bucket scan and two), with no lock
/// and no allocation.
///
/// Ownership: a handle points into a region and is valid while that region is mapped; handles
/// from `Metrics` (the process-wide region) are valid for the life of the process.
/// Thread: any.

/// A monotonically increasing count.
public struct Counter: @unchecked Sendable {
    let p: UnsafeMutablePointer<UInt64>

    @inline(__always) public func increment() { sy_metric_add(p, 1) }
    @inline(__always) public func add(_ n: UInt64) { sy_metric_add(p, n) }
    @inline(__always) public func add(_ n: Int) { sy_metric_add(p, UInt64(truncatingIfNeeded: max(n, 0))) }
    /// This process's count.
    public var value: UInt64 { sy_metric_load(p) }
}

/// A value that goes up and down, stored as a signed 64-bit integer in the family's stored
/// unit (`FamilyDescriptor.scale`: nanoseconds for `_seconds` gauges).
public struct Gauge: @unchecked Sendable {
    let p: UnsafeMutablePointer<UInt64>

    /// A plain (relaxed) store: for gauges only one thread of one process writes.
    @inline(__always) public func set(_ v: Int64) { sy_metric_store(p, UInt64(bitPattern: v)) }
    @inline(__always) public func add(_ v: Int64) { sy_metric_add(p, UInt64(bitPattern: v)) }
    @inline(__always) public func increment() { sy_metric_add(p, 1) }
    @inline(__always) public func decrement() { sy_metric_add(p, UInt64(bitPattern: -1)) }
    public var value: Int64 { Int64(bitPattern: sy_metric_load(p)) }
}

/// A gauge family over one fixed `state`/`reason` dimension: exactly one state is 1.
public struct StateSet: @unchecked Sendable {
    let p: UnsafeMutablePointer<UInt64>
    let count: Int

    /// Sets `state` (an index into the dimension's values) to 1 and the others to 0.
    public func set(_ state: Int) {
        for i in 0..<count { sy_metric_store(p + i, i == state ? 1 : 0) }
    }
    /// The state that is 1, if any.
    public var current: Int? { (0..<count).first { sy_metric_load(p + $0) == 1 } }
}

/// A histogram with fixed buckets. Observations are integers in the stored unit
/// (nanoseconds for `_seconds` histograms); the sum is kept in the same unit.
public struct Histogram: @unchecked Sendable {
    /// `n + 1` bucket counts (the last is +Inf), not cumulative, then the sum.
    let p: UnsafeMutablePointer<UInt64>
    let bounds: UnsafePointer<UInt64>
    let n: Int

    /// Records one observation of `v` stored units (nanoseconds).
    @inline(__always) public func observe(_ v: UInt64) {
        var i = 0
        while i < n && v > bounds[i] { i += 1 }
        sy_metric_add(p + i, 1)
        sy_metric_add(p + n + 1, v)
    }

    /// Records a duration given in seconds.
    @inline(__always) public func observe(seconds: Double) {
        observe(seconds <= 0 ? 0 : seconds >= 1.8e10 ? UInt64.max / 2 : UInt64(seconds * 1e9))
    }

    /// This process's observations so far.
    public var count: UInt64 { (0...n).reduce(0) { $0 &+ sy_metric_load(p + $1) } }
    /// This process's sum, stored units.
    public var sum: UInt64 { sy_metric_load(p + n + 1) }
}

/// All series of one family: index them on the hot path when the label is only known late
/// (`requests[method, status]`): pointer arithmetic, no lookup.
public struct Family: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt64>
    public let descriptor: FamilyDescriptor
    private let sizes: (Int, Int)
    private let bounds: UnsafePointer<UInt64>?

    init(base: UnsafeMutablePointer<UInt64>, descriptor: FamilyDescriptor) {
        self.base = base
        self.descriptor = descriptor
        let d = descriptor.dimensions
        precondition(d.count <= 2, "families have at most two label dimensions")
        sizes = (d.count > 0 ? d[0].count : 1, d.count > 1 ? d[1].count : 1)
        bounds = BucketBounds.table[descriptor.id.rawValue]?.ns
    }

    @inline(__always) private func series(_ i: Int, _ j: Int) -> UnsafeMutablePointer<UInt64> {
        // Out-of-range indexes land on the last value of the dimension (`other` where it exists).
        let i = i < sizes.0 && i >= 0 ? i : sizes.0 - 1
        let j = j < sizes.1 && j >= 0 ? j : sizes.1 - 1
        return base + (i * sizes.1 + j) * descriptor.stride
    }

    @inline(__always) public func counter(_ i: Int = 0, _ j: Int = 0) -> Counter {
        precondition(descriptor.type == .counter)
        return Counter(p: series(i, j))
    }
    @inline(__always) public func gauge(_ i: Int = 0, _ j: Int = 0) -> Gauge {
        precondition(descriptor.type == .gauge)
        return Gauge(p: series(i, j))
    }
    @inline(__always) public func histogram(_ i: Int = 0) -> Histogram {
        precondition(descriptor.type == .histogram)
        return Histogram(p: series(i, 0), bounds: bounds!, n: descriptor.buckets.count)
    }
    /// For a gauge family whose last dimension lists states: the states of series `i`.
    public func stateSet(_ i: Int = 0) -> StateSet {
        precondition(descriptor.type == .gauge && descriptor.dimensions.count == 2)
        return StateSet(p: series(i, 0), count: sizes.1)
    }
}

/// Histogram bounds in stored units (bound × scale, rounded), one immutable table per
/// histogram family, allocated once and never freed.
final class BucketBounds: @unchecked Sendable {
    let ns: UnsafePointer<UInt64>

    init(_ seconds: [Double], scale: Double) {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: max(seconds.count, 1))
        for (i, s) in seconds.enumerated() { p[i] = UInt64((s * scale).rounded()) }
        ns = UnsafePointer(p)
    }

    static let table: [BucketBounds?] = Schema.families.map {
        $0.type == .histogram ? BucketBounds($0.buckets, scale: $0.scale) : nil
    }
}
