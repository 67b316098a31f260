/// Counters of one `RedisClient` for /metrics (monotonic since `start`).
public struct RedisStats: Sendable, Equatable {
    /// Commands handed to `send`/`eval` (redirected retries not counted again).
    public var commands: UInt64 = 0
    /// Replies delivered as `.error`: the server's and the client's own (DOWN, TIMEOUT...).
    public var errors: UInt64 = 0
    /// Connections (re)established after a failure or a topology change.
    public var reconnects: UInt64 = 0
    /// Connections declared dead because a reply took longer than the command timeout.
    public var timeouts: UInt64 = 0
    /// MOVED and ASK redirections followed (cluster).
    public var redirections: UInt64 = 0
    /// Pub/sub messages received.
    public var messages: UInt64 = 0
    /// Whether the client could serve commands when the counters were read.
    public var isUp = false

    public init() {}
}
