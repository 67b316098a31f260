/// Why a TLS context could not be built. The message names the file and OpenSSL's reason,
/// never key material.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
