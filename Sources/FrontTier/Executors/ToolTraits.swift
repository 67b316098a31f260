import MCPCore

/// What the front needs to know of a tool to route it: may a lost call be sent again, may its
/// last result stand in while executors are down, and how long may a call take.
struct ToolTraits {
    /// Annotated read-only or idempotent: a call lost with its executor is retried once elsewhere.
    var retryable = false
    /// `_meta["io.switchyard/cacheable"]`: the last good result may answer while executors are down.
    var cacheable = false
    /// `_meta["io.switchyard/timeoutMs"]`: the executor's own default call timeout for it.
    var timeoutMs: UInt64?

    init() {}

    init(catalogJSON: [UInt8]) {
        guard let tool = try? JSONValue.parse(catalogJSON) else { return }
        if case .bool(true)? = tool["annotations"]?["readOnlyHint"] { retryable = true }
        if case .bool(true)? = tool["annotations"]?["idempotentHint"] { retryable = true }
        if case .bool(true)? = tool["_meta"]?["io.switchyard/cacheable"] { cacheable = true }
        if case .number(let ms)? = tool["_meta"]?["io.switchyard/timeoutMs"], ms > 0 { timeoutMs = UInt64(ms) }
    }
}
