import ArgumentParser

/// The options of `serve` that only HTTP has: the listener, the fronts, sessions carried by a
/// header, streams, origins, balancers, the access log. `stdio` parses them too (hidden) only
/// to refuse them by name (`given`), and refuses their config keys (`configKeys`).
struct HTTPServeOptions: ParsableArguments {
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "TCP port (shared by all fronts with SO_REUSEPORT).") var port: Int?
    @Option(help: "Number of front processes (default: 2).") var fronts: Int?
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
    @Flag(help: "Answer with an SSE stream whenever the client accepts one.") var preferSSE = false
    @Option(help: "Close keep-alive connections idle this many seconds (default: 60).") var idleTimeout: Int?
    @Option(help: "A request head must be complete this many ms after its first byte, else 408 (default: 10000).")
    var headTimeout: Int?
    @Option(help: "After 5 s, a request body must arrive at least this many bytes/s, else 408 (default: 1024).")
    var bodyMinRate: Int?
    @Option(help: "Connections one source address may hold at once, per front; 0 = no cap (default).")
    var maxConnsPerAddress: Int?
    @Option(help: "Admin listener HOST:PORT for /metrics, /status, /healthz, /readyz (keeps them off the main port).")
    var admin: String?
    @Option(help: "A session silent this many seconds is over, on every front (default: 3600; 0 = never).")
    var sessionIdleTimeout: Int?
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

    /// The config file's keys for these options (and TLS's).
    static let configKeys = ["host", "port", "fronts", "sessionKey", "sessionKeyFile", "preferSSE", "idleTimeout",
                             "headTimeout", "bodyMinRate", "maxConnsPerAddress", "admin", "sessionIdleTimeout",
                             "eventStoreSize", "eventStoreAge", "allowOrigins", "trustedProxies", "accessLog",
                             "tlsCert", "tlsKey", "tlsClientCa", "tlsMinVersion"]

    /// The options given on the command line, as `--name`.
    var given: [String] {
        var out: [String] = []
        func note(_ set: Bool, _ name: String) { if set { out.append("--" + name) } }
        note(host != nil, "host")
        note(port != nil, "port")
        note(fronts != nil, "fronts")
        note(sessionKey != nil, "session-key")
        note(sessionKeyFile != nil, "session-key-file")
        note(preferSSE, "prefer-sse")
        note(idleTimeout != nil, "idle-timeout")
        note(headTimeout != nil, "head-timeout")
        note(bodyMinRate != nil, "body-min-rate")
        note(maxConnsPerAddress != nil, "max-conns-per-address")
        note(admin != nil, "admin")
        note(sessionIdleTimeout != nil, "session-idle-timeout")
        note(eventStoreSize != nil, "event-store-size")
        note(eventStoreAge != nil, "event-store-age")
        note(!allowOrigin.isEmpty, "allow-origin")
        note(!trustedProxy.isEmpty, "trusted-proxy")
        note(accessLog != nil, "access-log")
        return out
    }
}
