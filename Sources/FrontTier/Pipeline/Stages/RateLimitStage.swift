import MCPCore
import Security

/// Rate limits per principal × tool (`--rate-limit TOOL=N/s`): token buckets shared by every
/// front of the server (`RateLimiter`, a table in the run directory). Anonymous callers draw
/// from their source address's bucket. Over the limit: 429 with `Retry-After` and a JSON-RPC
/// error with the request's id; other principals and tools are not affected. Only tools the
/// catalog lists are limited: a made-up name would take a bucket of its own for nothing (and
/// is refused as unknown by the method anyway). In the pipeline only with `--rate-limit`.
final class RateLimitStage: RequestStage {
    let name = "rate limit"
    private let services: FrontServices
    private let toolsCall: Int?

    init(services: FrontServices, methods: MethodTable) {
        self.services = services
        toolsCall = methods.index(of: "tools/call")
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard r.methodIndex == toolsCall, toolsCall != nil, let limiter = services.rateLimiter,
              let tool = r.envelope.name(in: r.body), services.pool.catalog.tools[tool] != nil else { return .proceed }
        let key = RateLimitKey(principal: r.principal, sourceAddress: r.connection.sourceAddress(of: r.http))
        guard case .limited(let seconds) = limiter.check(key: key, tool: tool) else { return .proceed }
        r.audit?.deny("rate limit of tool \(tool)", status: 429)
        let e = ProtocolError(.overloaded, "Too Many Requests: the rate limit of tool \(tool) is reached; "
                              + "retry after \(seconds) s", httpStatus: 429)
        services.writer.error(r.target, e, extra: [("Retry-After", String(seconds))])
        return .answered
    }
}
