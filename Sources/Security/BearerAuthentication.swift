import Synchronization
import MCPCore

/// The server's bearer authenticator: API keys (recognised by their `sy_` prefix) through the
/// keys file; anything else as a JWT, first through the cache of verified tokens, then the full
/// verification against the current JWK Set. An unknown `kid` fails the request with
/// `invalid_token` and starts a rate-limited JWKS refetch; the client's retry finds the key.
///
/// Thread: any. The key set and the caches are behind locks; a new key set may be installed
/// from any thread, and replaces the old one whole.
public final class BearerAuthentication: BearerAuthenticator, Sendable {
    public let configuration: AuthConfiguration
    /// The JWKS location, for reloads on request (`reload()`); nil without a JWKS.
    public let jwksSource: JWKSSource?
    public let apiKeys: APIKeyStore?
    public let cache: TokenCache
    let verifier: JWTVerifier?
    private let keys: KeyRing

    /// The current key set, swapped whole. Shared with the default fetch callback, which must
    /// not capture the authenticator before it is initialized.
    private final class KeyRing: Sendable {
        let current = Locked(JWKSet.empty)
        /// Counts key sets installed and API key reloads (`BearerAuthenticator.generation`).
        let generation = Atomic<UInt64>(0)
    }

    /// Loads the API keys file and a JWKS file now (errors name the option); an https JWKS is
    /// fetched in the background at once, and until it lands JWTs fail with "unknown key id".
    ///
    /// - Parameter onJWKSFetch: gets every fetch result on the fetching thread; it must call
    ///   `install(_:)` with a new set (e.g. after posting it to the loop's mailbox) and may log
    ///   failures. When nil, a new set is installed directly, and `report` (when given) hears of
    ///   each fetch: what was installed, or why nothing was (for the log).
    public init(configuration: AuthConfiguration, cacheCapacity: Int = 100_000,
                onJWKSFetch: (@Sendable (Result<JWKSet, JWKSFetchError>) -> Void)? = nil,
                report: (@Sendable (Result<JWKSet, JWKSFetchError>) -> Void)? = nil) throws(AuthConfigurationError) {
        self.configuration = configuration
        let ring = KeyRing()
        keys = ring
        if let path = configuration.apiKeysFile {
            do { apiKeys = try APIKeyStore(path: path) } catch { throw AuthConfigurationError("api-keys", error.description) }
        } else {
            apiKeys = nil
        }
        guard let jwt = configuration.jwt else {
            verifier = nil
            jwksSource = nil
            cache = TokenCache(capacity: cacheCapacity)
            return
        }
        verifier = JWTVerifier(issuer: jwt.issuer, audience: jwt.audience, clockSkew: jwt.clockSkew,
                               sharedSecret: jwt.sharedSecret)
        let tokenCache = TokenCache(capacity: cacheCapacity, clockSkew: jwt.clockSkew)
        cache = tokenCache
        guard let location = jwt.jwks else {
            jwksSource = nil
            return
        }
        let deliver = onJWKSFetch ?? { result in
            report?(result)
            if case .success(let set) = result {
                ring.current.withLock { $0 = set }
                tokenCache.removeAll()
                ring.generation.add(1, ordering: .releasing)
            }
        }
        let source = JWKSSource(location: location, caFile: jwt.jwksCAFile, refetchInterval: jwt.refetchInterval,
                                onFetch: deliver)
        jwksSource = source
        switch location {
        case .file:
            let set: JWKSet
            do { set = try source.load() } catch { throw AuthConfigurationError("auth-jwks", error.description) }
            ring.current.withLock { $0 = set }
        case .https:
            source.reload()
        }
    }

    /// Replaces the key set (a fetch result). Cached tokens are dropped: a key withdrawn from
    /// the set must stop vouching for tokens at once; the rest are verified again once.
    public func install(_ set: JWKSet) {
        keys.current.withLock { $0 = set }
        cache.removeAll()
        keys.generation.add(1, ordering: .releasing)
    }

    public var generation: UInt64 { keys.generation.load(ordering: .acquiring) }

    /// Reloads the API keys file when it changed; a file that became unreadable keeps the keys
    /// in use (the next change is picked up).
    public func refresh() -> String? {
        do {
            if try reloadAPIKeys() { keys.generation.add(1, ordering: .releasing) }
            return nil
        } catch {
            return error.description
        }
    }

    /// The key set in use.
    public var currentKeys: JWKSet { keys.current.withLock { $0 } }

    public func authenticate(bearer token: String, now: UInt64) -> Result<Principal, AuthFailure> {
        guard !token.isEmpty else { return .failure(AuthFailure(.invalidToken, "empty token")) }
        if APIKey.isKeyShaped(token) {
            guard let apiKeys else { return .failure(AuthFailure(.invalidToken, "api keys not accepted")) }
            return apiKeys.authenticate(token)
        }
        guard let verifier else { return .failure(AuthFailure(.invalidToken, "access tokens not accepted")) }
        if let principal = cache.principal(for: token, now: now) { return .success(principal) }
        switch verifier.verify(token, keys: currentKeys, now: now) {
        case .success(let principal):
            cache.insert(token, principal: principal, now: now)
            return .success(principal)
        case .failure(let rejection):
            if rejection == .unknownKeyID { jwksSource?.refetch(now: now) }
            return .failure(rejection.failure)
        }
    }

    /// Re-reads the API keys file if it changed (new or revoked keys); true when it did.
    @discardableResult
    public func reloadAPIKeys() throws(ProtectedFile.Problem) -> Bool {
        try apiKeys?.reloadIfChanged() ?? false
    }
}
