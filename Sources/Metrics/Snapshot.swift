/// A scrape's worth of numbers, aggregated over every process of a server: a pure value that
/// the Prometheus text, the status page and `/status.json` are rendered from.
public struct MetricsSnapshot: Sendable {
    /// When it was taken, Unix seconds.
    public var takenAt: Double
    public var families: [FamilySnapshot]
    /// The live processes that contributed, in name order.
    public var processes: [ProcessSnapshot]

    public init(takenAt: Double, families: [FamilySnapshot], processes: [ProcessSnapshot] = []) {
        self.takenAt = takenAt
        self.families = families
        self.processes = processes
    }

    public func family(_ name: String) -> FamilySnapshot? { families.first { $0.name == name } }
    public func family(_ id: MetricID) -> FamilySnapshot? { family(id.descriptor.name) }

    /// Sum of a counter's or gauge's samples whose labels include all of `matching`.
    public func total(_ name: String, matching: [String: String] = [:]) -> Double {
        family(name)?.samples.filter { $0.matches(matching) }.reduce(0) { $0 + $1.value } ?? 0
    }

    /// A histogram family's samples matching `matching`, merged into one.
    public func histogram(_ name: String, matching: [String: String] = [:]) -> HistogramValue? {
        let hs = family(name)?.samples.filter { $0.matches(matching) }.compactMap(\.histogram) ?? []
        guard var acc = hs.first else { return nil }
        for h in hs.dropFirst() { acc = acc.merged(with: h) }
        return acc
    }
}

/// One family of a snapshot.
public struct FamilySnapshot: Sendable {
    public var name: String
    public var help: String
    public var type: MetricType
    public var samples: [Sample]

    public init(name: String, help: String, type: MetricType, samples: [Sample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}

/// A label pair.
public struct Label: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One series: a value, or for histograms the buckets.
public struct Sample: Sendable {
    public var labels: [Label]
    public var value: Double
    public var histogram: HistogramValue?

    public init(labels: [Label], value: Double = 0, histogram: HistogramValue? = nil) {
        self.labels = labels
        self.value = value
        self.histogram = histogram
    }

    public func label(_ name: String) -> String? { labels.first { $0.name == name }?.value }

    func matches(_ m: [String: String]) -> Bool { m.allSatisfy { label($0.key) == $0.value } }
}

/// Histogram buckets as Prometheus exposes them: cumulative counts per upper bound.
public struct HistogramValue: Sendable, Equatable {
    /// Upper bounds, base units, ascending, without +Inf.
    public var bounds: [Double]
    /// `bounds.count + 1` cumulative counts; the last is the +Inf bucket (= count).
    public var cumulative: [UInt64]
    public var sum: Double

    public init(bounds: [Double], cumulative: [UInt64], sum: Double) {
        precondition(cumulative.count == bounds.count + 1)
        self.bounds = bounds
        self.cumulative = cumulative
        self.sum = sum
    }

    /// From per-bucket (non-cumulative) counts, as stored in a region.
    public init(bounds: [Double], perBucket: [UInt64], sum: Double) {
        var c: [UInt64] = []
        c.reserveCapacity(perBucket.count)
        var run: UInt64 = 0
        for v in perBucket {
            run &+= v
            c.append(run)
        }
        self.init(bounds: bounds, cumulative: c, sum: sum)
    }

    public var count: UInt64 { cumulative.last ?? 0 }

    public func merged(with o: HistogramValue) -> HistogramValue {
        precondition(bounds == o.bounds)
        return HistogramValue(bounds: bounds, cumulative: zip(cumulative, o.cumulative).map { $0 &+ $1 },
                              sum: sum + o.sum)
    }

    /// The observations since `earlier` (a window), for rates and recent quantiles.
    public func subtracting(_ earlier: HistogramValue) -> HistogramValue {
        guard bounds == earlier.bounds else { return self }
        // A reset (a process gone from a per-process series) shows as a decrease: keep ours.
        if zip(cumulative, earlier.cumulative).contains(where: { $0 < $1 }) { return self }
        return HistogramValue(bounds: bounds, cumulative: zip(cumulative, earlier.cumulative).map { $0 - $1 },
                              sum: max(0, sum - earlier.sum))
    }

    /// The q-quantile (0…1) by linear interpolation within the bucket, as PromQL's
    /// `histogram_quantile` does: nil without observations; the highest finite bound when it
    /// falls in the +Inf bucket.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, !bounds.isEmpty else { return nil }
        let rank = max(0, min(1, q)) * Double(count)
        var i = 0
        while i < bounds.count && Double(cumulative[i]) < rank { i += 1 }
        if i == bounds.count { return bounds[bounds.count - 1] }
        let lower = i == 0 ? 0 : bounds[i - 1]
        let below = i == 0 ? 0 : Double(cumulative[i - 1])
        let inBucket = Double(cumulative[i]) - below
        if inBucket <= 0 { return bounds[i] }
        return lower + (bounds[i] - lower) * (rank - below) / inBucket
    }
}

/// A live process seen in a scrape.
public struct ProcessSnapshot: Sendable, Equatable {
    /// `<role>-<index>`: the `process` label.
    public var name: String
    public var role: String
    public var index: Int
    public var pid: Int32
    public var cpuSeconds: Double
    public var residentBytes: UInt64
    public var startTime: Double

    public init(name: String, role: String, index: Int, pid: Int32, cpuSeconds: Double = 0,
                residentBytes: UInt64 = 0, startTime: Double = 0) {
        self.name = name
        self.role = role
        self.index = index
        self.pid = pid
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.startTime = startTime
    }
}
