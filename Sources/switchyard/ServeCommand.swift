import ArgumentParser
import EventLoop
import FoundationEssentials
import FrontTier
import Glibc
import MCPCore
import Redis
import Supervisor
import Upstream

/// `switchyard serve`: the supervisor with its fronts and executors.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start N fronts and M executors under a supervisor and serve MCP.",
        discussion: """
        Executors start first; fronts start once every executor is ready. The line
        'switchyard: serving MCP at http://HOST:PORT/mcp' (https with --tls-cert) is printed when all are ready.
        A child that dies is restarted with backoff. SIGTERM/SIGINT drain and exit 0.
        Options given on the command line override those of --config.
        """
    )

    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "TCP port (shared by all fronts with SO_REUSEPORT).") var port: Int?
    @Option(help: "Number of front processes (default: 2).") var fronts: Int?
    @Option(help: "Number of built-in Swift executors (default: 2).") var executors: Int?
    @Option(help: """
        Built-in tool packs for the Swift executors, comma-separated \
        (available: demo, forms, chaos, conformance).
        """)
    var tools: String?
    @Option(name: .customLong("executor-cmd"), help: """
        An external executor command (run with /bin/sh -c; repeatable). \
        It gets SWITCHYARD_SOCKET and SWITCHYARD_READY_FD.
        """)
    var executorCommands: [String] = []
    @Option(name: .customLong("upstream"), help: """
        An existing MCP server to pool behind the fronts, NAME=COMMAND ARGS (a stdio server, run with \
        /bin/sh -c) or NAME=http(s)://HOST/PATH (repeatable). More settings per upstream in the config \
        file's 'upstreams' (README, "Pooling stdio MCP servers").
        """)
    var upstreams: [String] = []
    @Option(help: "Copies of each stdio upstream kept running; connections to each remote one (default: 2).") var upstreamPool: Int?
    @Option(help: """
        JSON config file with any of the long options in camelCase (host, port, fronts, executors, tools, \
        executorCommands, preferSSE, maxBody, sessionKey, sessionKeyFile, runDir, compressThreshold, \
        callTimeoutMs, maxQueued, restartIntensity, restartPeriodMs, restartMaxDelayMs, heartbeatIntervalMs, \
        heartbeatTimeoutMs, executorMaxRssMb, idleTimeout, redis, redisSentinel, redisMaster, redisCluster, \
        redisUser, redisPassword, redisPasswordFile, validateArguments as true or false, toolCacheTtl as \
        {"NAME": MS}, resultCacheMb). Refused when it \
        holds a secret (sessionKey, redisPassword, a password in redis) and users other than its owner can read it.
        """)
    var config: String?
    @Option(help: "Directory for executor sockets (default: a new private directory under /tmp).") var runDir: String?
    @Option(help: """
        Hex key (>= 32 hex digits) that signs session ids; default: random per start. Visible to every \
        user in process listings: prefer --session-key-file.
        """)
    var sessionKey: String?
    @Option(help: """
        File holding the session key in hex (surrounding whitespace ignored); refused when group or \
        others can read it (chmod 600). Fronts get the key through their environment, never their arguments.
        """)
    var sessionKeyFile: String?
    @Option(help: "Largest request body in bytes (default: 4194304).") var maxBody: Int?
    @Option(help: """
        Executor-link payloads at least this many bytes are zstd-compressed \
        (default: 8388608, chosen by measurement: see the README).
        """)
    var compressThreshold: Int?
    @Flag(help: "Answer with an SSE stream whenever the client accepts one.") var preferSSE = false
    @Option(help: "Cancel a tools/call and answer with an error after this many ms (default: 60000).")
    var callTimeoutMs: Int?
    @Option(help: "Per-tool call timeout, NAME=MS (repeatable).") var toolTimeout: [String] = []
    @Option(help: "Calls that may wait for an executor with room, per front (default: 50000); beyond, 503.")
    var maxQueued: Int?
    @Option(help: "Restarts allowed within --restart-period-ms before giving up on a child (default: 10).")
    var restartIntensity: Int?
    @Option(help: "The window for --restart-intensity, ms (default: 10000).") var restartPeriodMs: Int?
    @Option(help: "Largest delay between restarts of a failing child, ms (default: 5000).") var restartMaxDelayMs: Int?
    @Option(help: "Heartbeat interval on executor sockets, ms; 0 disables (default: 1000).")
    var heartbeatIntervalMs: Int?
    @Option(help: "An executor silent this long is killed and restarted, ms (default: 5000).")
    var heartbeatTimeoutMs: Int?
    @Option(help: "Drain and restart an executor whose resident memory exceeds this many MiB.")
    var executorMaxRssMb: Int?
    @Option(help: "Close keep-alive connections idle this many seconds (default: 60).") var idleTimeout: Int?
    @Option(help: "A request head must be complete this many ms after its first byte, else 408 (default: 10000).")
    var headTimeout: Int?
    @Option(help: "After 5 s, a request body must arrive at least this many bytes/s, else 408 (default: 1024).")
    var bodyMinRate: Int?
    @Option(help: "Connections one source address may hold at once, per front; 0 = no cap (default).")
    var maxConnsPerAddress: Int?
    @Option(help: "Largest tool result in bytes; a larger one is answered with an error (default: 16 MiB).")
    var maxResult: Int?
    @Option(help: "Calls each built-in executor runs at once; fronts queue the rest (default: 256).")
    var executorMaxConcurrency: Int?
    @Option(help: "Admin listener HOST:PORT for /metrics, /status, /healthz, /readyz (keeps them off the main port).")
    var admin: String?
    @Option(help: "Log lines as logfmt (default) or json, for every process.") var logFormat: String?
    @Option(help: "A session silent this many seconds is over, on every front (default: 3600; 0 = never).")
    var sessionIdleTimeout: Int?
    @Option(help: "Entries per page of the list methods (default: 100).") var listPageSize: Int?
    @Option(help: "Events each resumable SSE stream keeps for Last-Event-ID (default: 1000).") var eventStoreSize: Int?
    @Option(help: "How long a resumable stream's events are kept, seconds (default: 300).") var eventStoreAge: Int?
    @Option(help: "An allowed Origin besides loopback ones (repeatable), e.g. https://app.example.")
    var allowOrigin: [String] = []
    @Option(help: """
        A balancer (IP address or CIDR block; repeatable) whose X-Forwarded-For names each request's \
        source for rate limits, the credential throttle and the audit log; exempt from --max-conns-per-address.
        """)
    var trustedProxy: [String] = []
    @Option(help: "Append an access log line per request to this file (buffered, off the hot path).")
    var accessLog: String?
    @Option(help: """
        Validate tools/call arguments against each tool's inputSchema (JSON Schema 2020-12) at the fronts, \
        for every executor: on (default) or off.
        """)
    var validateArguments: String?
    @OptionGroup(title: "Authentication and authorization") var auth: AuthOptions
    @OptionGroup var limits: LimitsOptions
    @OptionGroup(title: "Result cache") var cache: CacheOptions
    @OptionGroup var tls: TLSOptions
    @OptionGroup(title: "Several hosts: Redis") var redis: RedisArguments

    /// What `serve` would run, decided from the options and the config file and checked (every
    /// file read, every value validated), before anything starts: `run` starts it,
    /// `check-config` prints it.
    struct Plan {
        var host: String
        var port: Int
        var frontCount: Int
        /// Per executor: name, argv (the first element stands for this executable), environment.
        var executors: [(name: String, argv: [String], environment: [String: String])]
        /// The upstream MCP servers, each served by a bridge executor (one of `executors`).
        var upstreams: [UpstreamSpec]
        /// Names the built-in packs serve (`tool:NAME`, `prompt:NAME`, `resource:URI`) and which pack.
        var builtInNames: [String: String]
        /// Every front's options after `--index` and `--run-dir`.
        var frontArguments: [String]
        var restartPolicy: RestartPolicy
        var heartbeatIntervalMs: UInt64
        var heartbeatTimeoutMs: UInt64
        var executorMaxRSS: Int?
        var sessionKey: [UInt8]
        /// Where the key came from, for check-config (never the key).
        var sessionKeySource: String
        var runDir: String?
        var scheme: String
        var logFormat: String?
        /// Shared state between hosts; nil = this host only.
        var redis: RedisSettings?
    }

    func plan() throws -> Plan {
        let cfg = try config.map(ConfigFile.load) ?? ConfigFile()
        let logFormat = self.logFormat ?? cfg.string("logFormat")
        if let f = logFormat {
            guard f == "json" || f == "logfmt" else { throw ValidationError("--log-format takes json or logfmt") }
        }
        let host = self.host ?? cfg.string("host") ?? "127.0.0.1"
        let port = self.port ?? cfg.int("port") ?? 8080
        let frontCount = self.fronts ?? cfg.int("fronts") ?? 2
        let executorCount = self.executors ?? cfg.int("executors") ?? 2
        let tools = self.tools ?? cfg.string("tools") ?? "demo"
        let external = executorCommands + (cfg.strings("executorCommands") ?? [])
        let preferSSE = self.preferSSE || cfg.bool("preferSSE") == true
        let maxBody = self.maxBody ?? cfg.int("maxBody") ?? 4 * 1024 * 1024
        let threshold = self.compressThreshold ?? cfg.int("compressThreshold") ?? 8 * 1024 * 1024
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard (1...64).contains(frontCount) else { throw ValidationError("--fronts must be 1...64") }
        guard (0...256).contains(executorCount) else { throw ValidationError("--executors must be 0...256") }
        let upstreamSpecs = try UpstreamOptions.specs(options: upstreams, pool: upstreamPool, config: cfg)
        guard executorCount > 0 || !external.isEmpty || !upstreamSpecs.isEmpty else {
            throw ValidationError("need at least one executor")
        }
        try ToolPacks.validate(tools)
        if let a = admin ?? cfg.string("admin") { _ = try HostPort.parse(a) }
        let callTimeout = callTimeoutMs ?? cfg.int("callTimeoutMs") ?? 60_000
        let validate = try validateArguments.map { try OnOff.parse($0, option: "--validate-arguments") }
            ?? cfg.bool("validateArguments") ?? true
        for t in toolTimeout { _ = try ToolTimeout.parse(t) }
        let auth = self.auth.merged(with: cfg)
        try auth.validate()
        let limitsArguments = try limits.frontArguments(config: cfg)
        let builtIn = try executorCount > 0 ? ToolPacks.tools(tools) : nil
        let cacheArguments = try cache.frontArguments(config: cfg, builtIn: builtIn, externalExecutors: !external.isEmpty)
        var policy = RestartPolicy()
        policy.intensity = restartIntensity ?? cfg.int("restartIntensity") ?? 10
        policy.periodMs = UInt64(restartPeriodMs ?? cfg.int("restartPeriodMs") ?? 10_000)
        policy.maxDelayMs = UInt64(restartMaxDelayMs ?? cfg.int("restartMaxDelayMs") ?? 5_000)

        let given = try Secret.resolve(option: "session-key", value: sessionKey, file: sessionKeyFile, config: cfg,
                                       key: "sessionKey", log: Log("serve"))
        // Never the key itself: where it came from is enough to find it.
        let source = sessionKeyFile.map { "the file \($0)" } ?? (sessionKey != nil ? "--session-key"
            : cfg.string("sessionKeyFile").map { "the file \($0)" }
            ?? (cfg.string("sessionKey") != nil ? "the config file's sessionKey" : "random per start"))
        guard let key = Hex.decode(given ?? Hex.random(bytes: 32)), key.count >= 16 else {
            throw ValidationError("the session key (from \(source)) must be at least 32 hex digits")
        }
        let redisSettings = try redis.settings(config: cfg, log: Log("serve"))
        let tlsSettings = try tls.settings(config: cfg, ticketSecret: key)
        try TLSOptions.check(tlsSettings)

        var executors: [(name: String, argv: [String], environment: [String: String])] = []
        for i in 0..<executorCount {
            let name = "swift-\(i)"
            let concurrency = executorMaxConcurrency ?? cfg.int("executorMaxConcurrency") ?? 256
            executors.append((name, ["switchyard", "executor", "--socket", "{socket}", "--name", name,
                                     "--tools", tools, "--compress-threshold", String(threshold),
                                     "--max-concurrency", String(concurrency)], [:]))
        }
        for (i, cmd) in external.enumerated() {
            let name = "ext-\(i)"
            executors.append((name, ["/bin/sh", "-c", "exec \(cmd)"], ["SWITCHYARD_EXECUTOR_NAME": name]))
        }
        for (i, spec) in upstreamSpecs.enumerated() {
            // The number after the last '-' is the executor's metrics slot: kept apart from swift-N's.
            let name = "upstream.\(spec.name)-\(100 + i)"
            executors.append((name, ["switchyard", "upstream", "--socket", "{socket}", "--name", name],
                              ["SWITCHYARD_UPSTREAM": spec.json.compactJSON()]))
        }
        var argv = ["--host", host, "--port", String(port), "--max-body", String(maxBody),
                    "--compress-threshold", String(threshold)]
        if preferSSE { argv.append("--prefer-sse") }
        argv += ["--validate-arguments", validate ? "on" : "off"]
        argv += ["--call-timeout-ms", String(callTimeout)]
        for t in toolTimeout { argv += ["--tool-timeout", t] }
        argv += limitsArguments
        argv += cacheArguments
        if let q = maxQueued ?? cfg.int("maxQueued") { argv += ["--max-queued", String(q)] }
        if let t = idleTimeout ?? cfg.int("idleTimeout") { argv += ["--idle-timeout", String(t)] }
        if let t = headTimeout ?? cfg.int("headTimeout") { argv += ["--head-timeout", String(t)] }
        if let r = bodyMinRate ?? cfg.int("bodyMinRate") { argv += ["--body-min-rate", String(r)] }
        if let n = maxConnsPerAddress ?? cfg.int("maxConnsPerAddress") { argv += ["--max-conns-per-address", String(n)] }
        if let n = maxResult ?? cfg.int("maxResult") { argv += ["--max-result", String(n)] }
        if let a = admin ?? cfg.string("admin") { argv += ["--admin", a] }
        if let l = accessLog ?? cfg.string("accessLog") { argv += ["--access-log", l] }
        if let t = sessionIdleTimeout ?? cfg.int("sessionIdleTimeout") { argv += ["--session-idle-timeout", String(t)] }
        if let n = listPageSize ?? cfg.int("listPageSize") { argv += ["--list-page-size", String(n)] }
        if let n = eventStoreSize ?? cfg.int("eventStoreSize") { argv += ["--event-store-size", String(n)] }
        if let n = eventStoreAge ?? cfg.int("eventStoreAge") { argv += ["--event-store-age", String(n)] }
        for o in allowOrigin + (cfg.strings("allowOrigins") ?? []) { argv += ["--allow-origin", o] }
        let proxies = (cfg.strings("trustedProxies") ?? []) + trustedProxy
        do { _ = try TrustedProxies(cidrs: proxies) } catch { throw ValidationError("\(error)") }
        for p in proxies { argv += ["--trusted-proxy", p] }
        argv += auth.frontArguments
        argv += TLSOptions.frontArguments(tlsSettings)
        argv += RedisArguments.front(redisSettings).arguments
        var builtInNames: [String: String] = [:]
        if executorCount > 0 {
            for pack in tools.split(separator: ",") {
                let p = ToolPacks.packs[String(pack)]!
                for t in p.tools { builtInNames["tool:" + t.name] = "the tool pack '\(pack)'" }
                for t in p.prompts { builtInNames["prompt:" + t.name] = "the tool pack '\(pack)'" }
                for r in p.resources { builtInNames["resource:" + r.uri] = "the tool pack '\(pack)'" }
                for r in p.resourceTemplates { builtInNames["resource:" + r.uriTemplate] = "the tool pack '\(pack)'" }
            }
        }
        return Plan(host: host, port: port, frontCount: frontCount, executors: executors,
                    upstreams: upstreamSpecs, builtInNames: builtInNames, frontArguments: argv,
                    restartPolicy: policy,
                    heartbeatIntervalMs: UInt64(heartbeatIntervalMs ?? cfg.int("heartbeatIntervalMs") ?? 1_000),
                    heartbeatTimeoutMs: UInt64(heartbeatTimeoutMs ?? cfg.int("heartbeatTimeoutMs") ?? 5_000),
                    executorMaxRSS: (executorMaxRssMb ?? cfg.int("executorMaxRssMb")).map { $0 * 1024 * 1024 },
                    sessionKey: key, sessionKeySource: source, runDir: self.runDir ?? cfg.string("runDir"),
                    scheme: TLSOptions.scheme(tlsSettings), logFormat: logFormat, redis: redisSettings)
    }

    func run() throws {
        let plan = try plan()
        // Before the first log line; children inherit it.
        if let f = plan.logFormat { setenv("SWITCHYARD_LOG_FORMAT", f, 1) }
        // Each upstream is started once and listed before anything else starts: a command that
        // cannot serve, or a name served twice, stops here with an error that says which.
        do { try UpstreamPreflight.check(plan.upstreams, builtIn: plan.builtInNames) } catch {
            FileHandleStderr.write("switchyard: \(error.description)\n")
            throw ExitCode(64)
        }
        let runDir = try RunDirectory.prepare(plan.runDir)
        let exe = SelfExecutable.path()
        let executorSpecs = plan.executors.map { e -> ChildSpec in
            let argv = e.argv.first == "switchyard" ? [exe] + e.argv.dropFirst() : e.argv
            var spec = ChildSpec(name: "executor \(e.name)", role: .executor, argv: argv, environment: e.environment,
                                 policy: plan.restartPolicy, socketDirectory: runDir.executors, instanceName: e.name)
            spec.heartbeatIntervalMs = plan.heartbeatIntervalMs
            spec.heartbeatTimeoutMs = plan.heartbeatTimeoutMs
            spec.maxRSSBytes = plan.executorMaxRSS
            // A bridge is ready once its copies are (up to UpstreamBridge.startupTimeoutMs: a
            // server started with npx or uvx may first download itself).
            if e.environment["SWITCHYARD_UPSTREAM"] != nil { spec.readyTimeoutMs = UpstreamBridge.startupTimeoutMs + 10_000 }
            return spec
        }
        // Secrets go to fronts through their environment, never their arguments.
        let secrets = ["SWITCHYARD_SESSION_KEY": Hex.encode(plan.sessionKey)]
            .merging(RedisArguments.front(plan.redis).environment) { a, _ in a }
        let frontSpecs = (0..<plan.frontCount).map { i in
            ChildSpec(name: "front \(i)", role: .front,
                      argv: [exe, "front", "--index", String(i), "--run-dir", runDir.path] + plan.frontArguments,
                      environment: secrets, policy: plan.restartPolicy)
        }
        let display = plan.host.contains(":") ? "[\(plan.host)]" : plan.host
        let readyLine = "switchyard: serving MCP at \(plan.scheme)://\(display):\(plan.port)/mcp"
        let supervisor = Supervisor(executors: executorSpecs, fronts: frontSpecs,
                                    options: .init(readyLine: readyLine, pidFile: runDir.path + "/supervisor.pid"))
        let code = supervisor.run()
        runDir.removeIfOwned()
        if code != 0 { throw ExitCode(code) }
    }
}
