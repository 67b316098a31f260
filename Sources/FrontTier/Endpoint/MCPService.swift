import CLibUV
import EventLoop
import Glibc
import MCPCore
import Metrics

/// The front's HTTP entry: `POST` to the MCP endpoint runs the request pipeline; `GET` opens a
/// session's stream (SessionStream), `DELETE` ends a session (SessionDelete); /healthz,
/// /readyz and (without an admin listener) /metrics and /status go to AdminRoutes.
/// Thread: the loop thread.
final class MCPService: HTTPHandler {
    let services: FrontServices
    let pipeline: RequestPipeline
    let methods: MethodTable
    private let origin: OriginStage
    private let stream: SessionStream
    private let delete: SessionDelete
    /// Serves /metrics, /status and health; set by the front.
    var admin: AdminRoutes?
    /// Without an admin listener, /metrics and /status are served on the main port too.
    var adminOnMainPort = true
    /// The front's event-loop lag, worst of the last second (ms).
    var loopLagMs: UInt64 = 0
    /// Requests answered, for logs and tests.
    @exclusivity(unchecked) private(set) var requests = 0

    init(services: FrontServices) {
        self.services = services
        origin = OriginStage(writer: services.writer, options: services.options)
        methods = .standard(services)
        pipeline = .standard(services, methods, origin: origin)
        stream = SessionStream(services)
        delete = SessionDelete(services)
    }

    func handle(_ req: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
        requests += 1
        let path = req.path
        let writer = services.writer
        if path == services.options.endpointPath {
            if req.methodIs("POST") {
                var r = FrontRequest(http: req, slot: slot, connection: connection,
                                     preferSSE: services.options.preferSSE, methods: methods)
                pipeline.run(&r)
                return
            }
            slot.methodIndex = LabelIndex.method(req.methodIs("DELETE") ? "delete" : "get")
            let target = AnswerTarget(slot: slot, connection: connection, id: nil, format: .json)
            var owner: UInt64 = 0
            if services.auditLog != nil {
                slot.audit = AuditNote(sourceAddress: connection.sourceAddress(of: req), sessionId: req.header(.mcpSessionId),
                                       method: req.methodIs("DELETE") ? "session/delete" : "session/stream",
                                       name: nil, arguments: nil)
            }
            if let problem = origin.check(req) {
                writer.error(target, ProtocolError(.invalidRequest, problem, httpStatus: 403))
                return
            }
            if let access = services.access {
                switch access.authenticate(req, connection) {
                case .success(let principal):
                    owner = principal.bindingDigest
                    slot.audit?.principal = principal
                case .failure(let failure):
                    slot.audit?.deny("authentication: \(failure.description)", status: 401)
                    let (error, challenge) = AuthenticationStage.refusal(failure, access)
                    writer.error(target, error, extra: [("WWW-Authenticate", challenge)])
                    return
                }
            }
            if req.methodIs("DELETE") {
                delete.handle(req, target, owner: owner)
            } else if req.methodIs("GET"), req.header(.mcpSessionId) != nil {
                stream.handle(req, target, owner: owner)
            } else {
                let e = ProtocolError(.invalidRequest, "Method not allowed: this endpoint takes POST and DELETE",
                                      httpStatus: 405)
                writer.error(target, e, extra: [("Allow", "POST, DELETE")])
            }
        } else if let resource = services.access?.resource, resource.metadataPaths.contains(path) {
            guard req.methodIs("GET") || req.methodIs("HEAD") else {
                writer.plain(slot, connection, status: 405, contentType: "application/json",
                             body: "{\"error\":\"method not allowed\"}", extra: [("Allow", "GET")])
                return
            }
            // RFC 9728 §3.2: the metadata is public (clients read it before they have a token).
            writer.plain(slot, connection, status: 200, contentType: "application/json", body: resource.document,
                         extra: [("Cache-Control", "max-age=3600"), ("Access-Control-Allow-Origin", "*")])
        } else if AdminRoutes.paths.contains(path), let admin,
                  path == "/healthz" || path == "/readyz" || adminOnMainPort {
            // With authentication on, what /metrics and /status show (tool names, executors) needs a
            // credential too when they share the main port; health and readiness do not.
            if path != "/healthz", path != "/readyz", let access = services.access,
               case .failure(let failure) = access.authenticate(req, connection) {
                let (error, challenge) = AuthenticationStage.refusal(failure, access)
                writer.plain(slot, connection, status: error.httpStatus, contentType: "application/json",
                             body: "{\"error\":\"unauthorized\"}", extra: [("WWW-Authenticate", challenge)])
                return
            }
            admin.handle(req, slot: slot, connection: connection)
        } else {
            writer.plain(slot, connection, status: 404, contentType: "application/json",
                         body: "{\"error\":\"not found\"}")
        }
    }

    /// Health and readiness, for /healthz, /readyz and the admin listener.
    func healthReport() -> (ready: Bool, body: String) {
        let s = services
        let draining = s.writer.draining
        let ok = s.pool.hasReadyLink && !draining
        // Redis away is degraded, not down: still ready (every call is served on local state).
        let degraded = s.sharedState.map { !$0.isSynced } ?? false
        let status = draining ? "draining" : !ok ? "no-executors" : degraded ? "degraded" : "ok"
        let redis = s.sharedState.map { ",\"redis\":" + $0.healthJSON } ?? ""
        let cache = s.resultCache.map { ",\"resultCache\":{\"entries\":\($0.memoryEntries),\"bytes\":\($0.memoryBytes)}" } ?? ""
        let body = "{\"status\":\"\(status)\",\"front\":\(s.options.index),\"pid\":\(getpid())\(redis),"
            + "\"loopLagMs\":\(loopLagMs)\(cache),"
            + "\"notificationStreams\":\(s.listeners.count),\"eventsEvicted\":\(s.listeners.evicted),"
            + "\"calls\":\(s.router.statusJSON),\"executors\":\(s.pool.statusJSON)}"
        return (ok, body)
    }
}
