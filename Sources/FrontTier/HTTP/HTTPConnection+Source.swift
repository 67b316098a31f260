extension HTTPConnection {
    /// Where a request comes from, for rate limits, the failed-credential throttle and the audit
    /// log: the peer, or for a connection from a trusted proxy the client it names
    /// (TrustedProxies). Nil when the front does not read addresses.
    func sourceAddress(of request: HTTPRequest) -> String? {
        guard let trustedProxies else { return peerAddress }
        return trustedProxies.source(peer: peerAddress, forwardedFor: request.headerBytes(.xForwardedFor))
    }
}
