/// What the status page shows, computed from one snapshot (and optionally the previous one,
/// for rates and recent latency). Pure.
public struct StatusSummary: Sendable, Equatable {
    public struct Executor: Sendable, Equatable {
        public var name: String
        /// Fronts whose link to it is up.
        public var linkedFronts: Int
        public var outstanding: Double
        public var queued: Double
        /// Worst circuit state over fronts: "closed", "half_open", "open", or "" when unknown.
        public var circuit: String
    }
    public struct Worker: Sendable, Equatable {
        public var name: String
        public var up: Bool
        public var restarts: Double
        public var lastExit: String
    }

    public var takenAt: Double
    public var connections: Double
    public var sessionsOpen: Double
    public var requestsTotal: Double
    public var errorsTotal: Double
    /// Requests per second since `previous`; nil without one.
    public var requestRate: Double?
    public var errorRate: Double?
    /// Request latency quantiles (seconds) over the window since `previous` when it saw
    /// requests, else since the start.
    public var p50: Double?
    public var p99: Double?
    /// Cumulative request latency buckets (all methods), for the page's own windowed quantiles.
    public var latency: HistogramValue?
    public var executors: [Executor]
    public var workers: [Worker]
    public var processes: [ProcessSnapshot]

    public init(_ s: MetricsSnapshot, previous: MetricsSnapshot? = nil) {
        let name = { (id: MetricID) in id.descriptor.name }
        takenAt = s.takenAt
        connections = s.total(name(.connections))
        sessionsOpen = s.total("switchyard_sessions_open")
        requestsTotal = s.total(name(.requestsTotal))
        errorsTotal = s.total(name(.errorsTotal))
        latency = s.histogram(name(.requestDurationSeconds))
        if let p = previous, s.takenAt > p.takenAt {
            let dt = s.takenAt - p.takenAt
            requestRate = max(0, requestsTotal - p.total(name(.requestsTotal))) / dt
            errorRate = max(0, errorsTotal - p.total(name(.errorsTotal))) / dt
        }
        var window = latency
        if let cur = latency, let old = previous?.histogram(name(.requestDurationSeconds)) {
            let w = cur.subtracting(old)
            if w.count > 0 { window = w }
        }
        p50 = window?.quantile(0.5)
        p99 = window?.quantile(0.99)

        var execNames = Set<String>()
        for id in [MetricID.executorLinkUp, .executorOutstandingCalls, .executorQueueLength, .executorCircuitState] {
            for sample in s.family(id)?.samples ?? [] { if let e = sample.label("executor") { execNames.insert(e) } }
        }
        executors = execNames.sorted().map { e in
            let m = ["executor": e]
            let states = (s.family(.executorCircuitState)?.samples ?? [])
                .filter { $0.label("executor") == e && $0.value == 1 }
                .compactMap { $0.label("state") }
            let worst = ["open", "half_open", "closed"].first { states.contains($0) } ?? ""
            return Executor(name: e, linkedFronts: Int(s.total(name(.executorLinkUp), matching: m)),
                            outstanding: s.total(name(.executorOutstandingCalls), matching: m),
                            queued: s.total(name(.executorQueueLength), matching: m), circuit: worst)
        }
        var workerNames = Set<String>()
        for id in [MetricID.workerUp, .workerRestartsTotal, .workerLastExit] {
            for sample in s.family(id)?.samples ?? [] { if let w = sample.label("worker") { workerNames.insert(w) } }
        }
        workers = workerNames.sorted().map { w in
            let m = ["worker": w]
            let reason = (s.family(.workerLastExit)?.samples ?? []).first { $0.label("worker") == w && $0.value == 1 }?
                .label("reason") ?? "none"
            return Worker(name: w, up: s.total(name(.workerUp), matching: m) >= 1,
                          restarts: s.total(name(.workerRestartsTotal), matching: m), lastExit: reason)
        }
        processes = s.processes
    }

    /// `/status.json`: the summary as one JSON object.
    public var json: String {
        let o = JSONWriter()
        o.object {
            o.field("taken_at", takenAt)
            o.field("connections", connections)
            o.field("sessions_open", sessionsOpen)
            o.field("requests_total", requestsTotal)
            o.field("errors_total", errorsTotal)
            o.field("request_rate", requestRate)
            o.field("error_rate", errorRate)
            o.field("p50_seconds", p50)
            o.field("p99_seconds", p99)
            o.key("latency")
            if let h = latency {
                o.object {
                    o.field("bounds", h.bounds)
                    o.field("cumulative", h.cumulative.map(Double.init))
                    o.field("sum", h.sum)
                }
            } else {
                o.raw("null")
            }
            o.key("executors")
            o.array(executors) { e in
                o.object {
                    o.field("name", e.name)
                    o.field("linked_fronts", Double(e.linkedFronts))
                    o.field("outstanding", e.outstanding)
                    o.field("queued", e.queued)
                    o.field("circuit", e.circuit)
                }
            }
            o.key("workers")
            o.array(workers) { w in
                o.object {
                    o.field("name", w.name)
                    o.field("up", w.up)
                    o.field("restarts", w.restarts)
                    o.field("last_exit", w.lastExit)
                }
            }
            o.key("processes")
            o.array(processes) { p in
                o.object {
                    o.field("name", p.name)
                    o.field("pid", Double(p.pid))
                    o.field("cpu_seconds", p.cpuSeconds)
                    o.field("resident_bytes", Double(p.residentBytes))
                }
            }
        }
        return o.text
    }
}

/// A minimal JSON writer (no Foundation): objects, arrays, strings, numbers, booleans, null.
final class JSONWriter {
    var text = ""
    private var needsComma = [false]

    private func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    func object(_ body: () -> Void) {
        separatorIfValue()
        text += "{"
        needsComma.append(false)
        body()
        needsComma.removeLast()
        text += "}"
    }

    func array<T>(_ items: [T], _ body: (T) -> Void) {
        separatorIfValue()
        text += "["
        needsComma.append(false)
        for i in items { body(i) }
        needsComma.removeLast()
        text += "]"
    }

    private var afterKey = false
    private func separatorIfValue() {
        if afterKey { afterKey = false } else { separator() }
    }

    func key(_ k: String) {
        separator()
        text += Self.quote(k) + ":"
        afterKey = true
    }

    func raw(_ v: String) {
        separatorIfValue()
        text += v
    }

    func field(_ k: String, _ v: Double?) {
        key(k)
        raw(v.map(Self.number) ?? "null")
    }
    func field(_ k: String, _ v: String) {
        key(k)
        raw(Self.quote(v))
    }
    func field(_ k: String, _ v: Bool) {
        key(k)
        raw(v ? "true" : "false")
    }
    func field(_ k: String, _ v: [Double]) {
        key(k)
        raw("[" + v.map(Self.number).joined(separator: ",") + "]")
    }

    static func number(_ v: Double) -> String {
        v.isFinite ? PrometheusText.format(v) : "null"
    }

    static func quote(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            case "<": o += "\\u003c"  // safe inside a <script> element
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    o += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    o.unicodeScalars.append(u)
                }
            }
        }
        return o + "\""
    }
}
