import CSupport
import MCPCore

/// `tools/call` (both eras), the hot path: the arguments go to an executor as bytes.
final class ToolsCall: MethodHandler {
    private let calls: ExecutorCalls

    init(_ services: FrontServices) { calls = ExecutorCalls(s: services, answers: services.answers) }

    func handle(_ r: inout FrontRequest) {
        // Members read one by one: a copy of the whole scanned envelope is 228 bytes.
        guard r.envelope.raw.params.kind == Int32(SY_JSON_OBJECT), let name = r.envelope.name(in: r.body) else {
            calls.s.writer.error(r.target, ProtocolError(.invalidParams,
                                                         "Invalid params: tools/call needs params.name (a string)"))
            return
        }
        let argKind = Int(r.envelope.raw.arguments.kind)
        guard argKind == Int(SY_JSON_ABSENT) || argKind == Int(SY_JSON_OBJECT) else {
            calls.s.writer.error(r.target, ProtocolError(.invalidParams, "Invalid params: arguments must be an object"))
            return
        }
        // While draining, calls that reach us are still served (answers carry Connection: close).
        calls.start(.tool, name: name, arguments: r.envelope.raw.arguments, &r)
    }
}
