import ArgumentParser
import FrontTier
import Glibc

/// `switchyard front`: one front process on its own.
struct FrontCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "front",
        abstract: "Run one front: MCP over HTTP/1.1 on a shared port, linked to the executors in --run-dir.",
        discussion: "Executors are found as <run-dir>/executors/*.sock and re-linked when they restart. "
            + "The session key comes from --session-key-file or SWITCHYARD_SESSION_KEY (hex); every front of one "
            + "server must share it."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "TCP port (SO_REUSEPORT: several fronts may share it).") var port = 8080
    @Option(help: "This front's number, for logs and /healthz.") var index = 0
    @Option(help: "Run directory holding executors/*.sock.") var runDir: String
    @Option(help: "Largest request body in bytes.") var maxBody = 4 * 1024 * 1024
    @Option(help: "Close idle keep-alive connections after this many seconds.") var idleTimeout = 60
    @Option(help: "A request head must be complete this many ms after its first byte (408).") var headTimeout = 10_000
    @Option(help: "After 5 s, a request body must arrive at least this many bytes per second (408).")
    var bodyMinRate = 1024
    @Option(help: "Connections one source address may hold at once; 0 = no cap.") var maxConnsPerAddress = 0
    @Option(help: "Largest tool result in bytes; a larger one is answered with an error.") var maxResult = 16 << 20
    @Option(help: "CALL payloads at least this many bytes are zstd-compressed.") var compressThreshold = 8 * 1024 * 1024
    @Option(help: "An allowed Origin besides loopback (repeatable).") var allowOrigin: [String] = []
    @Option(help: "A balancer (IP or CIDR; repeatable) whose X-Forwarded-For names a request's source.")
    var trustedProxy: [String] = []
    @Flag(help: "Answer with an SSE stream whenever the client accepts one.") var preferSSE = false
    @Option(help: "Cancel a tools/call and answer with an error after this many ms.") var callTimeoutMs = 60_000
    @Option(help: "Per-tool call timeout, NAME=MS (repeatable).") var toolTimeout: [String] = []
    @Option(help: "Calls that may wait for an executor with room; beyond, 503.") var maxQueued = 50_000
    @Option(help: "Admin listener HOST:PORT for /metrics, /status, /healthz, /readyz (then kept off the main port).")
    var admin: String?
    @Option(help: "Append an access log line per request to this file (buffered, off the hot path).")
    var accessLog: String?
    @Option(help: "A session silent this many seconds is over; 0 = never.") var sessionIdleTimeout = 3600
    @Option(help: "Entries per page of the list methods.") var listPageSize = 100
    @Option(help: "Events each resumable SSE stream keeps for Last-Event-ID.") var eventStoreSize = 1_000
    @Option(help: "How long a resumable stream's events are kept, seconds.") var eventStoreAge = 300
    @Option(help: "File holding the session key in hex; refused when group or others can read it (chmod 600).")
    var sessionKeyFile: String?
    @Option(help: "Validate tools/call arguments against the tool's inputSchema at the front: on or off.")
    var validateArguments = "on"
    @OptionGroup(title: "Authentication and authorization") var auth: AuthOptions
    @OptionGroup var limits: LimitsOptions
    @OptionGroup(title: "Result cache") var cache: CacheOptions
    @OptionGroup var tls: TLSOptions
    @OptionGroup(title: "Several hosts: Redis") var redis: RedisArguments

    func run() throws { try Front(options: try options()).run() }

    /// The front's options from the command line (`stdio` builds its own from serve's front
    /// arguments this way, so both read them alike).
    func options() throws -> FrontOptions {
        var o = FrontOptions()
        o.host = host
        o.port = port
        o.index = index
        o.runDir = runDir
        // The ranges `serve` checks, checked again for a front started on its own.
        let N = NumberSetting.self
        _ = try N.check(port, option: "--port", 1...65535)
        _ = try N.check(index, option: "--index", 0...1_000_000)
        o.maxBody = try N.check(maxBody, option: "--max-body", 1...N.maxBytes)
        o.idleTimeoutMs = UInt64(try N.check(idleTimeout, option: "--idle-timeout", 1...N.maxSeconds)) * 1000
        o.headTimeoutMs = UInt64(try N.check(headTimeout, option: "--head-timeout", 1...N.maxMs))
        o.bodyMinRate = UInt64(try N.check(bodyMinRate, option: "--body-min-rate", 0...N.maxBytes))
        o.maxConnectionsPerAddress = try N.check(maxConnsPerAddress, option: "--max-conns-per-address", 0...100_000_000)
        o.maxResultBytes = max(1024, try N.check(maxResult, option: "--max-result", 1...N.maxBytes))
        o.compressThreshold = try N.check(compressThreshold, option: "--compress-threshold", 0...Int(UInt32.max))
        o.allowedOrigins = allowOrigin
        do { o.trustedProxies = try TrustedProxies(cidrs: trustedProxy) } catch { throw ValidationError("\(error)") }
        o.preferSSE = preferSSE
        o.serverVersion = Switchyard.version
        o.callTimeoutMs = UInt64(try N.check(callTimeoutMs, option: "--call-timeout-ms", 1...N.maxMs))
        o.maxQueuedCalls = try N.check(maxQueued, option: "--max-queued", 0...100_000_000)
        if let admin { o.admin = try HostPort.parse(admin) }
        o.accessLogPath = accessLog
        o.sessionIdleTimeout = UInt64(try N.check(sessionIdleTimeout, option: "--session-idle-timeout", 0...N.maxSeconds))
        o.listPageSize = try N.check(listPageSize, option: "--list-page-size", 1...100_000)
        o.eventStoreSize = try N.check(eventStoreSize, option: "--event-store-size", 0...1_000_000)
        o.eventStoreAgeMs = UInt64(try N.check(eventStoreAge, option: "--event-store-age", 0...N.maxSeconds)) * 1000
        o.validateArguments = try OnOff.parse(validateArguments, option: "--validate-arguments")
        o.access = try auth.settings(endpointPath: o.endpointPath)
        try limits.apply(to: &o)
        try cache.apply(to: &o)
        for t in toolTimeout {
            let (name, ms) = try ToolTimeout.parse(t)
            o.toolTimeoutsMs[name] = ms
        }
        if let path = sessionKeyFile {
            guard let key = Hex.decode(try Secret.read(file: path, what: "session key file")), key.count >= 16 else {
                throw ValidationError("the session key in \(path) must be at least 32 hex digits")
            }
            o.sessionKey = key
        } else if let raw = getenv("SWITCHYARD_SESSION_KEY"), let key = Hex.decode(String(cString: raw)),
                  key.count >= 16 {
            o.sessionKey = key
            // Read once: nothing this front starts inherits the key.
            unsetenv("SWITCHYARD_SESSION_KEY")
        } else {
            // A lone front: its sessions are valid on this process only.
            o.sessionKey = Hex.decode(Hex.random(bytes: 32))!
        }
        o.tls = try tls.settings(ticketSecret: o.sessionKey)
        o.redis = try redis.settings()
        return o
    }
}
