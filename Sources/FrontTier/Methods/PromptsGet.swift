import MCPCore

/// `prompts/get` (both eras): rendered by the executor that serves the prompt.
final class PromptsGet: MethodHandler {
    private let calls: ExecutorCalls

    init(_ services: FrontServices) { calls = ExecutorCalls(s: services, answers: services.answers) }

    func handle(_ r: inout FrontRequest) {
        guard let name = r.envelope.name(in: r.body) else {
            calls.s.writer.error(r.target, ProtocolError(.invalidParams, "Invalid params: name is required"))
            return
        }
        calls.start(.prompt, name: name, arguments: r.envelope.raw.arguments, &r)
    }
}
