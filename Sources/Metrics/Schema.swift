import MCPCore

/// The static schema: every metric Switchyard exports, declared once. The layout of a
/// process's shared-memory region follows from it, so every process of one binary agrees on
/// where each series lives; regions written by a different schema (another binary) are
/// recognised by `Schema.hash` and skipped.

/// Prometheus metric types used here.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

/// How the series of all processes become the ones a scrape shows.
public enum Aggregation: Sendable {
    /// Summed over processes, no `process` label. Counters and histograms include the final
    /// values of processes that have exited (folded into `retired.shm`), so server totals
    /// never go backwards when a worker restarts. Gauges sum over live processes only.
    case sum
    /// One series per live process, labelled `process="<role>-<index>"`.
    case perProcess
}

/// Label dimensions whose values are only known at run time (tool names, executor and
/// worker names): each region holds a bounded table of names, assigned on first use; the last
/// slot is `other`, where names go once the table is full.
public enum DynamicLabel: Int, CaseIterable, Sendable {
    case tool, executor, worker

    /// Slots in each region, the overflow slot `other` included.
    public var capacity: Int {
        switch self {
        case .tool: return 64
        case .executor: return 32
        case .worker: return 64
        }
    }

    /// Longest name stored; longer names are truncated (at a UTF-8 boundary).
    public static let maxNameBytes = 56
    public static let overflowName = "other"
}

/// One label of a family: a fixed list of values, or a dynamic table.
public struct LabelDimension: Sendable {
    public enum Values: Sendable {
        case fixed([String])
        case dynamic(DynamicLabel)
    }
    public let name: String
    public let values: Values

    public var count: Int {
        switch values {
        case .fixed(let v): return v.count
        case .dynamic(let d): return d.capacity
        }
    }

    /// Index of `value` among fixed values, else of `other` when present, else 0.
    func fixedIndex(of value: String) -> Int {
        guard case .fixed(let v) = values else { return 0 }
        return v.firstIndex(of: value) ?? v.firstIndex(of: "other") ?? 0
    }
}

/// Everything about one metric family.
public struct FamilyDescriptor: Sendable {
    public let id: MetricID
    public let name: String
    public let help: String
    public let type: MetricType
    public let aggregation: Aggregation
    public let dimensions: [LabelDimension]
    /// Stored integers are divided by this when rendered (nanoseconds → seconds: 1e9).
    public let scale: Double
    /// Histogram upper bounds in base units (seconds), ascending, without +Inf.
    public let buckets: [Double]

    /// Label combinations (product of the dimension sizes).
    public var seriesCount: Int { dimensions.reduce(1) { $0 * $1.count } }
    /// 64-bit slots per series: 1, or for a histogram one per bucket, +Inf, then the sum.
    public var stride: Int { type == .histogram ? buckets.count + 2 : 1 }
}

/// Fixed label values. Their order is the layout: append, never reorder.
public enum LabelValues {
    /// `method` of `switchyard_requests_total` and `switchyard_request_duration_seconds`.
    public static let method = ["initialize", "notifications/initialized", "ping", "tools/list", "tools/call",
                                "notification", "delete", "get", "other"]
    /// HTTP status codes the front answers with.
    public static let status = ["200", "202", "204", "400", "403", "404", "405", "406", "413", "415", "431",
                                "500", "503", "408", "429", "other"]
    /// MCP protocol revisions (MCPCore.ProtocolVersion.supported and older).
    public static let protocolVersion = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "other"]
    /// `kind` of `switchyard_errors_total`; see ErrorKind.
    public static let errorKind = ErrorKind.allCases.map(\.label)
    public static let direction = ["in", "out"]
    public static let form = ["wire", "raw"]
    public static let outcome = ["ok", "tool_error", "error"]
    public static let cacheTier = ["memory", "redis"]
    public static let circuitState = ["closed", "half_open", "open"]
    public static let exitReason = ["none", "clean", "error", "signal", "gave_up"]
    /// `state` of `switchyard_heap_bytes`.
    public static let heapState = ["in_use", "retained"]
    /// `reason` of `switchyard_connections_closed_total`; see CloseReason.
    public static let closeReason = CloseReason.allCases.map(\.label)
}

/// Why the front closed (or refused) a client connection itself.
public enum CloseReason: Int, CaseIterable, Sendable {
    /// The request head did not arrive within the head timeout of its first byte (408).
    case headTimeout
    /// No body bytes for the body timeout (408).
    case bodyTimeout
    /// The body arrived slower than the minimum rate after its grace period (408).
    case bodyTooSlow
    /// A keep-alive connection idle past the idle timeout.
    case idleTimeout
    /// Head or trailers over their limits (431), a body over its limit (413), a malformed request (400).
    case headTooLarge, trailersTooLarge, bodyTooLarge, malformed
    /// Closed to make room under descriptor pressure (never sent a byte, or idle keep-alive).
    case evicted
    /// Refused: over `--max-conns-per-address` for its source address.
    case perAddressLimit
    /// Accepted and closed at once: no descriptor left, even after evicting.
    case refusedAtLimit

    public var label: String {
        switch self {
        case .headTimeout: return "head_timeout"
        case .bodyTimeout: return "body_timeout"
        case .bodyTooSlow: return "body_too_slow"
        case .idleTimeout: return "idle_timeout"
        case .headTooLarge: return "head_too_large"
        case .trailersTooLarge: return "trailers_too_large"
        case .bodyTooLarge: return "body_too_large"
        case .malformed: return "malformed"
        case .evicted: return "evicted"
        case .perAddressLimit: return "per_address_limit"
        case .refusedAtLimit: return "refused_at_limit"
        }
    }
}

/// Every metric family. The raw value indexes `Schema.families`; append, never reorder.
public enum MetricID: Int, CaseIterable, Sendable {
    case connections
    case connectionsAcceptedTotal
    case sessionsCreatedTotal
    case sessionsDeletedTotal
    case requestsTotal
    case requestDurationSeconds
    case toolCallsTotal
    case toolCallDurationSeconds
    case toolExecutionSeconds
    case errorsTotal
    case httpBytesTotal
    case executorLinkFramesTotal
    case executorLinkBytesTotal
    case executorQueueLength
    case executorOutstandingCalls
    case executorLinkUp
    case executorCircuitState
    case workerUp
    case workerRestartsTotal
    case workerLastExit
    case eventLoopLagSeconds
    case connectionsClosedTotal
    case redisUp
    case redisCommandsTotal
    case redisErrorsTotal
    case redisReconnectsTotal
    case cacheHitsTotal
    case cacheMissesTotal
    case heapBytes

    public var descriptor: FamilyDescriptor { Schema.families[rawValue] }
}

/// The schema and the region layout derived from it.
public enum Schema {
    /// Request and tool latency buckets, seconds (100 µs … 10 s).
    public static let latencyBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public static let families: [FamilyDescriptor] = MetricID.allCases.map(describe)

    private static func dim(_ name: String, _ v: [String]) -> LabelDimension { .init(name: name, values: .fixed(v)) }
    private static func dyn(_ name: String, _ d: DynamicLabel) -> LabelDimension {
        .init(name: name, values: .dynamic(d))
    }

    private static func describe(_ id: MetricID) -> FamilyDescriptor {
        func f(_ name: String, _ type: MetricType, _ agg: Aggregation, _ dims: [LabelDimension], _ help: String,
               scale: Double = 1, buckets: [Double] = []) -> FamilyDescriptor {
            FamilyDescriptor(id: id, name: "switchyard_" + name, help: help, type: type, aggregation: agg,
                             dimensions: dims, scale: scale, buckets: buckets)
        }
        let lat = latencyBuckets
        switch id {
        case .connections:
            return f("connections", .gauge, .perProcess, [], "Open client connections.")
        case .connectionsAcceptedTotal:
            return f("connections_accepted_total", .counter, .sum, [], "Client connections accepted.")
        case .sessionsCreatedTotal:
            return f("sessions_created_total", .counter, .sum, [dim("protocol_version", LabelValues.protocolVersion)],
                     "MCP sessions created by initialize.")
        case .sessionsDeletedTotal:
            return f("sessions_deleted_total", .counter, .sum, [dim("protocol_version", LabelValues.protocolVersion)],
                     "MCP sessions ended by DELETE.")
        case .requestsTotal:
            return f("requests_total", .counter, .sum,
                     [dim("method", LabelValues.method), dim("status", LabelValues.status)],
                     "HTTP requests answered, by JSON-RPC method and HTTP status.")
        case .requestDurationSeconds:
            return f("request_duration_seconds", .histogram, .sum, [dim("method", LabelValues.method)],
                     "Time from a complete request head to the answer queued for writing.", scale: 1e9, buckets: lat)
        case .toolCallsTotal:
            return f("tool_calls_total", .counter, .sum, [dyn("tool", .tool), dim("outcome", LabelValues.outcome)],
                     "tools/call requests by tool and outcome.")
        case .toolCallDurationSeconds:
            return f("tool_call_duration_seconds", .histogram, .sum, [dyn("tool", .tool)],
                     "tools/call round trip seen by the front: CALL frame queued to RESULT received.",
                     scale: 1e9, buckets: lat)
        case .toolExecutionSeconds:
            return f("tool_execution_seconds", .histogram, .sum, [dyn("tool", .tool)],
                     "Tool execution time inside the executor.", scale: 1e9, buckets: lat)
        case .errorsTotal:
            return f("errors_total", .counter, .sum, [dim("kind", LabelValues.errorKind)], "Errors answered, by kind.")
        case .connectionsClosedTotal:
            return f("connections_closed_total", .counter, .sum, [dim("reason", LabelValues.closeReason)],
                     "Client connections the front closed or refused itself, by reason.")
        case .cacheHitsTotal:
            return f("cache_hits_total", .counter, .sum, [dim("tier", LabelValues.cacheTier)],
                     "tools/call answers found in the fresh result cache, by tier (memory: the front's own; "
                        + "redis: shared by every host).")
        case .cacheMissesTotal:
            return f("cache_misses_total", .counter, .sum, [dim("tier", LabelValues.cacheTier)],
                     "Lookups of cacheable tools/call results that found nothing fresh, by tier (a redis lookup "
                        + "that did not answer in time counts as a miss).")
        case .httpBytesTotal:
            return f("http_bytes_total", .counter, .sum, [dim("direction", LabelValues.direction)],
                     "Bytes read from (in) and written to (out) client connections.")
        case .executorLinkFramesTotal:
            return f("executor_link_frames_total", .counter, .sum, [dim("direction", LabelValues.direction)],
                     "Frames on front-executor links, seen by the front (out: to executors).")
        case .executorLinkBytesTotal:
            return f("executor_link_bytes_total", .counter, .sum,
                     [dim("direction", LabelValues.direction), dim("form", LabelValues.form)],
                     "Payload bytes on front-executor links: as sent (wire, compressed when compressed) "
                        + "and uncompressed (raw).")
        case .executorQueueLength:
            return f("executor_queue_length", .gauge, .sum, [dyn("executor", .executor)],
                     "Calls queued at fronts for an executor and not yet written to its socket.")
        case .executorOutstandingCalls:
            return f("executor_outstanding_calls", .gauge, .sum, [dyn("executor", .executor)],
                     "Calls sent to an executor and not yet answered, over all fronts.")
        case .executorLinkUp:
            return f("executor_link_up", .gauge, .perProcess, [dyn("executor", .executor)],
                     "1 while this front's link to the executor is ready.")
        case .executorCircuitState:
            return f("executor_circuit_state", .gauge, .perProcess,
                     [dyn("executor", .executor), dim("state", LabelValues.circuitState)],
                     "Circuit breaker of this front toward the executor: 1 for the current state.")
        case .workerUp:
            return f("worker_up", .gauge, .sum, [dyn("worker", .worker)], "1 while the supervised child is ready.")
        case .workerRestartsTotal:
            return f("worker_restarts_total", .counter, .sum, [dyn("worker", .worker)],
                     "Restarts of the supervised child.")
        case .workerLastExit:
            return f("worker_last_exit", .gauge, .sum, [dyn("worker", .worker), dim("reason", LabelValues.exitReason)],
                     "How the supervised child last exited: 1 for the current reason.")
        case .redisUp:
            return f("redis_up", .gauge, .perProcess, [],
                     "1 while this front's Redis client is connected (with --redis*); 0: degraded to local state.")
        case .redisCommandsTotal:
            return f("redis_commands_total", .counter, .sum, [], "Commands the fronts sent to Redis.")
        case .redisErrorsTotal:
            return f("redis_errors_total", .counter, .sum, [],
                     "Redis commands answered with an error, or failed because Redis was away.")
        case .redisReconnectsTotal:
            return f("redis_reconnects_total", .counter, .sum, [], "Times a front's Redis client reconnected.")
        case .heapBytes:
            return f("heap_bytes", .gauge, .perProcess, [dim("state", LabelValues.heapState)],
                     "The process's heap (glibc malloc, sampled each second): in_use, bytes allocated; retained, "
                        + "resident anonymous memory not allocated (freed heap pages kept mapped), given back "
                        + "by a trim once a burst has passed.")
        case .eventLoopLagSeconds:
            return f("event_loop_lag_seconds", .gauge, .perProcess, [],
                     "Largest delay of the loop's 1 s tick behind schedule over the last tick.", scale: 1e9)
        }
    }

    /// Slot offset (in 64-bit words from the start of the value area) of each family.
    public static let offsets: [Int] = {
        var o: [Int] = []
        var next = 0
        for f in families {
            o.append(next)
            next += f.seriesCount * f.stride
        }
        return o
    }()

    /// 64-bit words in the value area.
    public static let valueWords: Int = families.reduce(0) { $0 + $1.seriesCount * $1.stride }

    /// FNV-1a over a description of the layout: regions with another hash are skipped.
    public static let hash: UInt64 = {
        var text = "switchyard-metrics-1;"
        for d in DynamicLabel.allCases { text += "\(d.rawValue):\(d.capacity);" }
        for f in families {
            text += "\(f.name)|\(f.type)|\(f.dimensions.map { "\($0.name)=\($0.count)" })|\(f.buckets);"
        }
        return FNV1a.hash(text)
    }()
}

/// `kind` label of `switchyard_errors_total`.
public enum ErrorKind: Int, CaseIterable, Sendable {
    case parseError, invalidRequest, sessionMissing, sessionUnknown, protocolVersion, contentType, notAcceptable
    case bodyTooLarge, headTooLarge, methodNotAllowed, forbidden, methodNotFound, invalidParams, toolError
    case executorLost, unavailable, timeout, internalError, other

    public var label: String {
        switch self {
        case .parseError: return "parse_error"
        case .invalidRequest: return "invalid_request"
        case .sessionMissing: return "session_missing"
        case .sessionUnknown: return "session_unknown"
        case .protocolVersion: return "protocol_version"
        case .contentType: return "content_type"
        case .notAcceptable: return "not_acceptable"
        case .bodyTooLarge: return "body_too_large"
        case .headTooLarge: return "head_too_large"
        case .methodNotAllowed: return "method_not_allowed"
        case .forbidden: return "forbidden"
        case .methodNotFound: return "method_not_found"
        case .invalidParams: return "invalid_params"
        case .toolError: return "tool_error"
        case .executorLost: return "executor_lost"
        case .unavailable: return "unavailable"
        case .timeout: return "timeout"
        case .internalError: return "internal"
        case .other: return "other"
        }
    }
}
