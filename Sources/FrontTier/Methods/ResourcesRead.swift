import MCPCore

/// `resources/read` (both eras): read by the executor that serves the URI (or a template of it).
final class ResourcesRead: MethodHandler {
    private let calls: ExecutorCalls

    init(_ services: FrontServices) { calls = ExecutorCalls(s: services, answers: services.answers) }

    func handle(_ r: inout FrontRequest) {
        guard let uri = Envelope.string(r.body, r.envelope.raw.uri) else {
            calls.s.writer.error(r.target, ProtocolError(.invalidParams, "Invalid params: uri is required"))
            return
        }
        calls.start(.resource, name: uri, arguments: nil, &r)
    }
}
