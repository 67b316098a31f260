import Glibc
import Metrics

/// Admission of client connections under descriptor pressure, as nginx and HAProxy do it:
/// accepting never stalls (libuv accepts and closes with a reserved descriptor when none is
/// left); past a soft limit (the descriptor limit less a reserve) the front evicts connections
/// that never sent a byte, then idle keep-alive ones, oldest first, never one with a request in
/// flight or an open SSE stream; a source address may hold at most `perAddress` connections.
/// Refusals and evictions are counted (`switchyard_connections_closed_total`) and logged, at most
/// once a second each. Thread: the loop thread.
final class ConnectionAdmission {
    /// Connections allowed before evicting: the soft descriptor limit less the reserve.
    let softLimit: Int
    let perAddress: Int
    private var byAddress: [String: Int] = [:]
    private let closed = Metrics.family(.connectionsClosedTotal)
    private var lastWarning: [CloseReason: UInt64] = [:]
    private var unreported: [CloseReason: Int] = [:]

    init(options: FrontOptions) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let soft = limit.rlim_cur > 1 << 24 ? 1 << 24 : Int(limit.rlim_cur) // "unlimited" is a huge number
        softLimit = max(16, soft - options.descriptorReserve)
        perAddress = options.maxConnectionsPerAddress
    }

    /// Takes a new connection from `address`; false when the address is over its cap.
    func admit(address: String?) -> Bool {
        guard perAddress > 0, let address else { return true }
        let n = byAddress[address, default: 0]
        guard n < perAddress else { return false }
        byAddress[address] = n + 1
        return true
    }

    /// The connection from `address` is gone.
    func release(address: String?) {
        guard perAddress > 0, let address, let n = byAddress[address] else { return }
        if n <= 1 { byAddress[address] = nil } else { byAddress[address] = n - 1 }
    }

    /// How many connections to evict now, holding `open` of them: none below the soft limit,
    /// then a batch (1% of the limit, at least 8), so a flood does not cost a scan per accept.
    func evictionsNeeded(open: Int) -> Int {
        open < softLimit ? 0 : max(8, softLimit / 100) + (open - softLimit)
    }

    /// The evictable connections to close, in order: never sent a byte (oldest accepted first),
    /// then idle keep-alive (longest idle first).
    func victims(_ connections: some Sequence<HTTPConnection>, count: Int) -> [HTTPConnection] {
        guard count > 0 else { return [] }
        var silent: [HTTPConnection] = [], idle: [HTTPConnection] = []
        for c in connections where c.isEvictable {
            if c.receivedAny { idle.append(c) } else { silent.append(c) }
        }
        silent.sort { $0.acceptedAt < $1.acceptedAt }
        var out = Array(silent.prefix(count))
        if out.count < count {
            idle.sort { $0.lastActivity < $1.lastActivity }
            out += idle.prefix(count - out.count)
        }
        return out
    }

    /// Counts a refusal or eviction; says whether to log it now (once a second per reason),
    /// and how many went unlogged since the last line.
    func record(_ reason: CloseReason, now: UInt64) -> (log: Bool, count: Int) {
        closed.counter(reason.rawValue).increment()
        unreported[reason, default: 0] += 1
        guard now &- (lastWarning[reason] ?? 0) >= 1000 else { return (false, 0) }
        lastWarning[reason] = now
        let n = unreported[reason] ?? 1
        unreported[reason] = 0
        return (true, n)
    }
}
