import COpenSSL

/// Who is calling: the identity an authenticated request carries through the pipeline to
/// policy, rate limits, the audit log and (as the call context's `principal`) the tools.
/// Built by the authenticators (JWT bearer tokens, API keys, client certificates); never holds
/// the credential itself, so it can be logged and passed to executors as it is.
public struct Principal: Sendable, Equatable, Hashable {
    /// How the identity was established (the audit log's `auth` field).
    public enum Method: String, Sendable, CaseIterable {
        /// A JWT access token from the configured authorization server.
        case oauth
        /// An API key from the keys file.
        case apiKey = "api-key"
        /// A verified TLS client certificate (its subject).
        case clientCertificate = "client-certificate"
        /// No credentials, where the server allows that (auth off).
        case anonymous
    }

    /// The token's `sub`, the key's name, or the certificate's subject.
    public let subject: String
    /// The OAuth client (`client_id` or `azp`), when the token names one.
    public let clientId: String?
    /// Granted scopes, deduplicated, in the order granted.
    public let scopes: [String]
    public let method: Method
    /// Unix seconds after which the credential no longer holds (nil: no expiry, e.g. API keys).
    public let expiresAt: UInt64?
    /// 64 bits of SHA-256 over `bindingKey` (0 for the anonymous caller): what a session id
    /// carries to name its owner. Finding another principal with the same digest takes about
    /// 2^64 hashes, and session ids are MACed, so an owner cannot be rewritten.
    public let bindingDigest: UInt64

    public init(subject: String, clientId: String? = nil, scopes: [String] = [], method: Method,
                expiresAt: UInt64? = nil) {
        self.subject = subject
        self.clientId = clientId
        var seen = Set<String>()
        self.scopes = scopes.filter { seen.insert($0).inserted }
        self.method = method
        self.expiresAt = expiresAt
        bindingDigest = method == .anonymous ? 0 : Principal.digest(method.rawValue + "\u{0}" + subject)
    }

    private static func digest(_ key: String) -> UInt64 {
        var md = [UInt8](repeating: 0, count: 32)
        var k = key
        k.withUTF8 { _ = SHA256($0.baseAddress, $0.count, &md) }
        let d = md.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return d == 0 ? 1 : d // 0 stays the anonymous caller's
    }

    /// The anonymous caller (authentication off).
    public static let anonymous = Principal(subject: "", method: .anonymous)

    public var isAnonymous: Bool { method == .anonymous }

    /// Whether every scope in `needed` was granted.
    public func has(scopes needed: [String]) -> Bool {
        needed.allSatisfy { scopes.contains($0) }
    }

    /// The identity a session is bound to: a session made by one principal is refused to any
    /// other. Method and subject (not scopes, which a step-up may widen; not client id, which
    /// an API key lacks).
    public var bindingKey: String { method.rawValue + "\u{0}" + subject }
}
