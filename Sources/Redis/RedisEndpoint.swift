/// One Redis server address: a host name or IP literal and a TCP port.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 literal in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `host:port`, `[v6]:port`, or (with `defaultPort`) a bare host.
    public static func parse(_ text: String, defaultPort: Int? = nil) throws(RedisSettingsError) -> RedisEndpoint {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw RedisSettingsError("empty address (expected host:port)") }
        var host: Substring
        var portText: Substring?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw RedisSettingsError("address '\(trimmed)': '[' without ']'")
            }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw RedisSettingsError("address '\(trimmed)': expected ':' after ']'") }
                portText = rest.dropFirst()
            }
        } else if let colon = trimmed.lastIndex(of: ":") {
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            if host.contains(":") {
                throw RedisSettingsError("address '\(trimmed)': write an IPv6 address in brackets, [addr]:port")
            }
        } else {
            host = Substring(trimmed)
        }
        guard !host.isEmpty else { throw RedisSettingsError("address '\(trimmed)': no host") }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || ".-_:%".contains($0) }) else {
            throw RedisSettingsError("address '\(trimmed)': invalid character in host")
        }
        let port: Int
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw RedisSettingsError("address '\(trimmed)': port must be 1-65535")
            }
            port = p
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw RedisSettingsError("address '\(trimmed)': no port (expected host:port)")
        }
        return RedisEndpoint(host: String(host), port: port)
    }

    /// A comma-separated list of `host:port`, duplicates refused.
    static func parseList(_ list: String, what: String) throws(RedisSettingsError) -> [RedisEndpoint] {
        let items = list.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        guard !items.isEmpty, !items.allSatisfy(\.isEmpty) else {
            throw RedisSettingsError("\(what): empty list (expected host:port,host:port,...)")
        }
        var endpoints: [RedisEndpoint] = []
        for item in items {
            guard !item.isEmpty else { throw RedisSettingsError("\(what): empty entry in '\(list)'") }
            let endpoint: RedisEndpoint
            do throws(RedisSettingsError) { endpoint = try parse(item) } catch { throw RedisSettingsError("\(what): \(error.message)") }
            guard !endpoints.contains(endpoint) else { throw RedisSettingsError("\(what): \(endpoint) listed twice") }
            endpoints.append(endpoint)
        }
        return endpoints
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
