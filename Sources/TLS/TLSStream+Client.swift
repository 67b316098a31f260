import CTLS

/// A client's TLS session, to resume on a later connection (tests and load generators).
/// Ownership: holds one reference on the SSL_SESSION, dropped in `deinit`.
public final class TLSSession {
    let session: UnsafeMutableRawPointer
    init(_ session: UnsafeMutableRawPointer) { self.session = session }
    deinit { sy_tls_session_free(session) }
}

/// The client side, for tests and load generators; a server never calls these.
extension TLSStream {
    /// Offers ALPN protocols (before `connect()`).
    public func offerProtocols(_ protocols: [String]) {
        guard let c = connection else { return }
        var wire: [UInt8] = []
        for p in protocols { wire.append(UInt8(p.utf8.count)); wire += p.utf8 }
        _ = wire.withUnsafeBufferPointer { sy_tls_set_alpn(c, $0.baseAddress, $0.count) }
    }

    /// Checks the server's certificate against `name` (a DNS name, sent as SNI too, or an IP
    /// literal) during the handshake (before `connect()`); false when OpenSSL refuses the name.
    public func verifyPeer(name: String) -> Bool {
        guard let c = connection else { return false }
        return sy_tls_set_peer_name(c, name) == 0
    }

    /// Offers `session` for resumption (before `connect()`).
    public func resume(_ session: TLSSession) {
        guard let c = connection else { return }
        _ = sy_tls_set_session(c, session.session)
    }

    /// The session to resume later (TLS 1.3: available once the server's ticket has arrived).
    public var session: TLSSession? {
        guard let c = connection, let s = sy_tls_get_session(c) else { return nil }
        return TLSSession(s)
    }
}
