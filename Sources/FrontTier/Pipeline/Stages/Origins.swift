import Glibc

/// Loopback checks for DNS-rebinding protection.
func isLoopbackHost(_ host: String) -> Bool {
    if host == "localhost" || host == "::1" { return true }
    // 127.0.0.0/8 as an IPv4 literal only: "127.0.0.1.attacker.example" is a DNS name.
    return host.hasPrefix("127.") && host.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }
}

/// `isLoopbackAuthority` of a Host header's bytes. The usual values (127.x.y.z, localhost,
/// [::1], with or without a port) are matched on the bytes; anything else takes the String path.
func isLoopbackAuthority(bytes b: UnsafeRawBufferPointer) -> Bool {
    func portOnly(from k: Int) -> Bool {
        guard k < b.count else { return true }
        guard b[k] == UInt8(ascii: ":"), k + 1 < b.count else { return false }
        return b[(k + 1)...].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
    func hasPrefix(_ p: StaticString) -> Bool {
        b.count >= p.utf8CodeUnitCount && memcmpEqual(b.baseAddress!, p.utf8Start, p.utf8CodeUnitCount)
    }
    if hasPrefix("127.") {
        var k = 4
        while k < b.count, (b[k] >= 0x30 && b[k] <= 0x39) || b[k] == UInt8(ascii: ".") { k += 1 }
        if portOnly(from: k) { return true }
    } else if hasPrefix("localhost") {
        if portOnly(from: 9) { return true }
    } else if hasPrefix("[::1]") {
        if portOnly(from: 5) { return true }
    }
    return isLoopbackAuthority(String(decoding: b, as: UTF8.self))
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
