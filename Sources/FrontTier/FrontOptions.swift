import Redis
import Security
import TLS

/// How a front process is configured (from `switchyard front` / `serve` flags).
public struct FrontOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Which front this is among the server's fronts (for logs and health).
    public var index = 0
    /// Where executors' sockets are found: `<runDir>/executors/*.sock`.
    public var runDir = "/tmp/switchyard"
    /// The MCP endpoint's path.
    public var endpointPath = "/mcp"
    /// Shared by all fronts of a server so any front can verify any session id.
    public var sessionKey: [UInt8] = []
    public var maxBody = 4 * 1024 * 1024
    public var maxHead = 16 * 1024
    public var idleTimeoutMs: UInt64 = 60_000
    /// A request head must be complete this many ms after its first byte (408 otherwise).
    public var headTimeoutMs: UInt64 = 10_000
    /// After a grace period, a body must arrive at least this fast (bytes per second; 408 otherwise).
    public var bodyMinRate: UInt64 = 1024
    /// Connections one source address may hold at once; 0 = no cap.
    public var maxConnectionsPerAddress = 0
    /// Balancers whose X-Forwarded-For names a request's source (`--trusted-proxy`).
    public var trustedProxies = TrustedProxies()
    /// Largest result (or error) an executor may answer with, in bytes; beyond, the client gets
    /// an error naming the tool and the result is dropped.
    public var maxResultBytes = 16 * 1024 * 1024
    /// Descriptors kept free under pressure: past (descriptor limit - this), the front evicts
    /// connections that never sent a byte, then idle keep-alive ones, oldest first.
    public var descriptorReserve = 64
    /// Answer with an SSE stream whenever the client accepts one (otherwise JSON is preferred).
    public var preferSSE = false
    /// Origins allowed besides loopback ones (exact `scheme://host[:port]` strings).
    public var allowedOrigins: [String] = []
    /// How long SIGTERM waits for in-flight requests before closing anyway (ms).
    public var drainTimeoutMs: UInt64 = 10_000
    /// CALL payloads at least this large go compressed to executors that accept zstd.
    public var compressThreshold = 8 * 1024 * 1024
    public var serverVersion = "0.1.0"
    /// A tools/call is cancelled and answered with an error after this long (ms)...
    public var callTimeoutMs: UInt64 = 60_000
    /// ...unless its tool has its own timeout here (tool name -> ms).
    public var toolTimeoutsMs: [String: UInt64] = [:]
    /// Calls waiting for an executor with room, in all; beyond this the front answers 503.
    public var maxQueuedCalls = 50_000
    /// How long a call may wait for an executor before the front answers 503 (ms).
    public var maxQueueWaitMs: UInt64 = 5_000
    /// Consecutive failures (timeouts, lost calls) that open a breaker, and how long it stays open (ms).
    public var breakerFailures = 5
    public var breakerOpenMs: UInt64 = 2_000

    /// A separate listener for /metrics, /status, /healthz, /readyz (host, port); nil = main port only.
    public var admin: (host: String, port: Int)?

    /// A session silent this long is over (seconds); 0 = never.
    public var sessionIdleTimeout: UInt64 = 3600
    /// Entries per page of tools/list, resources/list, resources/templates/list, prompts/list.
    public var listPageSize = 100
    /// Events each resumable SSE stream keeps for Last-Event-ID, and for how long (ms).
    public var eventStoreSize = 1_000
    public var eventStoreAgeMs: UInt64 = 300_000
    /// Where to append the access log; nil = none.
    public var accessLogPath: String?
    /// Validate each tools/call's arguments against the tool's inputSchema at the front
    /// (ArgumentValidationStage); a failing call never reaches an executor.
    public var validateArguments = true
    /// Authentication and authorization; nil = off (every caller is anonymous).
    public var access: AccessSettings?
    /// `--rate-limit` rules, per principal (or source address) × tool; empty = no limits.
    public var rateLimits = RateLimits()
    /// Where to append the hash-chained audit log; nil = none.
    public var auditLogPath: String?
    /// Serve HTTPS on the main port (the admin listener stays plain); nil = plain HTTP.
    /// SIGUSR2 reads the certificate and key again for new connections.
    public var tls: TLSSettings?
    /// Share session state and rate limits with other hosts through Redis (one server, Sentinel
    /// or Cluster); nil = this host only (run directory and memory). Holds the password: never
    /// logged (`redacted`), never in a child's argv.
    public var redis: RedisSettings?

    public init() {}

    public var executorDirectory: String { runDir + "/executors" }
}
