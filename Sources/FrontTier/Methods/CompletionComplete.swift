import CSupport
import MCPCore

/// `completion/complete` (both eras): answered by an executor that offers completions, or
/// with no values when none does.
final class CompletionComplete: MethodHandler {
    private let calls: ExecutorCalls

    init(_ services: FrontServices) { calls = ExecutorCalls(s: services, answers: services.answers) }

    func handle(_ r: inout FrontRequest) {
        let s = calls.s
        guard r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT), r.envelope.params(in: r.body)?["ref"] != nil else {
            s.writer.error(r.target, ProtocolError(.invalidParams, "Invalid params: ref is required"))
            return
        }
        if s.pool.catalog.completionLinks.isEmpty {
            let stamp = r.isStateless ? ",\"resultType\":\"complete\"" : ""
            s.writer.result(r.target, "{\"completion\":{\"values\":[],\"total\":0,\"hasMore\":false}\(stamp)}")
            return
        }
        calls.start(.completion, name: "", arguments: r.envelope.raw.params, &r)
    }
}
