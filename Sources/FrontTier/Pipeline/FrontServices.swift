import EventLoop
import Glibc
import MCPCore
import Redis
import Security

/// What the stages and method handlers of one front share: its options, executors, sessions,
/// notification streams, metrics and the writer of every answer. One per front process.
/// Thread: the loop thread.
final class FrontServices {
    let options: FrontOptions
    let loop: Loop
    let log: Log
    let pool: ExecutorPool
    let router: CallRouter
    let sessions: SessionTokens
    let listeners: Listeners
    let writer: ResponseWriter
    let metrics: FrontMetrics
    /// Authentication and policy; nil when the server runs without authentication.
    let access: AccessControl?
    /// Buckets shared by every front of the server; nil without `--rate-limit` (Front.run sets it).
    var rateLimiter: RateLimiter?
    /// The audit log; nil without `--audit-log` (Front.run sets it).
    var auditLog: AuditLog?
    /// The fresh tool-result cache; nil with `--result-cache-mb 0`.
    let resultCache: ResultCache?
    /// What this front shares through Redis; nil without `--redis*` (Front.run sets it).
    var sharedState: SharedStateRedis?
    /// This front's one Redis client, for every Redis-backed feature; nil without `--redis*`.
    /// Callers check `isUp` and keep working on local state while it is false.
    var redis: RedisClient? { sharedState?.client }
    /// Rate-limit buckets in Redis; nil without both `--redis*` and `--rate-limit`.
    var sharedRateLimits: SharedRateLimitsRedis? { sharedState?.rateLimits }
    /// Notifications and GET streams through Redis; nil without Redis (SharedStreams sets it).
    var fanOut: SharedFanOut?
    /// Client answers routed between hosts through Redis; nil without Redis (SharedStreams).
    var sharedAnswers: SharedAnswers?
    /// Writes what executors answer; every call sent to an executor answers through it.
    private(set) lazy var answers = ExecutorAnswers(self)

    init(options: FrontOptions, loop: Loop, log: Log, pool: ExecutorPool, router: CallRouter,
         sessions: SessionTokens, metrics: FrontMetrics, access: AccessControl? = nil) {
        self.options = options
        self.loop = loop
        self.log = log
        self.pool = pool
        self.router = router
        self.sessions = sessions
        self.metrics = metrics
        self.access = access
        writer = ResponseWriter(metrics: metrics)
        resultCache = options.resultCacheBytes > 0
            ? ResultCache(loop: loop, log: log, maxBytes: options.resultCacheBytes, sessionKey: options.sessionKey) : nil
        listeners = Listeners(loop: loop, front: options.index,
                              limits: .init(maxEvents: options.eventStoreSize, maxAgeMs: options.eventStoreAgeMs))
        listeners.isSubscribed = { [unowned sessions] session, uri in sessions.isSubscribed(session, uri) }
    }

    /// Numbers the requests this front sends to executors.
    @exclusivity(unchecked) private var requestCounter: UInt64 = 0
    /// `f<front>-<pid>-` as bytes, built on first use (getpid is a system call).
    @exclusivity(unchecked) private var requestIdPrefix: [UInt8] = []

    /// Numbers a request this front sends to executors: its id is `f<front>-<pid>-<number>`
    /// (`appendRequestId`, `requestId`), unique to this front process, for the logs on both
    /// sides of the executor link.
    func nextRequestNumber() -> UInt64 {
        requestCounter &+= 1
        if requestIdPrefix.isEmpty { requestIdPrefix = Array("f\(options.index)-\(getpid())-".utf8) }
        return requestCounter
    }

    /// Appends request `n`'s id as bytes: a String per call (only the access log needs one)
    /// cost about 500 instructions.
    func appendRequestId(_ n: UInt64, to out: inout [UInt8]) {
        out += requestIdPrefix
        HTTPResponse.appendDecimal(Int(truncatingIfNeeded: n), to: &out)
    }

    /// Request `n`'s id as a String.
    func requestId(_ n: UInt64) -> String {
        var out: [UInt8] = []
        appendRequestId(n, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// What the server offers in `initialize` and `server/discover`, from what its executors
    /// serve. Both eras declare `logging`: the handshake era serves `logging/setLevel`, and the
    /// stateless era sends `notifications/message` to requests whose `_meta` asks for a level.
    func capabilitiesJSON(stateless: Bool) -> String {
        let subscribe = pool.catalog.subscriptions && !stateless
        return "{\"tools\":{\"listChanged\":true},"
            + "\"resources\":{\"subscribe\":\(subscribe),\"listChanged\":true},"
            + "\"prompts\":{\"listChanged\":true},\"completions\":{},\"logging\":{}}"
    }

    static let instructions = "Switchyard serves the tools of its executors; call tools/list to see them."
}
