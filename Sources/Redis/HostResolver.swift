import EventLoop

/// Turns an endpoint's host name into a numeric address without blocking the loop (hiredis'
/// own connect calls getaddrinfo synchronously, which would).
enum HostResolver {
    /// `done` gets the endpoint with a numeric host: at once for an IP literal, else from
    /// libuv's thread pool; of a name's several addresses, the one at `turn` modulo their
    /// count (so that retries try each, e.g. ::1 and 127.0.0.1 for localhost).
    /// Thread: the loop thread.
    static func resolve(loop: Loop, _ endpoint: RedisEndpoint, turn: Int = 0, _ done: @escaping (Lookup) -> Void) {
        HostAddresses.resolve(loop: loop, endpoint.host) { result in
            switch result {
            case .success(let addresses):
                done(.success(RedisEndpoint(host: addresses[turn % addresses.count], port: endpoint.port)))
            case .failure(let failure):
                done(.failure(LookupFailure(stringLiteral: failure.reason)))
            }
        }
    }
}

/// Where to connect: a numeric address, or why none was found.
typealias Lookup = Result<RedisEndpoint, LookupFailure>

struct LookupFailure: Error, ExpressibleByStringInterpolation {
    let reason: String
    init(stringLiteral value: String) { reason = value }
    init(stringInterpolation: DefaultStringInterpolation) { reason = String(stringInterpolation: stringInterpolation) }
}
