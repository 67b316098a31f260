import MCPCore
import Security

/// Who is calling (README.md, "Security"): the request's bearer credential (a JWT access token
/// or an API key) or its connection's client certificate becomes `request.principal`. Without
/// credentials: 401 with a challenge naming the protected-resource metadata (RFC 9728 §5.1);
/// with credentials that do not verify: 401 `invalid_token`; a malformed credential: 400
/// `invalid_request` (RFC 6750 §3.1). In the pipeline only when authentication is configured.
final class AuthenticationStage: RequestStage {
    let name = "authentication"
    private let access: AccessControl
    private let writer: ResponseWriter

    init(access: AccessControl, writer: ResponseWriter) {
        self.access = access
        self.writer = writer
    }

    func process(_ r: inout FrontRequest) -> StageOutcome {
        switch access.authenticate(r.http, r.connection) {
        case .success(let principal):
            r.principal = principal
            r.audit?.principal = principal
            return .proceed
        case .failure(let failure):
            r.audit?.deny("authentication: \(failure.description)", status: failure.kind == .throttled ? 429 : 401)
            let (error, challenge) = Self.refusal(failure, access)
            var extra = [("WWW-Authenticate", challenge)]
            if failure.kind == .throttled { extra.append(("Retry-After", "1")) }
            writer.error(r.target, error, extra: extra)
            return .answered
        }
    }

    /// The error and challenge for a refused credential (also for GET and DELETE).
    static func refusal(_ failure: AuthFailure, _ access: AccessControl) -> (ProtocolError, String) {
        switch failure.kind {
        case .missing:
            return (ProtocolError(.invalidRequest, "Unauthorized: this server requires a Bearer token",
                                  httpStatus: 401),
                    Challenge.missing(access.resource, scopes: access.policy.defaultRule.scopes))
        case .invalidToken:
            return (ProtocolError(.invalidRequest, "Unauthorized: \(Challenge.safe(failure.reason))", httpStatus: 401),
                    Challenge.failed(failure, access.resource))
        case .invalidRequest:
            return (ProtocolError(.invalidRequest, "Bad Request: \(Challenge.safe(failure.reason))", httpStatus: 400),
                    Challenge.failed(failure, access.resource))
        case .throttled:
            return (ProtocolError(.overloaded, "Too Many Requests: \(failure.reason); retry after 1 s", httpStatus: 429),
                    Challenge.missing(access.resource, scopes: access.policy.defaultRule.scopes))
        }
    }
}
