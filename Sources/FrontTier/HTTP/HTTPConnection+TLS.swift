import TLS

extension HTTPConnection {
    /// The subject (RFC 2253, e.g. `CN=alice,O=Example`) of the certificate the client presented
    /// and the server verified against `--tls-client-ca`; nil on plain HTTP, without
    /// `--tls-client-ca`, or when the client sent none. Known before the first request is parsed
    /// (plaintext only arrives after the handshake): the auth stage may read it for every request.
    var peerCertificateSubject: String? { (conn as? TLSStream)?.peerCertificateSubject }
}
