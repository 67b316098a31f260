import Glibc

/// What the server accepts as credentials: JWT access tokens from one authorization server
/// (issuer, audience, keys from a JWKS and/or an HMAC shared secret), API keys from a keys file,
/// or both. Built from the command line / config file; the validating initializer's errors
/// name the option and the problem, and never contain a secret.
public struct AuthConfiguration: Sendable {
    public struct JWTSettings: Sendable {
        /// The exact `iss` required.
        public let issuer: String
        /// The value `aud` must be or contain (this server's resource URL).
        public let audience: String
        /// Where the verification keys come from; nil with an HMAC secret alone.
        public let jwks: JWKSSource.Location?
        public let jwksCAFile: String?
        /// The HMAC key for HS256/384/512, read from a private file.
        let sharedSecret: SharedSecret?
        public let clockSkew: UInt64
        public let refetchInterval: UInt64

        public var acceptsHMAC: Bool { sharedSecret != nil }
    }

    public let jwt: JWTSettings?
    public let apiKeysFile: String?

    public static let defaultClockSkew: UInt64 = 60
    /// A larger skew would let a token outlive its `exp` by more than five minutes.
    public static let maxClockSkew: UInt64 = 300
    public static let defaultRefetchInterval: UInt64 = 30
    /// RFC 7518 §3.2: an HMAC key at least as long as the hash (HS256).
    public static let minimumSecretLength = 32

    /// - Parameters:
    ///   - jwks: a file path or an `https://` URL.
    ///   - sharedSecretFile: a file (mode 0600) holding the HMAC secret; the secret itself is
    ///     never taken from the command line.
    public init(issuer: String? = nil, audience: String? = nil, jwks: String? = nil, jwksCAFile: String? = nil,
                sharedSecretFile: String? = nil, clockSkew: UInt64 = defaultClockSkew, apiKeysFile: String? = nil,
                jwksRefetchInterval: UInt64 = defaultRefetchInterval) throws(AuthConfigurationError) {
        let anyJWT = issuer != nil || audience != nil || jwks != nil || jwksCAFile != nil || sharedSecretFile != nil
        guard anyJWT || apiKeysFile != nil else {
            throw AuthConfigurationError("auth", "give --auth-issuer, --auth-audience and --auth-jwks, or --api-keys, or both")
        }
        if let apiKeysFile {
            do { _ = try APIKeysFile.load(apiKeysFile) } catch { throw AuthConfigurationError("api-keys", error.description) }
        }
        self.apiKeysFile = apiKeysFile
        guard anyJWT else {
            jwt = nil
            return
        }
        guard let issuer, Self.isPlainValue(issuer) else {
            throw AuthConfigurationError("auth-issuer", issuer == nil ? "required with JWT authentication"
                                         : "must be a non-empty URL without spaces")
        }
        guard let audience, Self.isPlainValue(audience) else {
            throw AuthConfigurationError("auth-audience", audience == nil ? "required with JWT authentication"
                                         : "must be a non-empty URL without spaces")
        }
        guard jwks != nil || sharedSecretFile != nil else {
            throw AuthConfigurationError("auth-jwks", "required (a file or an https URL) unless a shared secret is given")
        }
        var location: JWKSSource.Location?
        if let jwks {
            do { location = try JWKSSource.Location(jwks) } catch { throw AuthConfigurationError("auth-jwks", error.description) }
        }
        if let jwksCAFile {
            guard case .https? = location else {
                throw AuthConfigurationError("auth-jwks-ca-file", "only applies to an https --auth-jwks")
            }
            guard access(jwksCAFile, R_OK) == 0 else {
                throw AuthConfigurationError("auth-jwks-ca-file", "cannot read \(jwksCAFile)")
            }
        }
        var secret: SharedSecret?
        if let sharedSecretFile {
            let bytes: [UInt8]
            do { bytes = try ProtectedFile.read(sharedSecretFile, what: "shared secret file") } catch {
                throw AuthConfigurationError("auth-shared-secret-file", error.description)
            }
            let isSpace: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) }
            let trimmed = Array(bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
            guard trimmed.count >= Self.minimumSecretLength else {
                throw AuthConfigurationError("auth-shared-secret-file",
                                             "the secret must be at least \(Self.minimumSecretLength) bytes")
            }
            secret = SharedSecret(trimmed)
        }
        guard clockSkew <= Self.maxClockSkew else {
            throw AuthConfigurationError("auth-clock-skew", "at most \(Self.maxClockSkew) seconds, got \(clockSkew)")
        }
        guard (1...86_400).contains(jwksRefetchInterval) else {
            throw AuthConfigurationError("auth-jwks-refetch-interval", "between 1 and 86400 seconds, got \(jwksRefetchInterval)")
        }
        jwt = JWTSettings(issuer: issuer, audience: audience, jwks: location, jwksCAFile: jwksCAFile,
                          sharedSecret: secret, clockSkew: clockSkew, refetchInterval: jwksRefetchInterval)
    }

    static func isPlainValue(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
    }
}

/// A configuration refused: `--option: problem`.
public struct AuthConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The option without dashes, e.g. "auth-jwks".
    public let option: String
    public let problem: String

    init(_ option: String, _ problem: String) {
        self.option = option
        self.problem = problem
    }

    public var description: String { "--\(option): \(problem)" }
}
