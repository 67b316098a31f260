import MCPCore

/// DNS-rebinding protection: a browser page from another origin must not reach a local server.
/// An `Origin` that is neither loopback nor allowed, or (on a loopback listener) a `Host` that
/// is not loopback, gets 403.
final class OriginStage: RequestStage {
    let name = "origin"
    private let writer: ResponseWriter
    private let allowed: Set<String>
    private let listensOnLoopback: Bool

    init(writer: ResponseWriter, options: FrontOptions) {
        self.writer = writer
        allowed = Set(options.allowedOrigins)
        listensOnLoopback = isLoopbackHost(options.host)
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        guard let problem = check(r.http) else { return .proceed }
        writer.error(r.target, ProtocolError(.invalidRequest, problem, httpStatus: 403))
        return .answered
    }

    /// Why the request is refused, or nil. Also used for GET and DELETE.
    func check(_ req: HTTPRequest) -> String? {
        if let origin = req.header(.origin), !origin.isEmpty, origin != "null" {
            if !isLoopbackURL(origin) && !allowed.contains(origin) {
                return "Forbidden: origin \(origin) is not allowed"
            }
        }
        if listensOnLoopback, let host = req.headerBytes(.host), !isLoopbackAuthority(bytes: host) {
            return "Forbidden: host \(String(decoding: host, as: UTF8.self)) is not allowed"
        }
        return nil
    }
}
