/// What happens to a session that every front must know: it ended (DELETE), its log level
/// (logging/setLevel), its resource subscriptions (resources/subscribe and unsubscribe).
enum SessionEvent: Equatable {
    case revoked(String)
    case level(String, String)
    /// `uri` as `String.replacingSpacesAndNewlines` escapes it (one field of a line).
    case subscription(String, uri: String, on: Bool)
}

/// A way session events reach other fronts: the run directory between the fronts of one host
/// (`SessionRevocations`), Redis between hosts (`SharedRevocationsRedis`). `SessionTokens`
/// publishes through every sharing it holds and applies what each delivers.
/// Thread: the loop thread.
protocol SessionEventSharing: AnyObject {
    /// Where events made elsewhere go; set once by `SessionTokens`.
    var deliver: ((SessionEvent) -> Void)? { get set }
    /// Shares an event made on this front; `applied` runs once every front this sharing reaches
    /// has applied it (at once for the run directory; for Redis, when every live front of every
    /// host acknowledged, or a bound passed): the request that made it is answered then.
    func publish(_ event: SessionEvent, applied: @escaping () -> Void)
    /// Picks up events made elsewhere since the last look; called before a session is trusted,
    /// so it must be cheap when nothing changed.
    func refresh()
}
