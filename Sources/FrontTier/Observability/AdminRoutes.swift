import EventLoop
import Metrics

/// Health, readiness, metrics and the status page: on the admin listener (`--admin`), and on
/// the main port for health always and for the rest when there is no admin listener.
/// Thread: the loop thread.
final class AdminRoutes: HTTPHandler {
    let collector: MetricsCollector
    private let health: () -> (ready: Bool, body: String)
    private var previous: MetricsSnapshot?
    private var previousAt: UInt64 = 0
    private let loop: Loop

    init(runDir: String, loop: Loop, health: @escaping () -> (ready: Bool, body: String)) {
        collector = MetricsCollector(runDir: runDir)
        self.loop = loop
        self.health = health
    }

    static let paths: Set<String> = ["/healthz", "/readyz", "/metrics", "/status", "/status.json"]

    func handle(_ req: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
        let path = req.path
        guard req.methodIs("GET") || req.methodIs("HEAD") else {
            answer(slot, connection, 405, "application/json", "{\"error\":\"method not allowed\"}", req)
            return
        }
        switch path {
        case "/healthz":
            // Alive: this process answers. Details say whether executors are linked.
            let h = health()
            answer(slot, connection, h.ready ? 200 : 503, "application/json", h.body, req)
        case "/readyz":
            let h = health()
            answer(slot, connection, h.ready ? 200 : 503, "application/json",
                   h.ready ? "{\"ready\":true}" : "{\"ready\":false}", req)
        case "/metrics":
            answer(slot, connection, 200, PrometheusText.contentType, PrometheusText.render(collector.snapshot()), req)
        case "/status":
            let s = snapshot()
            answer(slot, connection, 200, StatusPage.contentType, StatusPage.render(s.now, previous: s.before), req)
        case "/status.json":
            let s = snapshot()
            answer(slot, connection, 200, StatusPage.jsonContentType, StatusPage.json(s.now, previous: s.before), req)
        default:
            answer(slot, connection, 404, "application/json", "{\"error\":\"not found\"}", req)
        }
    }

    /// A snapshot and the one before it (at least 500 ms older), for rates.
    private func snapshot() -> (now: MetricsSnapshot, before: MetricsSnapshot?) {
        let now = collector.snapshot()
        let before = previous
        if previous == nil || loop.now &- previousAt >= 500 {
            previous = now
            previousAt = loop.now
        }
        return (now, before)
    }

    private func answer(_ slot: ResponseSlot, _ c: HTTPConnection, _ status: Int, _ type: String, _ body: String,
                        _ req: HTTPRequest) {
        let head = req.methodIs("HEAD")
        slot.append(.text(HTTPResponse.head(status: status, contentType: type, contentLength: body.utf8.count,
                                            keepAlive: !slot.closeAfter, extra: [("Cache-Control", "no-store")])))
        if !head { slot.append(.text(body)) }
        c.finish(slot)
    }
}
