import CLibUV
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// Turns an endpoint's host name into a numeric address without blocking the loop (hiredis'
/// own connect calls getaddrinfo synchronously, which would).
enum HostResolver {
    /// `done` gets the endpoint with a numeric host: at once for an IP literal, else from
    /// libuv's thread pool; of a name's several addresses, the one at `turn` modulo their
    /// count (so that retries try each, e.g. ::1 and 127.0.0.1 for localhost).
    /// Thread: the loop thread.
    static func resolve(loop: Loop, _ endpoint: RedisEndpoint, turn: Int = 0, _ done: @escaping (Lookup) -> Void) {
        if isNumeric(endpoint.host) { return done(.success(endpoint)) }
        // Ownership: the request memory and the retained box belong to the pending lookup and
        // are released in its callback (which libuv calls exactly once, cancelled or not).
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(PendingLookup(endpoint, turn, done)).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(loop.uv, request, lookedUp, endpoint.host, nil, &hints)
        if rc != 0 {
            Unmanaged<PendingLookup>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            done(.failure("cannot resolve \(endpoint.host): \(uvErrorName(rc))"))
        }
    }

    static func isNumeric(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

private final class PendingLookup {
    let endpoint: RedisEndpoint
    let turn: Int
    let done: (Lookup) -> Void
    init(_ endpoint: RedisEndpoint, _ turn: Int, _ done: @escaping (Lookup) -> Void) {
        self.endpoint = endpoint
        self.turn = turn
        self.done = done
    }
}

private let lookedUp: uv_getaddrinfo_cb = { request, status, result in
    guard let request else { return }
    let pending = Unmanaged<PendingLookup>.fromOpaque(request.pointee.data).takeRetainedValue()
    request.deallocate()
    defer { if let result { uv_freeaddrinfo(result) } }
    guard status == 0 else {
        return pending.done(.failure("cannot resolve \(pending.endpoint.host): \(uvErrorName(status))"))
    }
    var addresses: [String] = []
    var next = result
    while let info = next?.pointee {
        next = info.ai_next
        guard let address = info.ai_addr else { continue }
        var text = [CChar](repeating: 0, count: 64)
        let rc: Int32
        if info.ai_family == AF_INET6 {
            rc = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_name($0, &text, text.count) }
        } else if info.ai_family == AF_INET {
            rc = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_name($0, &text, text.count) }
        } else {
            continue
        }
        let name = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if rc == 0, !addresses.contains(name) { addresses.append(name) }
    }
    guard !addresses.isEmpty else { return pending.done(.failure("cannot resolve \(pending.endpoint.host): no address")) }
    let host = addresses[pending.turn % addresses.count]
    pending.done(.success(RedisEndpoint(host: host, port: pending.endpoint.port)))
}

/// Where to connect: a numeric address, or why none was found.
typealias Lookup = Result<RedisEndpoint, LookupFailure>

struct LookupFailure: Error, ExpressibleByStringInterpolation {
    let reason: String
    init(stringLiteral value: String) { reason = value }
    init(stringInterpolation: DefaultStringInterpolation) { reason = String(stringInterpolation: stringInterpolation) }
}
