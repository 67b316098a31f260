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

    @OptionGroup var service: ServiceOptions
    @OptionGroup(title: "HTTP") var http: HTTPServeOptions
    @OptionGroup(title: "Authentication and authorization") var auth: AuthOptions
    @OptionGroup var tls: TLSOptions
    @OptionGroup(title: "Several hosts: Redis") var redis: RedisArguments

    /// What `serve` would run, decided from the options and the config file and checked (every
    /// file read, every value validated), before anything starts: `run` starts it,
    /// `check-config` prints it.
    @dynamicMemberLookup
    struct Plan {
        /// What serve shares with stdio (executors, upstreams, restart and heartbeat settings,
        /// run directory, log format), read through `plan.name`.
        var service: ServiceOptions.Plan
        var host: String
        var port: Int
        var frontCount: Int
        /// Every front's options after `--index` and `--run-dir`: the service's and HTTP's.
        var frontArguments: [String]
        var sessionKey: [UInt8]
        /// Where the key came from, for check-config (never the key).
        var sessionKeySource: String
        var scheme: String
        /// Shared state between hosts; nil = this host only.
        var redis: RedisSettings?

        subscript<T>(dynamicMember path: KeyPath<ServiceOptions.Plan, T>) -> T { service[keyPath: path] }
    }

    func plan() throws -> Plan {
        let shared = try service.plan(defaultExecutors: 2)
        let cfg = shared.config
        let http = self.http
        let host = http.host ?? cfg.string("host") ?? "127.0.0.1"
        let port = try cfg.int(http.port, "port", 1...65535) ?? 8080
        let frontCount = try cfg.int(http.fronts, "fronts", 1...64) ?? 2
        let preferSSE = http.preferSSE || cfg.bool("preferSSE") == true
        if let a = http.admin ?? cfg.string("admin") { _ = try HostPort.parse(a) }
        let auth = try self.auth.merged(with: cfg)
        try auth.check()

        let given = try Secret.resolve(option: "session-key", value: http.sessionKey, file: http.sessionKeyFile,
                                       config: cfg, key: "sessionKey", log: Log("serve"))
        // Never the key itself: where it came from is enough to find it.
        let source = http.sessionKeyFile.map { "the file \($0)" } ?? (http.sessionKey != nil ? "--session-key"
            : cfg.string("sessionKeyFile").map { "the file \($0)" }
            ?? (cfg.string("sessionKey") != nil ? "the config file's sessionKey" : "random per start"))
        guard let key = Hex.decode(given ?? Hex.random(bytes: 32)), key.count >= 16 else {
            throw ValidationError("the session key (from \(source)) must be at least 32 hex digits")
        }
        let redisSettings = try redis.settings(config: cfg, log: Log("serve"))
        let tlsSettings = try tls.settings(config: cfg, ticketSecret: key)
        try TLSOptions.check(tlsSettings)

        var argv = ["--host", host, "--port", String(port)]
        if preferSSE { argv.append("--prefer-sse") }
        argv += shared.frontArguments
        let N = NumberSetting.self
        if let t = try cfg.int(http.idleTimeout, "idleTimeout", 1...N.maxSeconds) {
            argv += ["--idle-timeout", String(t)]
        }
        if let t = try cfg.int(http.headTimeout, "headTimeout", 1...N.maxMs) { argv += ["--head-timeout", String(t)] }
        if let r = try cfg.int(http.bodyMinRate, "bodyMinRate", 0...N.maxBytes) { argv += ["--body-min-rate", String(r)] }
        if let n = try cfg.int(http.maxConnsPerAddress, "maxConnsPerAddress", 0...100_000_000) {
            argv += ["--max-conns-per-address", String(n)]
        }
        if let a = http.admin ?? cfg.string("admin") { argv += ["--admin", a] }
        if let l = http.accessLog ?? cfg.string("accessLog") { argv += ["--access-log", l] }
        if let t = try cfg.int(http.sessionIdleTimeout, "sessionIdleTimeout", 0...N.maxSeconds) {
            argv += ["--session-idle-timeout", String(t)]
        }
        if let n = try cfg.int(http.eventStoreSize, "eventStoreSize", 0...1_000_000) {
            argv += ["--event-store-size", String(n)]
        }
        if let n = try cfg.int(http.eventStoreAge, "eventStoreAge", 0...N.maxSeconds) {
            argv += ["--event-store-age", String(n)]
        }
        for o in http.allowOrigin + (cfg.strings("allowOrigins") ?? []) { argv += ["--allow-origin", o] }
        let proxies = (cfg.strings("trustedProxies") ?? []) + http.trustedProxy
        do { _ = try TrustedProxies(cidrs: proxies) } catch { throw ValidationError("\(error)") }
        for p in proxies { argv += ["--trusted-proxy", p] }
        argv += auth.frontArguments
        argv += TLSOptions.frontArguments(tlsSettings)
        argv += RedisArguments.front(redisSettings).arguments
        return Plan(service: shared, host: host, port: port, frontCount: frontCount, frontArguments: argv,
                    sessionKey: key, sessionKeySource: source, scheme: TLSOptions.scheme(tlsSettings),
                    redis: redisSettings)
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
        if let why = redis.startError(plan.redis, config: plan.config) {
            FileHandleStderr.write("switchyard: \(why)\n")
            throw ExitCode(64)
        }
        let runDir = try RunDirectory.prepare(plan.runDir)
        let exe = SelfExecutable.path()
        let executorSpecs = ServiceOptions.executorSpecs(plan.executors, policy: plan.restartPolicy,
                                                         heartbeatIntervalMs: plan.heartbeatIntervalMs,
                                                         heartbeatTimeoutMs: plan.heartbeatTimeoutMs,
                                                         maxRSS: plan.executorMaxRSS, runDir: runDir)
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
