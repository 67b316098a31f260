import ArgumentParser
import EventLoop
import Glibc
import Redis

/// `--redis`, `--redis-sentinel` with `--redis-master`, `--redis-cluster`: the Redis that hosts
/// share session state and rate limits through (README.md, "Several hosts: Redis"). On `serve`
/// (config keys `redis`, `redisSentinel`, `redisMaster`, `redisCluster`, `redisUser`,
/// `redisPassword`, `redisPasswordFile`; forwarded to every front) and on `front`.
///
/// The password is a secret: fronts get it through their environment (`SWITCHYARD_REDIS_PASSWORD`),
/// never their arguments, and logs show `RedisSettings.redacted`.
struct RedisArguments: ParsableArguments {
    @Option(name: .customLong("redis"), help: ArgumentHelp("""
        One Redis server shared by several hosts: redis://[user:password@]host:port[/db]. A password here \
        shows in process listings: prefer --redis-password-file or the config file.
        """, valueName: "url"))
    var url: String?

    @Option(name: .customLong("redis-sentinel"), help: ArgumentHelp(
        "Sentinels (host:port,...) that name the Redis primary; with --redis-master.", valueName: "list"))
    var sentinels: String?

    @Option(name: .customLong("redis-master"), help: ArgumentHelp(
        "The master name the sentinels watch.", valueName: "name"))
    var master: String?

    @Option(name: .customLong("redis-cluster"), help: ArgumentHelp(
        "Seed nodes (host:port,...) of a Redis Cluster.", valueName: "list"))
    var cluster: String?

    @Option(name: .customLong("redis-user"), help: ArgumentHelp(
        "ACL user for --redis-sentinel or --redis-cluster (with --redis, put it in the URL).", valueName: "name"))
    var user: String?

    @Option(name: .customLong("redis-password-file"), help: ArgumentHelp(
        "File holding the Redis password; refused when group or others can read it (chmod 600).",
        valueName: "file"))
    var passwordFile: String?

    @Flag(name: .customLong("redis-start-degraded"), help: ArgumentHelp("""
        serve: start even when Redis cannot be reached (serving degraded until it can); without it an unreachable \
        Redis is a start-up error.
        """))
    var startDegraded = false

    static let configKeys = ["redis", "redisSentinel", "redisMaster", "redisCluster", "redisUser", "redisPassword",
                             "redisPasswordFile", "redisStartDegraded"]
    /// How long `serve` waits for Redis to answer before it refuses to start (the client retries
    /// with its backoff meanwhile, so a Redis still starting up is waited for).
    static let startCheckTimeoutMs: UInt64 = 5_000
    /// Where a front finds the password its supervisor passes.
    static let passwordVariable = "SWITCHYARD_REDIS_PASSWORD"

    /// For `serve`: the command line, else the config file; nil without Redis. Checked now so a
    /// typo stops the server before any child starts.
    func settings(config: ConfigFile, log: Log) throws -> RedisSettings? {
        let url = self.url ?? config.string("redis")
        let sentinels = self.sentinels ?? config.string("redisSentinel")
        let master = self.master ?? config.string("redisMaster")
        let cluster = self.cluster ?? config.string("redisCluster")
        let user = self.user ?? config.string("redisUser")
        if self.url != nil, (try? RedisSettings.parse(url: self.url!))?.password != nil {
            log.warning("--redis puts the Redis password on the command line, where every user can read it in "
                        + "process listings; use --redis-password-file FILE or the config file instead")
        }
        if config.readableByOthers, self.url == nil, let u = config.string("redis"),
           (try? RedisSettings.parse(url: u))?.password != nil {
            throw ValidationError("config file \(config.path) holds a secret (the password in 'redis') but other "
                                  + "users can read it; run: chmod 600 \(config.path)")
        }
        let password = try Secret.resolve(option: "redis-password", value: nil, file: passwordFile, config: config,
                                          key: "redisPassword", log: log)
        return try Self.build(url: url, sentinels: sentinels, master: master, cluster: cluster, user: user,
                              password: password)
    }

    /// For `serve`: nil when Redis answers (or is not configured, or the operator chose to start
    /// degraded); else the start-up error, naming the server without its password.
    func startError(_ settings: RedisSettings?, config: ConfigFile) -> String? {
        guard let settings, !(startDegraded || config.bool("redisStartDegraded") == true),
              let why = RedisProbe.unreachable(settings, timeoutMs: Self.startCheckTimeoutMs) else { return nil }
        return "cannot reach Redis (\(settings.redacted)): \(why); check the address, port, password "
            + "and master name, or start with --redis-start-degraded to serve without it until it answers"
    }

    /// For `front`: the arguments, with the password from the environment (removed from it).
    func settings() throws -> RedisSettings? {
        var password: String?
        if let file = passwordFile { password = try Secret.read(file: file, what: "redis password file") }
        if let raw = getenv(Self.passwordVariable) {
            password = password ?? String(cString: raw)
            unsetenv(Self.passwordVariable)
        }
        return try Self.build(url: url, sentinels: sentinels, master: master, cluster: cluster, user: user,
                              password: password)
    }

    private static func build(url: String?, sentinels: String?, master: String?, cluster: String?, user: String?,
                              password: String?) throws -> RedisSettings? {
        let given = [url != nil, sentinels != nil, cluster != nil].filter { $0 }.count
        guard given <= 1 else {
            throw ValidationError("give one of --redis, --redis-sentinel and --redis-cluster")
        }
        if master != nil && sentinels == nil { throw ValidationError("--redis-master goes with --redis-sentinel") }
        if user != nil && url != nil {
            throw ValidationError("--redis-user goes with --redis-sentinel or --redis-cluster; "
                                  + "with --redis, put the user in the URL")
        }
        if given == 0 {
            if user != nil || password != nil {
                throw ValidationError("a Redis user or password is given without --redis, --redis-sentinel "
                                      + "or --redis-cluster")
            }
            return nil
        }
        do {
            if let url {
                var s = try RedisSettings.parse(url: url)
                if let password {
                    guard s.password == nil || s.password == password else {
                        throw ValidationError("the Redis password is given twice (in --redis and as a file or "
                                              + "config key): keep one")
                    }
                    s.password = password
                }
                return s
            }
            if let sentinels {
                guard let master, !master.isEmpty else {
                    throw ValidationError("--redis-sentinel needs --redis-master NAME")
                }
                return try RedisSettings.sentinel(sentinels, master: master, username: user, password: password)
            }
            return try RedisSettings.cluster(cluster!, username: user, password: password)
        } catch let e as ValidationError {
            throw e
        } catch {
            // Never the URL itself: it may hold the password.
            let option = url != nil ? "--redis" : sentinels != nil ? "--redis-sentinel" : "--redis-cluster"
            let form = url != nil ? "redis://[user:password@]host:port[/db]" : "host:port,host:port,..."
            throw ValidationError("\(option): \(error) (expected \(form))")
        }
    }

    /// What `serve` passes to each front: arguments without the password, which goes in the
    /// environment.
    static func front(_ s: RedisSettings?) -> (arguments: [String], environment: [String: String]) {
        guard let s else { return ([], [:]) }
        var argv: [String]
        switch s.topology {
        case .single(let e):
            let user = s.username.map { percentEncoded($0) + "@" } ?? ""
            argv = ["--redis", "redis://\(user)\(hostPort(e))/\(s.database)"]
        case .sentinel(let list, let master):
            argv = ["--redis-sentinel", list.map(hostPort).joined(separator: ","), "--redis-master", master]
            if let u = s.username { argv += ["--redis-user", u] }
        case .cluster(let list):
            argv = ["--redis-cluster", list.map(hostPort).joined(separator: ",")]
            if let u = s.username { argv += ["--redis-user", u] }
        }
        return (argv, s.password.map { [passwordVariable: $0] } ?? [:])
    }

    private static func hostPort(_ e: RedisEndpoint) -> String {
        e.host.contains(":") ? "[\(e.host)]:\(e.port)" : "\(e.host):\(e.port)"
    }

    /// A URL's user part: unreserved characters as they are, the rest percent-encoded.
    private static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) {
                out.append(c)
            } else {
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
