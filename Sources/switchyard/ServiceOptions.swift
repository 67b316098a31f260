import ArgumentParser
import MCPCore
import Supervisor
import ToolSDK
import Upstream

/// The options of `serve` that mean the same for `stdio`: what serves the tools (built-in packs,
/// external executors, upstream MCP servers), how calls are bounded and checked, rate limits,
/// the audit log, the result cache, supervision, and the config file that may hold any of them.
/// Declared once and used by both commands (`@OptionGroup`), so they cannot drift apart; the
/// options only HTTP has are `HTTPServeOptions`.
struct ServiceOptions: ParsableArguments {
    @Option(help: "Number of built-in Swift executors (default: 2; stdio: 1).") var executors: Int?
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
        An existing MCP server to pool, NAME=COMMAND ARGS (a stdio server, run with /bin/sh -c) or \
        NAME=http(s)://HOST/PATH (repeatable). More settings per upstream in the config file's \
        'upstreams' (README, "Pooling stdio MCP servers").
        """)
    var upstreams: [String] = []
    @Option(help: "Copies of each stdio upstream kept running; connections to each remote one (default: 2).") var upstreamPool: Int?
    @Option(help: """
        JSON config file with any of the long options in camelCase (host, port, fronts, executors, tools, \
        executorCommands, upstreams, upstreamPool, preferSSE, maxBody, sessionKey, sessionKeyFile, runDir, \
        compressThreshold, callTimeoutMs, maxQueued, restartIntensity, restartPeriodMs, restartMaxDelayMs, \
        heartbeatIntervalMs, heartbeatTimeoutMs, executorMaxRssMb, idleTimeout, rateLimits, auditLog, redis, \
        redisSentinel, redisMaster, redisCluster, redisUser, redisPassword, redisPasswordFile, \
        validateArguments as true or false, toolCacheTtl as {"NAME": MS}, resultCacheMb). Refused when it \
        holds a secret (sessionKey, redisPassword, a password in redis, an upstream's env or headers) and users other \
        than its owner can read it. stdio refuses the keys only HTTP has (host, port, ...).
        """)
    var config: String?
    @Option(help: "Directory for executor sockets (default: a new private directory under /tmp).") var runDir: String?
    @Option(help: "Largest request body (HTTP) or message line (stdio) in bytes (default: 4194304).")
    var maxBody: Int?
    @Option(help: """
        Executor-link payloads at least this many bytes are zstd-compressed \
        (default: 8388608, chosen by measurement: see the README).
        """)
    var compressThreshold: Int?
    @Option(help: "Cancel a tools/call and answer with an error after this many ms (default: 60000).")
    var callTimeoutMs: Int?
    @Option(help: "Per-tool call timeout, NAME=MS (repeatable).") var toolTimeout: [String] = []
    @Option(help: "Calls that may wait for an executor with room, per front (default: 50000); beyond, an error (503).")
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
    @Option(help: "Largest tool result in bytes; a larger one is answered with an error (default: 16 MiB).")
    var maxResult: Int?
    @Option(help: "Calls each built-in executor runs at once; fronts queue the rest (default: 256).")
    var executorMaxConcurrency: Int?
    @Option(help: "Log lines as logfmt (default) or json, for every process (stdio: on stderr).")
    var logFormat: String?
    @Option(help: "Entries per page of the list methods (default: 100).") var listPageSize: Int?
    @Option(help: """
        Validate tools/call arguments against each tool's inputSchema (JSON Schema 2020-12) at the fronts, \
        for every executor: on (default) or off.
        """)
    var validateArguments: String?
    @OptionGroup var limits: LimitsOptions
    @OptionGroup(title: "Result cache") var cache: CacheOptions

    /// What these options decide, checked (every file read, every value validated) before
    /// anything starts.
    struct Plan {
        var config: ConfigFile
        /// Per executor: name, argv (the first element `switchyard` stands for this executable), environment.
        var executors: [(name: String, argv: [String], environment: [String: String])]
        /// The upstream MCP servers, each served by a bridge executor (one of `executors`).
        var upstreams: [UpstreamSpec]
        /// Names the built-in packs serve (`tool:NAME`, `prompt:NAME`, `resource:URI`) and which pack.
        var builtInNames: [String: String]
        /// The front options these decide (call limits, validation, rate limits, the audit log,
        /// the result cache), as `switchyard front` takes them.
        var frontArguments: [String]
        var restartPolicy: RestartPolicy
        var heartbeatIntervalMs: UInt64
        var heartbeatTimeoutMs: UInt64
        var executorMaxRSS: Int?
        var runDir: String?
        var logFormat: String?
    }

    /// `defaultExecutors`: built-in executors when neither the command line nor the config says.
    func plan(defaultExecutors: Int) throws -> Plan {
        let cfg = try config.map(ConfigFile.load) ?? ConfigFile()
        let logFormat = self.logFormat ?? cfg.string("logFormat")
        if let f = logFormat {
            guard f == "json" || f == "logfmt" else { throw ValidationError("--log-format takes json or logfmt") }
        }
        let N = NumberSetting.self
        let executorCount = try cfg.int(self.executors, "executors", 0...256) ?? defaultExecutors
        let tools = self.tools ?? cfg.string("tools") ?? "demo"
        let external = executorCommands + (cfg.strings("executorCommands") ?? [])
        let maxBody = try cfg.int(self.maxBody, "maxBody", 1...N.maxBytes) ?? 4 * 1024 * 1024
        // A frame's length is 32 bits (proto §3): a larger threshold would never be reached.
        let threshold = try cfg.int(compressThreshold, "compressThreshold", 0...Int(UInt32.max))
            ?? 8 * 1024 * 1024
        let upstreamSpecs = try UpstreamOptions.specs(options: upstreams, pool: upstreamPool, config: cfg)
        guard executorCount > 0 || !external.isEmpty || !upstreamSpecs.isEmpty else {
            throw ValidationError("need at least one executor")
        }
        try ToolPacks.validate(tools)
        let callTimeout = try cfg.int(callTimeoutMs, "callTimeoutMs", 1...N.maxMs) ?? 60_000
        let validate = try validateArguments.map { try OnOff.parse($0, option: "--validate-arguments") }
            ?? cfg.bool("validateArguments") ?? true
        for t in toolTimeout { _ = try ToolTimeout.parse(t) }
        let limitsArguments = try limits.frontArguments(config: cfg)
        let builtIn = try executorCount > 0 ? ToolPacks.tools(tools) : nil
        // Tools of external executors and upstreams are known once their catalog arrives: the
        // fronts check a TTL's annotations then.
        let cacheArguments = try cache.frontArguments(config: cfg, builtIn: builtIn,
                                                      externalExecutors: !external.isEmpty || !upstreamSpecs.isEmpty)
        var policy = RestartPolicy()
        policy.intensity = try cfg.int(restartIntensity, "restartIntensity", 0...1_000_000) ?? 10
        policy.periodMs = UInt64(try cfg.int(restartPeriodMs, "restartPeriodMs", 1...N.maxMs) ?? 10_000)
        policy.maxDelayMs = UInt64(try cfg.int(restartMaxDelayMs, "restartMaxDelayMs", 0...N.maxMs) ?? 5_000)
        // Heartbeats are timer periods: an hour is already far beyond any use.
        let heartbeatInterval = try cfg.int(heartbeatIntervalMs, "heartbeatIntervalMs", 0...3_600_000) ?? 1_000
        let heartbeatTimeout = try cfg.int(heartbeatTimeoutMs, "heartbeatTimeoutMs", 1...3_600_000) ?? 5_000
        // MiB to bytes must not overflow: up to 1 TiB.
        let maxRSS = try cfg.int(executorMaxRssMb, "executorMaxRssMb", 1...(N.maxBytes >> 20)).map { $0 << 20 }
        let maxQueued = try cfg.int(self.maxQueued, "maxQueued", 0...100_000_000)
        let maxResult = try cfg.int(self.maxResult, "maxResult", 1...N.maxBytes)
        let listPageSize = try cfg.int(self.listPageSize, "listPageSize", 1...100_000)

        var executors: [(name: String, argv: [String], environment: [String: String])] = []
        let concurrency = try cfg.int(executorMaxConcurrency, "executorMaxConcurrency", 1...65_536) ?? 256
        for i in 0..<executorCount {
            let name = "swift-\(i)"
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
        var argv = ["--max-body", String(maxBody), "--compress-threshold", String(threshold)]
        argv += ["--validate-arguments", validate ? "on" : "off"]
        argv += ["--call-timeout-ms", String(callTimeout)]
        for t in toolTimeout { argv += ["--tool-timeout", t] }
        argv += limitsArguments
        argv += cacheArguments
        if let q = maxQueued { argv += ["--max-queued", String(q)] }
        if let n = maxResult { argv += ["--max-result", String(n)] }
        if let n = listPageSize { argv += ["--list-page-size", String(n)] }
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
        return Plan(config: cfg, executors: executors, upstreams: upstreamSpecs, builtInNames: builtInNames,
                    frontArguments: argv, restartPolicy: policy,
                    heartbeatIntervalMs: UInt64(heartbeatInterval), heartbeatTimeoutMs: UInt64(heartbeatTimeout),
                    executorMaxRSS: maxRSS,
                    runDir: runDir ?? cfg.string("runDir"), logFormat: logFormat)
    }
}

extension ServiceOptions {
    /// The child specs of `executors` (a plan's), run from `runDir`; `switchyard` in an argv
    /// stands for this executable. `environment` is added to each (stdio's parent-death contract).
    static func executorSpecs(_ executors: [(name: String, argv: [String], environment: [String: String])],
                              policy: RestartPolicy, heartbeatIntervalMs: UInt64, heartbeatTimeoutMs: UInt64,
                              maxRSS: Int?, runDir: RunDirectory,
                              environment: [String: String] = [:]) -> [ChildSpec] {
        let exe = SelfExecutable.path()
        return executors.map { e -> ChildSpec in
            let argv = e.argv.first == "switchyard" ? [exe] + e.argv.dropFirst() : e.argv
            var spec = ChildSpec(name: "executor \(e.name)", role: .executor, argv: argv,
                                 environment: e.environment.merging(environment) { $1 }, policy: policy,
                                 socketDirectory: runDir.executors, instanceName: e.name)
            spec.heartbeatIntervalMs = heartbeatIntervalMs
            spec.heartbeatTimeoutMs = heartbeatTimeoutMs
            spec.maxRSSBytes = maxRSS
            // A bridge is ready once its copies are (up to UpstreamBridge.startupTimeoutMs: a
            // server started with npx or uvx may first download itself).
            if e.environment["SWITCHYARD_UPSTREAM"] != nil { spec.readyTimeoutMs = UpstreamBridge.startupTimeoutMs + 10_000 }
            return spec
        }
    }
}
