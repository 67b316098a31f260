/// What another host knows of a session's last use.
enum SharedLastUse: Equatable {
    /// Some host used it this many seconds ago (the newest use recorded).
    case secondsAgo(UInt64)
    /// No host recorded a use within the idle timeout.
    case none
    /// The shared record could not answer (Redis away or answering errors).
    case unknown
}

/// Uses of sessions across hosts (Redis: `SharedActivityRedis`), so the idle timeout counts
/// every host's uses: each front tells of the sessions it saw used (`SessionActivityOutbox`,
/// flushed on a timer: never per request), and a front that would expire a session from its
/// own uses asks first.
/// Thread: the loop thread.
protocol SessionActivitySharing: AnyObject {
    /// Asking can answer now (Redis connected); else the front decides from its own uses.
    var canAsk: Bool { get }
    /// When the sessions `keys` (`SessionActivity.key`) were last used on any host, in order.
    func lastUse(_ keys: [UInt64], _ done: @escaping ([SharedLastUse]) -> Void)
    /// Seconds a refusal confirmed by asking stands before it is asked again (a use on another
    /// host reaches the record within a flush interval).
    var recheckAfter: UInt64 { get }
    /// A session idle here was refused without asking (Redis away or not answering): the
    /// sharing says so in the log, once per outage.
    func decidedLocally()
}
