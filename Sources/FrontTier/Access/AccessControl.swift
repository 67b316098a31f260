import Glibc
import Security

/// Who may call the front and what they may use: the authenticator of bearer credentials (JWT
/// access tokens and API keys), the policy, and the protected-resource metadata that 401s
/// point to. One per front; absent when the server runs without authentication (`make run`),
/// so the stages that use it are not even in the pipeline then.
/// Thread: the loop thread.
final class AccessControl {
    let authenticator: any BearerAuthenticator
    let policy: Policy
    /// Set when an OAuth authorization server is configured (API keys alone have no metadata).
    let resource: ProtectedResource?
    /// The clock for credential checks (seconds); tests set it.
    var now: () -> UInt64 = { UInt64(time(nil)) }
    /// Headers already verified, so that a keep-alive client pays one lookup per request.
    let verified = VerifiedCredentials()
    /// Failed verifications per source address in the current second: past the limit, a
    /// source's credentials are refused (429) without a signature check until the next second.
    private var failures: [String: (second: UInt64, count: Int)] = [:]
    static let failuresPerSecond = 32

    init(authenticator: any BearerAuthenticator, policy: Policy, resource: ProtectedResource?) {
        self.authenticator = authenticator
        self.policy = policy
        self.resource = resource
    }

    /// The principal of a request, from its `Authorization: Bearer` credential or, without
    /// one, its connection's verified client certificate.
    func authenticate(_ http: HTTPRequest, _ connection: HTTPConnection) -> Result<Principal, AuthFailure> {
        guard let bytes = http.headerBytes(.authorization) else {
            if let subject = connection.peerCertificateSubject {
                return .success(Principal(subject: subject, method: .clientCertificate))
            }
            return .failure(AuthFailure(.missing, "no credentials"))
        }
        let now = now(), generation = authenticator.generation
        if let principal = verified.principal(bytes, now: now, generation: generation) { return .success(principal) }
        switch Self.bearerToken(String(decoding: bytes, as: UTF8.self)) {
        case .none:
            // Another scheme (Basic from a browser, say) does not hide a verified certificate.
            if let subject = connection.peerCertificateSubject {
                return .success(Principal(subject: subject, method: .clientCertificate))
            }
            return .failure(AuthFailure(.missing, "not a Bearer credential"))
        case .some(nil): return .failure(AuthFailure(.invalidRequest, "malformed Bearer credential"))
        case .some(let token?):
            // Counted per known address only: one shared bucket would let anyone lock everyone out.
            let source = connection.sourceAddress(of: http)
            if let source, let f = failures[source], f.second == now, f.count >= Self.failuresPerSecond {
                return .failure(AuthFailure(.throttled, "too many failed credentials from this address"))
            }
            let result = authenticator.authenticate(bearer: token, now: now)
            switch result {
            case .success(let principal): verified.insert(bytes, principal, generation: generation)
            case .failure: if let source { countFailure(source, now: now) }
            }
            return result
        }
    }

    private func countFailure(_ source: String, now: UInt64) {
        // Bounded: past 10,000 addresses the table starts over (a flood from that many addresses
        // is the per-address limit's blind spot either way).
        if failures.count >= 10_000 && failures[source] == nil { failures.removeAll(keepingCapacity: true) }
        if let f = failures[source], f.second == now {
            failures[source] = (now, f.count + 1)
        } else {
            failures[source] = (now, 1)
        }
    }

    /// The token of a `Bearer` credential (RFC 6750 §2.1: the scheme, case aside, one or more
    /// spaces, a token68). nil: another scheme; `.some(nil)`: Bearer with a malformed token.
    static func bearerToken(_ header: String) -> String?? {
        let u = Array(header.utf8)
        guard u.count >= 6, String(decoding: u[0..<6], as: UTF8.self).lowercased() == "bearer" else { return .none }
        guard u.count > 6, u[6] == 0x20 else { return u.count == 6 ? .some(nil) : .none }
        var i = 6
        while i < u.count, u[i] == 0x20 { i += 1 }
        var end = u.count
        while end > i, u[end - 1] == 0x20 || u[end - 1] == 0x09 { end -= 1 }
        let token = u[i..<end]
        guard !token.isEmpty, token.allSatisfy(Self.isToken68) else { return .some(nil) }
        // Trailing `=` only: a token68 pads at its end.
        if let firstPad = token.firstIndex(of: 0x3D), token[firstPad...].contains(where: { $0 != 0x3D }) {
            return .some(nil)
        }
        return .some(String(decoding: token, as: UTF8.self))
    }

    private static func isToken68(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E || c == 0x2B || c == 0x2F || c == 0x3D
    }
}
