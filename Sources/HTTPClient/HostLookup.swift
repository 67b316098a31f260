import EventLoop

/// A host name's addresses for the HTTP client, failures as the client's errors
/// (the lookup itself is `HostAddresses`, shared with the Redis client).
enum HostLookup {
    /// `done` gets the numeric addresses of `host` (an IP literal is its own), IPv4 and IPv6 in
    /// the resolver's order, or why there are none. Thread: the loop thread.
    static func resolve(loop: Loop, _ host: String, _ done: @escaping (Result<[String], HTTPClientError>) -> Void) {
        HostAddresses.resolve(loop: loop, host) { result in
            done(result.mapError { HTTPClientError(.resolve, $0.reason) })
        }
    }
}
