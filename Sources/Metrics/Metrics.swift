import MCPCore

/// The process-wide metrics region and handle resolution.
///
/// At start, each process calls `Metrics.install(runDir:role:index:)` once; then code resolves
/// handles once (at setup, or when a tool or executor name first appears) and keeps them:
///
///     let accepted = Metrics.counter(.connectionsAcceptedTotal)
///     let requests = Metrics.family(.requestsTotal)        // requests[method, status] later
///     accepted.increment()
///
/// Before `install` (and in processes that never call it) handles point into a private
/// anonymous region: they work, and nobody sees the numbers.
public enum Metrics {
    private static let box = RegionBox()

    /// Creates `<runDir>/metrics/<role>-<index>-<pid>.shm` and makes it this process's region.
    /// Resolve handles after this call: handles resolved earlier keep pointing at the
    /// anonymous region.
    @discardableResult
    public static func install(runDir: String, role: String, index: Int) throws -> MetricsRegion {
        let r = try MetricsRegion.create(directory: directory(runDir: runDir), role: role, index: index)
        box.set(r)
        return r
    }

    /// This process's region.
    public static var region: MetricsRegion { box.get() }

    /// `<runDir>/metrics`.
    public static func directory(runDir: String) -> String { runDir + "/metrics" }

    public static func family(_ id: MetricID) -> Family { region.family(id) }
    public static func counter(_ id: MetricID, _ labels: String...) -> Counter { region.counter(id, labels) }
    public static func gauge(_ id: MetricID, _ labels: String...) -> Gauge { region.gauge(id, labels) }
    public static func histogram(_ id: MetricID, _ labels: String...) -> Histogram { region.histogram(id, labels) }
    public static func stateSet(_ id: MetricID, _ label: String) -> StateSet { region.stateSet(id, label) }
    /// The slot of a dynamic label value (`tool`, `executor`, `worker`) in this process's region.
    public static func slot(_ d: DynamicLabel, named name: String) -> Int { region.slot(d, named: name) }
}

extension MetricsRegion {
    /// All series of a family, for indexing by label positions on the hot path.
    public func family(_ id: MetricID) -> Family { Family(base: familyBase(id), descriptor: id.descriptor) }

    /// The series with these label values (in the family's dimension order). A fixed value
    /// that is not declared maps to `other` where the dimension has it; a dynamic one is
    /// assigned a slot. Thread: any; may lock (dynamic labels): resolve once, keep the handle.
    public func counter(_ id: MetricID, _ labels: [String] = []) -> Counter {
        let (i, j) = positions(id, labels)
        return family(id).counter(i, j)
    }
    public func gauge(_ id: MetricID, _ labels: [String] = []) -> Gauge {
        let (i, j) = positions(id, labels)
        return family(id).gauge(i, j)
    }
    public func histogram(_ id: MetricID, _ labels: [String] = []) -> Histogram {
        let (i, _) = positions(id, labels)
        return family(id).histogram(i)
    }
    /// A state-set gauge family (`executorCircuitState`, `workerLastExit`) for one first label.
    public func stateSet(_ id: MetricID, _ label: String) -> StateSet {
        let (i, _) = positions(id, [label])
        return family(id).stateSet(i)
    }

    /// Label values → positions along the family's dimensions.
    public func positions(_ id: MetricID, _ labels: [String]) -> (Int, Int) {
        let dims = id.descriptor.dimensions
        var out = [0, 0]
        for (k, d) in dims.enumerated() where k < labels.count {
            switch d.values {
            case .fixed: out[k] = d.fixedIndex(of: labels[k])
            case .dynamic(let dl): out[k] = slot(dl, named: labels[k])
            }
        }
        return (out[0], out[1])
    }
}

/// Label positions of fixed values, for hot-path indexing of a `Family`.
public enum LabelIndex {
    /// Position of a JSON-RPC method in `LabelValues.method` (`other` when not listed).
    public static func method(_ m: String) -> Int {
        LabelValues.method.firstIndex(of: m) ?? LabelValues.method.count - 1
    }
    /// Position of an HTTP status in `LabelValues.status` (`other` when not listed). No allocation.
    public static func status(_ code: Int) -> Int {
        switch code {
        case 200: return 0
        case 202: return 1
        case 204: return 2
        case 400: return 3
        case 403: return 4
        case 404: return 5
        case 405: return 6
        case 406: return 7
        case 413: return 8
        case 415: return 9
        case 431: return 10
        case 500: return 11
        case 503: return 12
        case 408: return 13
        case 429: return 14
        default: return 15
        }
    }
    public static func protocolVersion(_ v: String) -> Int {
        LabelValues.protocolVersion.firstIndex(of: v) ?? LabelValues.protocolVersion.count - 1
    }
    public static let directionIn = 0, directionOut = 1
    public static let formWire = 0, formRaw = 1
    public static let outcomeOK = 0, outcomeToolError = 1, outcomeError = 2
    public static let circuitClosed = 0, circuitHalfOpen = 1, circuitOpen = 2
    public static let exitNone = 0, exitClean = 1, exitError = 2, exitSignal = 3, exitGaveUp = 4
}

/// Holds the process region behind a lock (read at handle resolution only).
private final class RegionBox: Sendable {
    private struct State {
        var region: MetricsRegion?
        /// Handles may still point into the previous region, so it stays mapped.
        var previous: [MetricsRegion] = []
    }
    private let state = Locked(State())

    func get() -> MetricsRegion {
        state.withLock { s in
            if let region = s.region { return region }
            let r = MetricsRegion.anonymous()
            s.region = r
            return r
        }
    }

    func set(_ r: MetricsRegion) {
        state.withLock { s in
            if let region = s.region { s.previous.append(region) }
            s.region = r
        }
    }
}
