/// Why a credential was refused. `description` is safe for logs, the audit log and the
/// `error_description` of a `WWW-Authenticate` challenge: it never contains the credential.
public struct AuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No credentials at all: answered with a bare challenge (RFC 6750 §3.1: no error code).
        case missing
        /// Credentials that do not verify (bad signature, expired, wrong issuer or audience,
        /// unknown key, malformed): `error="invalid_token"`.
        case invalidToken = "invalid_token"
        /// A request the server cannot read as a bearer request (two schemes, a token in the
        /// query): `error="invalid_request"`.
        case invalidRequest = "invalid_request"
        /// Too many credentials from this source failed just now: not even checked (429), so
        /// that a flood of forged tokens cannot buy a signature check each.
        case throttled
    }

    public let kind: Kind
    /// A short reason, e.g. "token expired", "unknown key id", "audience mismatch".
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "\(kind.rawValue): \(reason)" }
}

/// Turns the bearer credential of a request (the bytes after `Bearer ` in `Authorization`)
/// into a principal. Implementations: JWT access tokens, API keys, and one that tries API keys
/// first (their prefix is distinct) and JWTs otherwise. Called on a front's loop thread: a
/// verification that needs keys not yet fetched fails with `invalidToken` and starts the fetch.
public protocol BearerAuthenticator: AnyObject {
    func authenticate(bearer token: String, now: UInt64) -> Result<Principal, AuthFailure>
    /// Changes whenever the credentials that verify change (a new key set installed, the API
    /// keys file reloaded): a caller's own cache of results must not outlive a generation.
    var generation: UInt64 { get }
    /// Picks up changed credential files (the API keys file); cheap when nothing changed.
    /// Returns why a changed file could not be read (the credentials in use stay), for the log.
    func refresh() -> String?
}

extension BearerAuthenticator {
    public var generation: UInt64 { 0 }
    public func refresh() -> String? { nil }
}
