/// `ping` (handshake era): an empty result.
final class Ping: MethodHandler {
    private let s: FrontServices

    init(_ services: FrontServices) { s = services }

    func handle(_ r: inout FrontRequest) { s.writer.result(r.target, "{}") }
}
