import Glibc

/// Loopback checks for DNS-rebinding protection.
func isLoopbackHost(_ host: String) -> Bool {
    host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
}

/// `host[:port]` or `[v6][:port]` naming this machine.
func isLoopbackAuthority(_ authority: String) -> Bool {
    var host = Substring(authority.lowercased())
    if host.hasPrefix("[") {
        guard let end = host.firstIndex(of: "]") else { return false }
        host = host[host.index(after: host.startIndex)..<end]
    } else if let colon = host.lastIndex(of: ":") {
        host = host[..<colon]
    }
    return isLoopbackHost(String(host))
}

/// `scheme://host[:port]` with a loopback host.
func isLoopbackURL(_ origin: String) -> Bool {
    let lower = origin.lowercased()
    let parts = lower.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
    // "scheme:", "", "authority", rest
    guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty else { return false }
    var rest = parts[2]
    if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
    return isLoopbackAuthority(String(rest))
}

func getpidValue() -> Int32 { getpid() }
