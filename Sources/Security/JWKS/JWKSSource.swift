import MCPCore

/// Where the JWK Set comes from, and its refreshes: a file (read at start, re-read on request)
/// or an https URL (fetched on a background thread). On a token with an unknown `kid` the
/// authenticator asks for a refetch; at most one runs at a time and at most one starts per
/// `refetchInterval`, so a stream of forged `kid`s cannot turn the server into a load
/// generator against the authorization server. The keys in use stay in place until a new set
/// has parsed; a failed fetch changes nothing.
///
/// Thread: any. Results go to `onFetch` on the fetching thread: the front posts them to its
/// loop (a `Mailbox`) and installs a new set there (`BearerAuthentication.install`).
public final class JWKSSource: Sendable {
    public enum Location: Sendable, Equatable, CustomStringConvertible {
        case file(String)
        case https(HTTPSURL)

        /// `https://...` is a URL, anything without a scheme a file path; `http://` and other
        /// schemes are refused (keys fetched in clear could be replaced on the way).
        public init(_ text: String) throws(JWKSFetchError) {
            if let url = HTTPSURL(text) {
                self = .https(url)
            } else if text.contains("://") {
                throw JWKSFetchError("a JWKS URL must be https://host[:port]/path")
            } else {
                guard !text.isEmpty else { throw JWKSFetchError("empty JWKS location") }
                self = .file(text)
            }
        }

        public var description: String {
            switch self {
            case .file(let path): return path
            case .https(let url): return url.description
            }
        }
    }

    public let location: Location
    /// PEM CA certificates for the https server instead of the system store.
    public let caFile: String?
    /// Seconds between two refetches triggered by unknown key ids.
    public let refetchInterval: UInt64
    public let timeoutMs: Int
    private let onFetch: @Sendable (Result<JWKSet, JWKSFetchError>) -> Void

    private struct State {
        var inFlight = false
        var lastStart: UInt64?
    }
    private let state = Locked(State())

    public init(location: Location, caFile: String? = nil, refetchInterval: UInt64 = 30, timeoutMs: Int = 5_000,
                onFetch: @escaping @Sendable (Result<JWKSet, JWKSFetchError>) -> Void) {
        self.location = location
        self.caFile = caFile
        self.refetchInterval = refetchInterval
        self.timeoutMs = timeoutMs
        self.onFetch = onFetch
    }

    /// Fetches and parses the set on the calling thread (start-up, before the loops run).
    public func load() throws(JWKSFetchError) -> JWKSet {
        let bytes: [UInt8]
        switch location {
        case .file(let path):
            do { bytes = try ProtectedFile.readPublic(path, what: "JWKS file") } catch { throw JWKSFetchError(error.description) }
        case .https(let url):
            do { bytes = try HTTPSClient.get(url, caFile: caFile, timeoutMs: timeoutMs) } catch {
                throw JWKSFetchError("\(url): \(error.description)")
            }
        }
        do { return try JWKSet.parse(bytes) } catch { throw JWKSFetchError("\(location): \(error.description)") }
    }

    /// Starts a background fetch because a token named an unknown key, unless one is running
    /// or the last started less than `refetchInterval` seconds before `now` (Unix seconds).
    /// True when a fetch started.
    @discardableResult
    public func refetch(now: UInt64) -> Bool {
        let go = state.withLock { s -> Bool in
            guard !s.inFlight else { return false }
            if let last = s.lastStart, now < last &+ refetchInterval { return false }
            s.inFlight = true
            s.lastStart = now
            return true
        }
        return go && start()
    }

    /// Starts a background fetch now, whatever the interval (an operator's reload); still one
    /// at a time. True when a fetch started.
    @discardableResult
    public func reload() -> Bool {
        let go = state.withLock { s -> Bool in
            guard !s.inFlight else { return false }
            s.inFlight = true
            return true
        }
        return go && start()
    }

    private func start() -> Bool {
        let started = BackgroundThread.run { [self] in
            let result: Result<JWKSet, JWKSFetchError>
            do throws(JWKSFetchError) { result = .success(try load()) } catch { result = .failure(error) }
            state.withLock { $0.inFlight = false }
            onFetch(result)
        }
        if !started { state.withLock { $0.inFlight = false } }
        return started
    }
}

/// Why a JWK Set could not be loaded; names the location, never key material.
public struct JWKSFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
