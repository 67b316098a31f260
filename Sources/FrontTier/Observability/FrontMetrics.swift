import CLibUV
import MCPCore
import Metrics

/// This front's handles into the shared-memory metrics region, resolved once. Counters are
/// bumped inline (a few ns each); gauges are sampled once a second by `sample`.
/// Thread: the loop thread (the handles themselves are thread-safe).
final class FrontMetrics {
    let connections = Metrics.gauge(.connections)
    let accepted = Metrics.counter(.connectionsAcceptedTotal)
    let requests = Metrics.family(.requestsTotal)
    let durations = Metrics.family(.requestDurationSeconds)
    let errors = Metrics.family(.errorsTotal)
    let bytes = Metrics.family(.httpBytesTotal)
    let sessionsCreated = Metrics.family(.sessionsCreatedTotal)
    let sessionsDeleted = Metrics.family(.sessionsDeletedTotal)
    let linkFrames = Metrics.family(.executorLinkFramesTotal)
    let linkBytes = Metrics.family(.executorLinkBytesTotal)
    let lag = Metrics.gauge(.eventLoopLagSeconds)
    // Per-request state is `@exclusivity(unchecked)`, for the reason given in StreamConnection.
    @exclusivity(unchecked)
    private var tools: [String: (duration: Histogram, ok: Counter, toolError: Counter, error: Counter)] = [:]

    /// Handles of one tool's series (the tool label has a bounded number of slots).
    func tool(_ name: String) -> (duration: Histogram, ok: Counter, toolError: Counter, error: Counter) {
        if let t = tools[name] { return t }
        let slot = Metrics.slot(.tool, named: name)
        let calls = Metrics.family(.toolCallsTotal)
        let t = (Metrics.family(.toolCallDurationSeconds).histogram(slot), calls.counter(slot, LabelIndex.outcomeOK),
                 calls.counter(slot, LabelIndex.outcomeToolError), calls.counter(slot, LabelIndex.outcomeError))
        tools[name] = t
        return t
    }

    /// An answer was queued: count it by method and status, and time it from its request.
    @inline(__always)
    func answered(method: Int, status: Int, startedNs: UInt64) {
        requests.counter(method, LabelIndex.status(status)).increment()
        durations.histogram(method).observe(uv_hrtime() &- startedNs)
    }

    func error(_ kind: ErrorKind) { errors.counter(kind.rawValue).increment() }

    /// The error kind of a JSON-RPC error answered with an HTTP status.
    static func kind(of e: ProtocolError) -> ErrorKind {
        switch (e.code, e.httpStatus) {
        case (.parseError, _): return .parseError
        case (_, 413): return .bodyTooLarge
        case (_, 431): return .headTooLarge
        case (_, 415): return .contentType
        case (_, 406): return .notAcceptable
        case (_, 405): return .methodNotAllowed
        case (_, 403): return .forbidden
        case (.sessionNotFound, _): return .sessionUnknown
        case (.invalidRequest, _): return .invalidRequest
        case (.methodNotFound, _): return .methodNotFound
        case (.invalidParams, _): return .invalidParams
        case (.overloaded, _), (.shuttingDown, _): return .unavailable
        case (.requestTimeout, _): return .timeout
        case (.internalError, _): return e.message.hasPrefix("executor link lost") ? .executorLost : .internalError
        default: return .other
        }
    }

    /// Executor-side gauges of this front, set from the links' state.
    struct LinkGauges {
        let outstanding: Gauge
        let up: Gauge
        let circuit: StateSet
    }
    private var links: [String: LinkGauges] = [:]

    func link(_ name: String) -> LinkGauges {
        if let l = links[name] { return l }
        let slot = Metrics.slot(.executor, named: name)
        let l = LinkGauges(outstanding: Metrics.family(.executorOutstandingCalls).gauge(slot),
                           up: Metrics.family(.executorLinkUp).gauge(slot),
                           circuit: Metrics.stateSet(.executorCircuitState, name))
        links[name] = l
        return l
    }

    var queue: Gauge { Metrics.family(.executorQueueLength).gauge(Metrics.slot(.executor, named: "(front queue)")) }
}
