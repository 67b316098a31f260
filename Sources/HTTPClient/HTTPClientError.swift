/// Why a request got no (complete) response. `kind` lets callers tell a host that cannot be
/// reached from a TLS refusal or a broken answer; `message` is for people and logs (it never
/// holds a request's header values).
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The host name has no address.
        case resolve
        /// TCP connect failed (refused, unreachable).
        case connect
        /// The TLS handshake failed (certificate refused, protocol mismatch).
        case tls
        /// No connection, or no answer, within the time allowed.
        case timeout
        /// The peer's bytes are not an HTTP/1.1 response.
        case malformed
        /// The connection closed before the response was complete.
        case closed
        /// The request itself could not be rendered (a bad header value).
        case request
        /// Too many requests already wait for a connection to this origin.
        case overloaded
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

/// What one request's response becomes, in order: `head`, any `body` pieces, then exactly one
/// of `end` or `failed` (`failed` may also come before `head`). Nothing follows either.
/// Thread: the loop thread.
public protocol HTTPResponseHandler: AnyObject {
    func responseHead(_ head: HTTPResponseHead)
    /// Body bytes (chunked framing already removed); valid only during the call.
    func responseBody(_ bytes: UnsafeRawBufferPointer)
    func responseEnd()
    func responseFailed(_ error: HTTPClientError)
}
