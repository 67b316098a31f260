import Glibc

/// The balancers whose `X-Forwarded-For` a front believes (`--trusted-proxy CIDR`, repeatable).
///
/// Behind a balancer every connection comes from the balancer, so anonymous rate limits, the
/// throttle of failed credentials and the audit log would see one address for every client. For a
/// connection from a trusted proxy, a request's source is the rightmost address of its last
/// `X-Forwarded-For` that is not itself a trusted proxy (entries further left were written by
/// whoever sent the request and prove nothing). Connections from anywhere else keep their peer
/// address, whatever header they send. Trusted proxies are also exempt from
/// `--max-conns-per-address`: one balancer carries many clients.
public struct TrustedProxies: Sendable, Equatable {
    struct Network: Sendable, Equatable {
        var bytes: [UInt8]          // 4 (IPv4) or 16 (IPv6) bytes
        var prefix: Int
    }
    private(set) var networks: [Network] = []

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init() {}

    /// `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or `addr/n` for IPv6.
    public init(cidrs: [String]) throws {
        for text in cidrs {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let bytes = Self.address(String(parts[0])) else {
                throw ParseError(description: "--trusted-proxy '\(text)': not an IP address or CIDR block")
            }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let n = Int(parts[1]), n >= 0, n <= bytes.count * 8 else {
                    throw ParseError(description: "--trusted-proxy '\(text)': the prefix length must be 0...\(bytes.count * 8)")
                }
                prefix = n
            }
            networks.append(Network(bytes: bytes, prefix: prefix))
        }
    }

    public var isEmpty: Bool { networks.isEmpty }

    /// Is `address` (text, as getpeername gives it) inside one of the networks?
    func contains(_ address: String) -> Bool {
        guard !networks.isEmpty, let bytes = Self.address(address) else { return false }
        return networks.contains { Self.matches(bytes, $0) }
    }

    /// The source of a request that arrived on a connection from `peer`, given the value of its
    /// last `X-Forwarded-For` (nil when absent).
    func source(peer: String?, forwardedFor: UnsafeRawBufferPointer?) -> String? {
        guard let peer, let forwardedFor, contains(peer) else { return peer }
        let entries = String(decoding: forwardedFor, as: UTF8.self).split(separator: ",")
        for entry in entries.reversed() {
            let candidate = Self.stripPort(entry.trimmingCharacters(in: " \t"))
            guard Self.address(candidate) != nil else { return peer }   // garbage: believe nobody
            if !contains(candidate) { return candidate }
        }
        return peer
    }

    private static func matches(_ bytes: [UInt8], _ n: Network) -> Bool {
        guard bytes.count == n.bytes.count else { return false }
        var bits = n.prefix, i = 0
        while bits >= 8 {
            if bytes[i] != n.bytes[i] { return false }
            bits -= 8; i += 1
        }
        if bits == 0 { return true }
        let mask = UInt8(0xFF) << (8 - bits)
        return bytes[i] & mask == n.bytes[i] & mask
    }

    /// 4 or 16 bytes, or nil when the text is not an address. An IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.1`, how a dual-stack socket shows an IPv4 peer) is its 4 IPv4 bytes.
    static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Array(bytes[12..<16])
            }
            return bytes
        }
        return nil
    }

    /// `1.2.3.4:5678` → `1.2.3.4`; `[::1]:80` → `::1` (some proxies write ports).
    private static func stripPort(_ s: String) -> String {
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            return String(s[s.index(after: s.startIndex)..<close])
        }
        if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":") { return String(s[..<colon]) }
        return s
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
