/// The tier behind a front's memory that every front and host shares (Redis, when configured):
/// opaque sealed values under keys, each with its own time to live.
/// Thread: the loop thread; callbacks come on it too.
protocol RemoteResultStore: AnyObject {
    /// Reachable now: when not, the cache does not ask (a call never waits for a store that is away).
    var isUp: Bool { get }
    /// Calls `done` exactly once with the value under `key`, or nil when there is none or the
    /// store failed.
    func get(_ key: [UInt8], _ done: @escaping ([UInt8]?) -> Void)
    /// Stores `value` under `key` for `ttlMs`; failures are the store's to log, never the call's.
    func set(_ key: [UInt8], _ value: [UInt8], ttlMs: UInt64)
}
