import CSupport
import MCPCore

/// Serves a `tools/call` from the fresh tool-result cache (`ResultCache`) when its tool has a
/// TTL (`ResultCachePolicy`) and a result for the same key is fresh: memory first, then the
/// shared tier (the request suspends for at most `ResultCache.remoteWaitMs`). On a miss the
/// request goes on with its key (`FrontRequest.resultCache`), and `ExecutorAnswers` keeps the
/// executor's result if it is a success (not `isError`, not input-required).
///
/// Placed after authorization, rate limiting and argument validation, so a cached answer is
/// checked as any other; it is written by `ExecutorAnswers` (the same framing, stamps, tool
/// metrics and audit line). Not used for 2026-07-28 retries that carry `requestState` or
/// `inputResponses` (their result depends on more than the arguments).
/// In the pipeline unless `--result-cache-mb 0`.
final class ResultCacheStage: RequestStage {
    let name = "result cache"
    private let services: FrontServices
    private let cache: ResultCache
    private let toolsCall: Int?
    /// The pipeline a suspended request resumes in. Set once by the owner.
    unowned(unsafe) var pipeline: RequestPipeline?
    private var policy = ResultCachePolicy()
    /// The catalog `policy` was built from, held so no later catalog can take its address.
    private var policyCatalog: MergedCatalog?
    /// Tools whose refused TTL was logged already (once per tool and front).
    private var warned: Set<String> = []

    init(services: FrontServices, cache: ResultCache, methods: MethodTable) {
        self.services = services
        self.cache = cache
        toolsCall = methods.index(of: "tools/call")
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard let i = r.methodIndex, i == toolsCall, r.id != nil, r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT),
              r.envelope.raw.name.kind == Int32(SY_JSON_STRING) else { return .proceed }
        let argKind = r.envelope.raw.arguments.kind
        guard argKind == Int32(SY_JSON_ABSENT) || argKind == Int32(SY_JSON_OBJECT) else { return .proceed }
        refreshPolicy()
        guard !policy.isEmpty else { return .proceed }
        let nameSpan = r.envelope.raw.name
        let found: ResultCachePolicy.Rule?
        if nameSpan.escaped == 0 {
            found = policy.rule(named: Envelope.bytes(r.body, nameSpan))
        } else {
            guard var decoded = r.envelope.name(in: r.body) else { return .proceed }
            found = decoded.withUTF8 { policy.rule(named: UnsafeRawBufferPointer($0)) }
        }
        guard let rule = found, !isRetry(r) else { return .proceed }
        let args = argKind == Int32(SY_JSON_OBJECT) ? Envelope.bytes(r.body, r.envelope.raw.arguments) : nil
        let owner = rule.shared ? nil : r.principal.bindingDigest
        let key: ResultKey?
        if let m = r.statelessContext {
            key = ResultKey.make(tool: rule.tool, era: "stateless", version: m.protocolVersion, owner: owner, arguments: args)
        } else {
            key = ResultKey.make(tool: rule.tool, era: "handshake", version: r.session?.protocolVersion ?? "",
                                 owner: owner, arguments: args)
        }
        guard let key else { return .proceed }
        if let result = cache.lookupMemory(key) {
            answer(r, rule.tool, result)
            return .answered
        }
        r.resultCache = ResultCacheTicket(key: key, ttlMs: rule.ttlMs)
        // Copied for the wait only when the shared tier will be asked.
        guard let pipeline, cache.sharedTierIsUp else { return .proceed }
        let held = r.detached(pool: services.loop.pool)
        let asked = cache.lookupRemote(key) { [unowned self] result in
            if let result { self.answer(held, rule.tool, result) } else { pipeline.resume(held, after: self) }
        }
        return asked ? .suspended : .proceed
    }

    /// Writes a cached result as the executor's answer to `r`.
    private func answer(_ r: FrontRequest, _ tool: String, _ result: [UInt8]) {
        let now = services.loop.now
        let call = PendingCall(target: r.target, responder: services.answers, tool: tool,
                               arguments: UnsafeRawBufferPointer(start: nil, count: 0), argsChunk: nil,
                               startedAt: now, deadline: now)
        call.modern = r.isStateless
        call.owner = r.principal.bindingDigest
        call.fromCache = true
        r.slot.tool = tool
        result.withUnsafeBytes { services.answers.answered(call, type: .result, payload: $0, chunk: nil) }
    }

    /// A 2026-07-28 retry (`requestState` or `inputResponses` in params): not cached.
    private func isRetry(_ r: FrontRequest) -> Bool {
        guard r.isStateless else { return false }
        var retry = false
        try? JSONValue.forEachMemberKeyBytes(Envelope.bytes(r.body, r.envelope.raw.params)) { key, _ in
            if key.bytesEqual("requestState") || key.bytesEqual("inputResponses") { retry = true }
        }
        return retry
    }

    /// The policy of the current catalog, rebuilt when executors change it; refused TTLs are
    /// logged once per tool.
    private func refreshPolicy() {
        let catalog = services.pool.catalog
        guard catalog !== policyCatalog else { return }
        policyCatalog = catalog
        policy = ResultCachePolicy(traits: catalog.traits, configured: services.options.toolCacheTtlMs)
        for (tool, why) in policy.refused where warned.insert(tool).inserted {
            services.log.warning("result cache: TTL ignored", [("tool", tool), ("why", why)])
        }
    }
}

/// What a call that missed the cache carries to its answer: where to keep a fresh result, and
/// for how long.
struct ResultCacheTicket {
    let key: ResultKey
    let ttlMs: UInt64
}
