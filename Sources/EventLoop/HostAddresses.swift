import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A host name's numeric addresses from libuv's thread pool: getaddrinfo blocks, the loop must
/// not. Shared by the clients that connect out (Redis, remote MCP upstreams).
public enum HostAddresses {
    /// `done` gets the numeric addresses of `host` (an IP literal is its own), IPv4 and IPv6 in
    /// the resolver's order without repeats, or why there are none (a sentence naming the host).
    /// Thread: the loop thread.
    public static func resolve(loop: Loop, _ host: String, _ done: @escaping (Result<[String], Failure>) -> Void) {
        if isNumeric(host) { return done(.success([host])) }
        // Ownership: the request memory and the retained box belong to the pending lookup and
        // are released in its callback (which libuv calls exactly once, cancelled or not).
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(PendingLookup(host, done)).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(loop.uv, request, lookedUp, host, nil, &hints)
        if rc != 0 {
            Unmanaged<PendingLookup>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            done(.failure(Failure("cannot resolve \(host): \(uvErrorName(rc))")))
        }
    }

    public static func isNumeric(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Why a name has no address.
    public struct Failure: Error {
        public let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

private final class PendingLookup {
    let host: String
    let done: (Result<[String], HostAddresses.Failure>) -> Void
    init(_ host: String, _ done: @escaping (Result<[String], HostAddresses.Failure>) -> Void) {
        self.host = host
        self.done = done
    }
}

private let lookedUp: uv_getaddrinfo_cb = { request, status, result in
    guard let request else { return }
    let pending = Unmanaged<PendingLookup>.fromOpaque(request.pointee.data).takeRetainedValue()
    request.deallocate()
    defer { if let result { uv_freeaddrinfo(result) } }
    guard status == 0 else {
        return pending.done(.failure(.init("cannot resolve \(pending.host): \(uvErrorName(status))")))
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
    guard !addresses.isEmpty else { return pending.done(.failure(.init("cannot resolve \(pending.host): no address"))) }
    pending.done(.success(addresses))
}
