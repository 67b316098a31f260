import CSupport
import MCPCore

/// Decides the era of a request by the protocol version it declares (README.md, "Protocol"),
/// then does that era's per-request checks:
/// - 2026-07-28: `_meta` and the routing headers (ModernRequest.validate, -32602/-32020/-32022
///   with HTTP 400); `Mcp-Session-Id` is ignored, as that revision's transport says.
/// - 2025-11-25 and earlier: every message but `initialize` belongs to a live session (400
///   without `Mcp-Session-Id`, 404 for an unknown or ended one) and names a served version.
/// Over stdio (no header layer) the body is all there is: no header checks, and the session is
/// the transport's one implicit session (`AnswerChannel.implicitSessionId`).
final class EraStage: RequestStage {
    let name = "era"
    private let services: FrontServices
    /// `initialize`'s index in the method table: the one request without a session.
    private let initialize: Int?
    private var writer: ResponseWriter { services.writer }
    /// The pipeline a request suspended here (its session asked about) resumes in. Set once by the owner.
    unowned(unsafe) var pipeline: RequestPipeline?
    /// A session used with another principal's credentials (a stolen or guessed session id):
    /// refused on every front, since the id carries its owner.
    static let notOwner = ProtocolError(.invalidRequest, "Forbidden: the session belongs to another principal",
                                        httpStatus: 403)

    init(services: FrontServices, methods: MethodTable) {
        self.services = services
        initialize = methods.index(of: "initialize")
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        let versionHeader = r.http.header(.mcpProtocolVersion)
        let metaVersion = Envelope.string(r.body, r.envelope.raw.meta_version)
        if ModernRequest.isStateless(versionHeader: versionHeader, metaVersion: metaVersion) {
            return stateless(&r, versionHeader: versionHeader)
        }
        return handshake(&r, versionHeader: versionHeader)
    }

    private func stateless(_ r: inout FrontRequest, versionHeader: String?) -> StageOutcome {
        guard r.envelope.isObject else {
            writer.error(r.target, ProtocolError(.invalidRequest, "Invalid Request: batch requests are not supported"))
            return .answered
        }
        guard r.hasMethod, let method = r.method else { return .proceed } // client answers, method-less bodies
        // Notifications need no answer; cancellation in this revision is closing the stream.
        guard r.id != nil else {
            writer.accepted(r.target)
            return .answered
        }
        let env = r.envelope
        let meta = env.raw.meta.kind == Int32(SY_JSON_OBJECT)
            ? ModernRequest.knownMeta(Envelope.bytes(r.body, env.raw.meta)) : nil
        let name = method == "resources/read" ? Envelope.string(r.body, env.raw.uri) : env.name(in: r.body)
        do throws(ProtocolError) {
            let context = try ModernRequest.validate(meta: meta, versionHeader: versionHeader,
                                                     methodHeader: r.http.header(.mcpMethod),
                                                     nameHeader: r.http.header(.mcpName), method: method, name: name,
                                                     hasHeaderLayer: r.connection.hasHeaderLayer)
            r.era = .stateless(context)
        } catch {
            writer.error(r.target, error)
            return .answered
        }
        return .proceed
    }

    private func handshake(_ r: inout FrontRequest, versionHeader: String?) -> StageOutcome {
        r.era = .handshake
        if r.methodIndex == initialize && initialize != nil && r.envelope.isObject { return .proceed }
        guard let token = r.http.header(.mcpSessionId) ?? r.connection.implicitSessionId else {
            let why = r.connection.hasHeaderLayer ? "Bad Request: Mcp-Session-Id header is required"
                : "Invalid Request: no session yet: send initialize first (or use 2026-07-28 with _meta)"
            writer.error(r.target, ProtocolError(.invalidRequest, why))
            return .answered
        }
        var idleHere = false
        guard let session = services.sessions.lookup(token, idleHere: &idleHere) else { return notFound(&r) }
        guard idleHere else { return admit(&r, session, versionHeader: versionHeader) }
        // Idle on this host: another host may have served it meanwhile. Asked through Redis
        // with the request suspended; refused at once when Redis cannot be asked.
        guard let pipeline else { return notFound(&r) }
        let suspended = r.detached(pool: services.loop.pool)
        let asked = services.sessions.confirm(session) { [unowned self] alive in
            var request = suspended
            guard let alive else { _ = self.notFound(&request); return }
            if self.admit(&request, alive, versionHeader: versionHeader) == .proceed {
                pipeline.resume(request, after: self)
            }
        }
        return asked ? .suspended : notFound(&r)
    }

    private func notFound(_ r: inout FrontRequest) -> StageOutcome {
        writer.error(r.target, ProtocolError(.sessionNotFound, "Session not found"))
        return .answered
    }

    /// The checks after the session is known: its owner, the version header, batches.
    @inline(__always)
    private func admit(_ r: inout FrontRequest, _ session: SessionTokens.Session, versionHeader: String?) -> StageOutcome {
        guard session.owner == r.principal.bindingDigest else {
            writer.error(r.target, Self.notOwner)
            return .answered
        }
        if let v = versionHeader, !ProtocolVersion.isSupported(v) {
            writer.error(r.target, ProtocolError(.invalidRequest, "Bad Request: unsupported MCP-Protocol-Version \(v)"))
            return .answered
        }
        r.session = session
        if r.envelope.isBatch && session.protocolVersion != "2025-03-26" {
            let why = "Invalid Request: batches are allowed only in protocol version 2025-03-26"
            writer.error(r.target, ProtocolError(.invalidRequest, why))
            return .answered
        }
        return .proceed
    }
}
