/// Timeouts and limits of a `RedisClient` (all in milliseconds). The defaults suit a front:
/// a caller waits at most `commandTimeout` for any reply.
public struct RedisOptions: Sendable, Equatable {
    /// From the connect call to the end of the handshake (AUTH, SELECT, PING or ROLE).
    public var connectTimeout: UInt64 = 2000
    /// The oldest reply a connection waits for before it is declared dead: its pending replies
    /// fail and it reconnects.
    public var commandTimeout: UInt64 = 2000
    /// Reconnection backoff: first delay and ceiling.
    public var reconnectBase: UInt64 = 50
    public var reconnectCap: UInt64 = 2000
    /// MOVED/ASK redirections followed for one command before it fails.
    public var maxRedirections = 5
    /// Replies awaited on one connection beyond which a command is refused (`BUSY ...`) rather
    /// than queued: a Redis that answers, slowly, cannot make a front's memory grow without bound.
    public var maxPending = 100_000

    public init() {}
}
