import MCPCore

/// What the front needs to know of a tool to route it: may a lost call be sent again, may its
/// last result stand in while executors are down, how long may a call take, and may its fresh
/// results be served again.
struct ToolTraits {
    /// Annotated read-only or idempotent: a call lost with its executor is retried once elsewhere.
    var retryable = false
    /// `annotations.readOnlyHint` and `annotations.idempotentHint` are both true: the only tools
    /// whose results may be cached fresh (never implied by them: a TTL must be given too).
    var pure = false
    /// `_meta["io.switchyard/staleOnError"]` (or its old name `io.switchyard/cacheable`): the last
    /// good result may answer, flagged stale, while executors are down. It makes no result fresh.
    var staleOnError = false
    /// `_meta["io.switchyard/timeoutMs"]`: the executor's own default call timeout for it.
    var timeoutMs: UInt64?
    /// `_meta["io.switchyard/cacheTtlMs"]`: how long a result stays fresh, as the executor
    /// declares it (honoured only for `pure` tools: ResultCachePolicy).
    var cacheTtlMs: UInt64?
    /// `_meta["io.switchyard/cacheScope"] == "shared"`: one result for every caller; otherwise
    /// results are kept per principal.
    var sharedCache = false

    init() {}

    init(catalogJSON: [UInt8]) {
        guard let tool = try? JSONValue.parse(catalogJSON) else { return }
        let readOnly = tool["annotations"]?["readOnlyHint"] == .bool(true)
        let idempotent = tool["annotations"]?["idempotentHint"] == .bool(true)
        retryable = readOnly || idempotent
        pure = readOnly && idempotent
        let meta = tool["_meta"]
        if case .bool(true)? = meta?["io.switchyard/staleOnError"] { staleOnError = true }
        // The name before the fresh cache existed, still read so executors built then keep
        // their stale answers.
        if case .bool(true)? = meta?["io.switchyard/cacheable"] { staleOnError = true }
        if case .number(let ms)? = meta?["io.switchyard/timeoutMs"], ms > 0 { timeoutMs = UInt64(ms) }
        // An integer of 1 ms to a day (executor-protocol.md); anything else declares no TTL.
        if case .number(let ms)? = meta?["io.switchyard/cacheTtlMs"], ms == ms.rounded(), ms >= 1,
           ms <= Double(ResultCachePolicy.maxTtlMs) {
            cacheTtlMs = UInt64(ms)
        }
        sharedCache = meta?["io.switchyard/cacheScope"] == .string("shared")
    }
}
