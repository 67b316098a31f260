/// Where Redis is and how to log in: one server, a Sentinel-managed master, or a Cluster.
public struct RedisSettings: Sendable, Equatable {
    public enum Topology: Sendable, Equatable {
        case single(RedisEndpoint)
        /// Sentinels to ask for the address of the master named `master`.
        case sentinel([RedisEndpoint], master: String)
        /// Seed nodes: any of them gives the slot map.
        case cluster([RedisEndpoint])
    }

    public var topology: Topology
    /// Redis 6 ACL user (AUTH username password); nil: the `default` user (AUTH password).
    public var username: String?
    /// A secret: never logged, never in an error message or in the argv of a child.
    public var password: String?
    /// SELECT on every (re)connection; single and sentinel only (a cluster has database 0).
    public var database: Int

    public static let defaultPort = 6379

    public init(topology: Topology, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.topology = topology
        self.username = username
        self.password = password
        self.database = database
    }

    /// `redis://[user:password@]host[:port][/db]`; `redis://:password@host` logs in as the default
    /// user. User and password are percent-decoded.
    public static func parse(url: String) throws(RedisSettingsError) -> RedisSettings {
        let text = url.trimmingSpaces
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw RedisSettingsError("Redis URL: expected redis://[user:password@]host:port[/db]")
        }
        let scheme = parts[0].lowercased()
        if scheme == "rediss" { throw RedisSettingsError("Redis URL: TLS (rediss://) is not supported") }
        guard scheme == "redis" else { throw RedisSettingsError("Redis URL: unknown scheme '\(scheme)' (expected redis://)") }
        var rest = parts[1]
        guard !rest.contains("?"), !rest.contains("#") else {
            throw RedisSettingsError("Redis URL: query strings and fragments are not supported")
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userinfo.firstIndex(of: ":") else {
                throw RedisSettingsError("Redis URL: credentials must be user:password@ or :password@")
            }
            let user = try percentDecoded(userinfo[..<colon], what: "user name")
            let secret = try percentDecoded(userinfo[userinfo.index(after: colon)...], what: "password")
            guard !secret.isEmpty else { throw RedisSettingsError("Redis URL: empty password") }
            username = user.isEmpty ? nil : user
            password = secret
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0, db <= 1_000_000 else {
                    throw RedisSettingsError("Redis URL: database '\(dbText)' is not a number >= 0")
                }
                database = db
            }
        }
        let endpoint: RedisEndpoint
        do throws(RedisSettingsError) { endpoint = try RedisEndpoint.parse(String(rest), defaultPort: defaultPort) } catch {
            throw RedisSettingsError("Redis URL: \(error.message)")
        }
        return RedisSettings(topology: .single(endpoint), username: username, password: password, database: database)
    }

    /// `--redis-sentinel host:port,... --redis-master NAME`.
    public static func sentinel(_ list: String, master: String, username: String?, password: String?) throws(RedisSettingsError) -> RedisSettings {
        let sentinels = try RedisEndpoint.parseList(list, what: "Redis Sentinel list")
        let name = master.trimmingSpaces
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw RedisSettingsError("Redis Sentinel: the master name must be a non-empty word (--redis-master)")
        }
        return RedisSettings(topology: .sentinel(sentinels, master: name), username: nonEmpty(username),
                             password: nonEmpty(password), database: 0)
    }

    /// `--redis-cluster host:port,...` (seed nodes).
    public static func cluster(_ list: String, username: String?, password: String?) throws(RedisSettingsError) -> RedisSettings {
        let seeds = try RedisEndpoint.parseList(list, what: "Redis Cluster list")
        return RedisSettings(topology: .cluster(seeds), username: nonEmpty(username), password: nonEmpty(password), database: 0)
    }

    /// Text without the password, for logs and /status.
    public var redacted: String {
        var login = ""
        if let username { login = password == nil ? " user \(username)" : " user \(username) with password" }
        else if password != nil { login = " with password" }
        switch topology {
        case .single(let endpoint):
            let auth = password == nil ? "" : "\(username.map(percentEncoded) ?? ""):***@"
            return "redis://\(auth)\(endpoint)/\(database)"
        case .sentinel(let sentinels, let master):
            let db = database == 0 ? "" : " db \(database)"
            return "sentinel master \(master) via \(sentinels.map(\.description).joined(separator: ","))\(db)\(login)"
        case .cluster(let seeds):
            return "cluster seeds \(seeds.map(\.description).joined(separator: ","))\(login)"
        }
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(RedisSettingsError) -> String {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let hi = hexValue(bytes[bytes.startIndex]), let lo = hexValue(bytes[bytes.startIndex + 1]) else {
                throw RedisSettingsError("Redis URL: bad percent escape in the \(what)")
            }
            out.append(hi << 4 | lo)
            bytes = bytes.dropFirst(2)
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            throw RedisSettingsError("Redis URL: the \(what) is not UTF-8")
        }
        return s
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

private func percentEncoded(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        let c = Character(Unicode.Scalar(b))
        if b < 0x80, c.isLetter || c.isNumber || "-._~".contains(c) { out.append(c) }
        else { out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2) }
    }
    return out
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
