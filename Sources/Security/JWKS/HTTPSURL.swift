/// An `https://host[:port]/path` URL, parsed by its parts (RFC 3986 authority and path).
/// Nothing else is fetched: no `http`, no user info.
public struct HTTPSURL: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    /// The path and query sent in the request line ("/" when empty).
    public let target: String

    /// Host is an IPv4 or IPv6 literal (checked against the certificate's IP SANs, no SNI).
    public var hostIsAddress: Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber }
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "https://\(h)" + (port == 443 ? "" : ":\(port)") + target
    }

    /// nil unless `text` is an absolute https URL with a host.
    public init?(_ text: String) {
        let scheme = "https://"
        guard text.utf8.count > scheme.utf8.count,
              text.prefix(scheme.count).lowercased() == scheme else { return nil }
        var rest = Substring(text.dropFirst(scheme.count))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains(where: { $0 == " " || $0 == "\t" }) else {
            return nil
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        var port: UInt16 = 443
        if let portText {
            guard let p = UInt16(portText), p > 0 else { return nil }
            port = p
        }
        guard path.allSatisfy({ $0.isASCII && $0 != " " && $0 != "\r" && $0 != "\n" }) else { return nil }
        self.host = String(host).lowercased()
        self.port = port
        self.target = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
    }
}
