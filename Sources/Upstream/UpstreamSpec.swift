import MCPCore

/// One upstream MCP server behind the front (README.md, "Pooling stdio MCP servers"): how to
/// start its copies, how many, and how calls reach them. Parsed from `--upstream NAME=COMMAND`
/// or a config file's `upstreams` member, and handed to its bridge process as JSON in the
/// environment (never in argv: `env` may hold secrets).
public struct UpstreamSpec: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// Every session's calls go to any copy (stateless servers).
        case shared
        /// Each client session gets a copy of its own (stateful servers), at most `pool` at once.
        case perSession = "per-session"
    }

    /// 1-32 of [A-Za-z0-9_-]: it names the bridge executor, its socket and log lines.
    public var name: String
    /// The program and its arguments (empty for a remote upstream).
    public var argv: [String]
    /// A remote upstream's Streamable HTTP endpoint (`http://` or `https://`), else nil.
    public var url: String?
    /// Added to the copies' environment.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// Copies kept running (shared) or the most copies at once (per-session).
    public var pool: Int
    /// Calls one copy runs at once; the rest wait in the bridge's queue.
    public var maxConcurrency: Int
    /// A call not answered this long ends with an error and the copy is checked (ping).
    public var timeoutMs: UInt64
    /// Put before every tool and prompt name of this upstream (verbatim: `gh_` makes `gh_search`).
    public var prefix: String
    public var mode: Mode
    /// Calls that may wait for a copy with room; beyond, -32000.
    public var maxQueued: Int
    /// per-session: a session's copy idle this long is stopped (ms).
    public var idleMs: UInt64
    /// Remote: header fields sent with every request (credentials such as Authorization: never logged).
    public var headers: [String: String] = [:]
    /// Remote https: the CA certificates (PEM) that verify the server, instead of the system's.
    public var caFile: String?
    /// Remote: the era to speak, "2025-11-25" (a session) or "2026-07-28" (stateless); nil: the
    /// newest the server offers.
    public var era: String?

    public init(name: String, argv: [String], url: String? = nil, environment: [String: String] = [:],
                workingDirectory: String? = nil, pool: Int = 1, maxConcurrency: Int = 16, timeoutMs: UInt64 = 60_000,
                prefix: String = "", mode: Mode = .shared, maxQueued: Int = 10_000, idleMs: UInt64 = 300_000) {
        self.name = name; self.argv = argv; self.url = url; self.environment = environment
        self.workingDirectory = workingDirectory; self.pool = pool; self.maxConcurrency = maxConcurrency
        self.timeoutMs = timeoutMs; self.prefix = prefix; self.mode = mode; self.maxQueued = maxQueued
        self.idleMs = idleMs
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    public static func isValidName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count) && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
    }

    /// `NAME=COMMAND ARGS` (run with `/bin/sh -c`, so quoting works as in a shell) or
    /// `NAME=http(s)://HOST/PATH`.
    public static func parse(option: String, pool: Int) throws(Invalid) -> UpstreamSpec {
        guard let eq = option.firstIndex(of: "=") else {
            throw Invalid("--upstream takes NAME=COMMAND or NAME=URL, got '\(option)'")
        }
        let name = String(option[..<eq])
        let command = String(option[option.index(after: eq)...]).trimmingSpaces
        guard isValidName(name) else {
            throw Invalid("upstream name '\(name)' must be 1-32 characters of A-Z a-z 0-9 _ -")
        }
        guard !command.isEmpty else { throw Invalid("upstream '\(name)' has an empty command") }
        var spec = UpstreamSpec(name: name, argv: [], pool: pool)
        if command.hasPrefix("http://") || command.hasPrefix("https://") {
            spec.url = command
        } else {
            spec.argv = ["/bin/sh", "-c", "exec " + command]
        }
        try spec.check()
        return spec
    }

    /// One member of the config file's `upstreams` object: `{"command": "...", "args": [...],
    /// "env": {...}, "cwd": "...", "pool": N, "maxConcurrency": N, "timeoutMs": N, "prefix": "...",
    /// "mode": "shared" | "per-session", "maxQueued": N, "idleMs": N}`, or `{"url": "..."}`.
    public static func parse(name: String, config value: JSONValue, pool defaultPool: Int) throws(Invalid) -> UpstreamSpec {
        let what = "upstream '\(name)'"
        guard isValidName(name) else {
            throw Invalid("upstream name '\(name)' must be 1-32 characters of A-Z a-z 0-9 _ -")
        }
        guard case .object(let o) = value else { throw Invalid("\(what) must be an object") }
        let known: Set<String> = ["command", "args", "env", "cwd", "pool", "maxConcurrency", "timeoutMs", "prefix",
                                  "mode", "url", "maxQueued", "idleMs", "headers", "caFile", "protocol"]
        for k in o.keys where !known.contains(k) { throw Invalid("\(what): unknown key '\(k)'") }
        func int(_ k: String) throws(Invalid) -> Int? {
            guard let v = o[k] else { return nil }
            guard case .number(let n) = v, n == n.rounded(), n >= 0, n < 1e12 else {
                throw Invalid("\(what): '\(k)' must be a whole number")
            }
            return Int(n)
        }
        func string(_ k: String) throws(Invalid) -> String? {
            guard let v = o[k] else { return nil }
            guard case .string(let s) = v else { throw Invalid("\(what): '\(k)' must be a string") }
            return s
        }
        var spec = UpstreamSpec(name: name, argv: [], pool: defaultPool)
        if let url = try string("url") {
            spec.url = url
        } else {
            guard let command = try string("command"), !command.isEmpty else {
                throw Invalid("\(what) needs 'command' (or 'url')")
            }
            var args: [String] = []
            if let a = o["args"] {
                guard case .array(let list) = a else { throw Invalid("\(what): 'args' must be an array of strings") }
                for item in list {
                    guard case .string(let s) = item else { throw Invalid("\(what): 'args' must be an array of strings") }
                    args.append(s)
                }
            }
            spec.argv = [command] + args
        }
        if let e = o["env"] {
            guard case .object(let env) = e else { throw Invalid("\(what): 'env' must be an object of strings") }
            for (k, v) in env {
                guard case .string(let s) = v, !k.isEmpty, !k.contains("=") else {
                    throw Invalid("\(what): 'env' must be an object of strings")
                }
                spec.environment[k] = s
            }
        }
        spec.workingDirectory = try string("cwd")
        if let h = o["headers"] {
            guard case .object(let fields) = h else { throw Invalid("\(what): 'headers' must be an object of strings") }
            for (k, v) in fields {
                guard case .string(let value) = v else { throw Invalid("\(what): 'headers' must be an object of strings") }
                spec.headers[k] = value
            }
        }
        spec.caFile = try string("caFile")
        spec.era = try string("protocol")
        if let p = try int("pool") { spec.pool = p }
        if let m = try int("maxConcurrency") { spec.maxConcurrency = m }
        if let t = try int("timeoutMs") { spec.timeoutMs = UInt64(t) }
        if let p = try string("prefix") { spec.prefix = p }
        if let q = try int("maxQueued") { spec.maxQueued = q }
        if let i = try int("idleMs") { spec.idleMs = UInt64(i) }
        if let m = try string("mode") {
            guard let mode = Mode(rawValue: m) else { throw Invalid("\(what): 'mode' is shared or per-session, got '\(m)'") }
            spec.mode = mode
        }
        try spec.check()
        return spec
    }

    func check() throws(Invalid) {
        let what = "upstream '\(name)'"
        guard (1...64).contains(pool) else { throw Invalid("\(what): pool must be 1...64") }
        guard (1...1024).contains(maxConcurrency) else { throw Invalid("\(what): maxConcurrency must be 1...1024") }
        guard timeoutMs >= 1 else { throw Invalid("\(what): timeoutMs must be at least 1") }
        guard maxQueued >= 0 else { throw Invalid("\(what): maxQueued must not be negative") }
        if let url {
            guard let parsed = RemoteEndpoint(url) else {
                throw Invalid("\(what): '\(RemoteEndpoint.loggable(url))' is not an http:// or https:// URL with a host name "
                              + "or address, an optional port, and a path of printable ASCII without spaces or '#' "
                              + "(percent-encode the rest)")
            }
            guard mode == .shared else { throw Invalid("\(what): a remote upstream is shared (mode per-session needs a command)") }
            try RemoteHeaders.check(headers, what: what)
            if caFile != nil && !parsed.tls { throw Invalid("\(what): 'caFile' needs an https:// URL") }
            if let era, era != "2025-11-25" && era != "2026-07-28" {
                throw Invalid("\(what): 'protocol' is 2025-11-25 or 2026-07-28, got '\(era)'")
            }
        } else if !headers.isEmpty || caFile != nil || era != nil {
            throw Invalid("\(what): 'headers', 'caFile' and 'protocol' are for remote (url) upstreams")
        }
        if !prefix.isEmpty {
            guard prefix.utf8.count <= 32, prefix.utf8.allSatisfy({ c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || c == 0x5F || c == 0x2D || c == 0x2E
            }) else { throw Invalid("\(what): prefix must be up to 32 characters of A-Z a-z 0-9 _ - .") }
        }
    }

    /// What the bridge process reads from `SWITCHYARD_UPSTREAM`.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "argv": .array(argv.map(JSONValue.string)),
            "env": .object(environment.mapValues(JSONValue.string)), "pool": .number(Double(pool)),
            "maxConcurrency": .number(Double(maxConcurrency)), "timeoutMs": .number(Double(timeoutMs)),
            "prefix": .string(prefix), "mode": .string(mode.rawValue), "maxQueued": .number(Double(maxQueued)),
            "idleMs": .number(Double(idleMs)),
        ]
        if let url { o["url"] = .string(url) }
        if !headers.isEmpty { o["headers"] = .object(headers.mapValues(JSONValue.string)) }
        if let caFile { o["caFile"] = .string(caFile) }
        if let era { o["protocol"] = .string(era) }
        if let workingDirectory { o["cwd"] = .string(workingDirectory) }
        return .object(o)
    }

    public static func decode(_ bytes: [UInt8]) throws(Invalid) -> UpstreamSpec {
        guard let v = try? JSONValue.parse(bytes), case .object(let o) = v,
              case .string(let name)? = o["name"], case .array(let argv)? = o["argv"] else {
            throw Invalid("the upstream spec is not valid JSON of the expected shape")
        }
        var spec = UpstreamSpec(name: name, argv: argv.compactMap(\.stringValue))
        spec.url = o["url"]?.stringValue
        if case .object(let env)? = o["env"] { spec.environment = env.compactMapValues(\.stringValue) }
        spec.workingDirectory = o["cwd"]?.stringValue
        // Whole numbers as `parse` allows them (0 up to 1e12): a negative one would trap in UInt64().
        func int(_ k: String, _ d: Int) throws(Invalid) -> Int {
            guard let v = o[k] else { return d }
            guard case .number(let n) = v, let i = Int(exactly: n), (0...1_000_000_000_000).contains(i) else {
                throw Invalid("the upstream spec's '\(k)' must be a whole number in 0...1000000000000")
            }
            return i
        }
        spec.pool = try int("pool", 1)
        spec.maxConcurrency = try int("maxConcurrency", 16)
        spec.timeoutMs = UInt64(try int("timeoutMs", 60_000))
        spec.prefix = o["prefix"]?.stringValue ?? ""
        spec.mode = o["mode"]?.stringValue.flatMap(Mode.init(rawValue:)) ?? .shared
        spec.maxQueued = try int("maxQueued", 10_000)
        spec.idleMs = UInt64(try int("idleMs", 300_000))
        if case .object(let h)? = o["headers"] { spec.headers = h.compactMapValues(\.stringValue) }
        spec.caFile = o["caFile"]?.stringValue
        spec.era = o["protocol"]?.stringValue
        try spec.check()
        return spec
    }
}

extension String {
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

/// An `http://` or `https://` URL split into what a connection needs.
public struct RemoteEndpoint: Sendable, Equatable {
    public var tls: Bool
    public var host: String
    public var port: Int
    /// The path and query, at least `/`.
    public var path: String

    /// `url` without its query or fragment (which may hold a token), for logs and errors;
    /// control characters escaped.
    static func loggable(_ url: String) -> String {
        let cut = url.prefix { $0 != "?" && $0 != "#" }
        return String(cut.unicodeScalars.flatMap { s -> [Character] in
            s.value < 0x20 || s.value == 0x7f ? Array(s.escaped(asASCII: true)) : [Character(s)]
        })
    }

    /// A request target as sent: printable ASCII only (no space, no control character, no
    /// '#'; anything else must be percent-encoded in the URL).
    private static func validTarget(_ path: String) -> Bool {
        path.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") }
    }

    /// A host name (letters, digits, '-', '_', '.') or, within brackets, an IPv6 address.
    private static func validHost(_ host: String, bracketed: Bool) -> Bool {
        host.utf8.allSatisfy { c in
            let alnum = (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a)
            return alnum || c == UInt8(ascii: ".") || (bracketed ? c == UInt8(ascii: ":")
                                                               : c == UInt8(ascii: "-") || c == UInt8(ascii: "_"))
        }
    }

    public init?(_ url: String) {
        let rest: Substring
        if url.hasPrefix("http://") { tls = false; rest = url.dropFirst(7) }
        else if url.hasPrefix("https://") { tls = true; rest = url.dropFirst(8) }
        else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                portText = authority[authority.index(after: colon)...]
                authority = authority[..<colon]
            }
            host = String(authority)
        }
        guard !host.isEmpty, Self.validHost(host, bracketed: authority.hasPrefix("[")),
              Self.validTarget(path) else { return nil }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            port = tls ? 443 : 80
        }
    }
}
