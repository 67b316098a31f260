import ArgumentParser
import EventLoop
import FrontTier
import Glibc
import MCPCore
import Supervisor
import Upstream

/// `switchyard stdio`: one MCP client over stdin/stdout, as an IDE launches a local server.
/// This process is the front (StdioFront) and the supervisor of its executors and upstream
/// bridges, on one loop. It takes serve's options (`ServiceOptions`: executors, upstreams,
/// limits, validation, rate limits, the audit log, the result cache, the config file) and
/// refuses by name those only HTTP has.
struct StdioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stdio",
        abstract: "Serve one MCP client over stdin/stdout (newline-delimited JSON-RPC), with executors as in serve.",
        discussion: """
        Reads one JSON-RPC message per line on stdin and writes one per line on stdout; logs go to stderr, \
        and executors and upstream bridges get /dev/null as stdin and stderr as stdout (an upstream's copies \
        talk over pipes of their own; their stderr lines are logged with the upstream's name). Both protocol \
        eras are served: initialize (2025-11-25 and earlier, one implicit session) and 2026-07-28 \
        (server/discover, _meta). The first message is read once the executors are linked. End of input, \
        SIGTERM or SIGINT: the calls in flight are answered, the executors stopped, and the process exits 0. \
        Options of serve that only HTTP has (host, port, fronts, sessions, TLS, authentication, Redis, ...) \
        are refused, on the command line and in --config.
        """
    )

    @OptionGroup var service: ServiceOptions
    @Option(help: "Messages that may be unanswered at once; reading pauses beyond.") var maxInFlight = 1024
    // Parsed only to be refused by name (`validate`): without them, `--port` would be "unknown".
    @OptionGroup(visibility: .private) var http: HTTPServeOptions
    @OptionGroup(visibility: .private) var auth: AuthOptions
    @OptionGroup(visibility: .private) var tls: TLSOptions
    @OptionGroup(visibility: .private) var redis: RedisArguments

    func validate() throws {
        if let option = httpOnlyOptionsGiven.first {
            throw ValidationError("\(option) does not apply to switchyard stdio, which serves one client over "
                                  + "stdin/stdout (no listener, headers, TLS, credentials or Redis); "
                                  + "it is an option of switchyard serve")
        }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
    }

    /// The HTTP-only options on the command line, as `--name`.
    private var httpOnlyOptionsGiven: [String] {
        var given = http.given
        func note(_ set: Bool, _ name: String) { if set { given.append("--" + name) } }
        note(auth.authIssuer != nil, "auth-issuer")
        note(auth.authAudience != nil, "auth-audience")
        note(auth.authJwks != nil, "auth-jwks")
        note(auth.authJwksCaFile != nil, "auth-jwks-ca-file")
        note(auth.authSharedSecretFile != nil, "auth-shared-secret-file")
        note(auth.authClockSkew != nil, "auth-clock-skew")
        note(auth.authJwksRefetchInterval != nil, "auth-jwks-refetch-interval")
        note(auth.apiKeys != nil, "api-keys")
        note(auth.policy != nil, "policy")
        note(tls.certificate != nil, "tls-cert")
        note(tls.key != nil, "tls-key")
        note(tls.clientCA != nil, "tls-client-ca")
        note(tls.minVersion != nil, "tls-min-version")
        note(redis.url != nil, "redis")
        note(redis.sentinels != nil, "redis-sentinel")
        note(redis.master != nil, "redis-master")
        note(redis.cluster != nil, "redis-cluster")
        note(redis.user != nil, "redis-user")
        note(redis.passwordFile != nil, "redis-password-file")
        note(redis.startDegraded, "redis-start-degraded")
        return given
    }

    /// A config file shared with `serve` may say how HTTP is served: stdio refuses rather than
    /// ignores it, so nobody believes a port, TLS or a policy protects this process.
    static func refuseHTTPOnlyKeys(_ config: ConfigFile) throws {
        let httpOnly = Set(HTTPServeOptions.configKeys + AuthOptions.configKeys + RedisArguments.configKeys)
        if let key = config.values.keys.sorted().first(where: httpOnly.contains) {
            throw ValidationError("config file \(config.path): '\(key)' does not apply to switchyard stdio, which "
                                  + "serves one client over stdin/stdout; it is a setting of switchyard serve")
        }
    }

    func run() throws {
        // Before anything else: from here on, nothing but protocol messages reaches stdout.
        let (input, output) = try Self.takeStandardStreams()
        let plan = try service.plan(defaultExecutors: 1)
        try Self.refuseHTTPOnlyKeys(plan.config)
        if let f = plan.logFormat { setenv("SWITCHYARD_LOG_FORMAT", f, 1) }
        // As serve: each upstream is started once and listed before anything else starts, so a
        // command that cannot serve, or a name served twice, ends here with an error saying which.
        do { try UpstreamPreflight.check(plan.upstreams, builtIn: plan.builtInNames) } catch {
            FileHandleStderr.write("switchyard stdio: \(error.description)\n")
            throw ExitCode(64)
        }
        let runDir = try RunDirectory.prepare(plan.runDir)
        // A client may end this process with SIGKILL: executors and bridges then end too (proto, "Parent death").
        let specs = ServiceOptions.executorSpecs(plan.executors, policy: plan.restartPolicy,
                                                 heartbeatIntervalMs: plan.heartbeatIntervalMs,
                                                 heartbeatTimeoutMs: plan.heartbeatTimeoutMs,
                                                 maxRSS: plan.executorMaxRSS, runDir: runDir,
                                                 environment: ["SWITCHYARD_EXIT_WITH_PARENT": String(getpid())])
        var o: FrontOptions
        do {
            // The front options serve would give its fronts, read as a front reads them.
            o = try FrontCommand.parse(["--run-dir", runDir.path] + plan.frontArguments).options()
        } catch {
            runDir.removeIfOwned()
            throw ValidationError("stdio: \(FrontCommand.message(for: error))")
        }
        o.serverVersion = Switchyard.version
        var settings = StdioFront.Settings()
        settings.expectedExecutors = specs.count
        settings.maxInFlight = maxInFlight
        if !plan.upstreams.isEmpty {
            // The bridges' copies start again after the check: wait for them as the supervisor does.
            settings.startTimeoutMs = max(settings.startTimeoutMs, UpstreamBridge.startupTimeoutMs + 10_000)
        }

        let loop = Loop()
        let front: StdioFront
        do {
            front = try StdioFront(options: o, settings: settings, loop: loop, input: input, output: output)
        } catch {
            runDir.removeIfOwned()
            throw ValidationError("stdio: \(error)")
        }
        var supervisorOptions = Supervisor.Options(readyLine: "")
        supervisorOptions.stopsOnSignals = false // the front drains first, then stops it
        let supervisor = Supervisor(executors: specs, fronts: [], options: supervisorOptions, loop: loop)
        front.onFinished = { supervisor.stop() }
        supervisor.start()
        front.start()
        loop.run()
        runDir.removeIfOwned()
        if supervisor.exitCode != 0 { throw ExitCode(supervisor.exitCode) }
    }

    /// Takes stdin and stdout for the protocol, on descriptors of their own (close-on-exec), and
    /// points fd 0 at /dev/null and fd 1 at stderr: whatever else in this process or its
    /// children writes to "stdout" lands in the log, never among the messages.
    static func takeStandardStreams() throws -> (input: Int32, output: Int32) {
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard input >= 0, output >= 0 else {
            throw ValidationError("stdio: cannot take stdin/stdout: \(String(cString: strerror(errno)))")
        }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard null >= 0, dup2(null, 0) == 0, dup2(2, 1) == 1 else {
            throw ValidationError("stdio: cannot redirect fd 0/1: \(String(cString: strerror(errno)))")
        }
        close(null)
        return (input, output)
    }
}
