import CLibUV
import Glibc

/// Connects to a TCP address (IPv4 or IPv6 literal), optionally from a given local address;
/// the closure gets the connection (TCP_NODELAY set, not yet reading) or a libuv error.
/// Mirrors `UnixConnector`.
///
/// Thread: the loop thread. Ownership: the pending request holds the connection until the
/// connect callback; on failure the connection is closed before `done` runs. Cancelling (the
/// returned `TCPConnecting`) closes the connection's handle at once (its one close: the
/// callback's close is then a no-op) and `done` is not called.
public enum TCPConnector {
    @discardableResult
    public static func connect(loop: Loop, host: String, port: Int, from source: String? = nil,
                               _ done: @escaping (Result<StreamConnection, LoopError>) -> Void) -> TCPConnecting {
        let connecting = TCPConnecting()
        var addr = sockaddr_storage()
        guard socketAddress(host, port, &addr) == 0 else {
            done(.failure(LoopError(UV_EINVAL.rawValue, "address \(host):\(port)")))
            return connecting
        }
        let handle = StreamConnection.allocateHandle()
        let tcp = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_tcp_t.self)
        let family = source == nil ? AF_UNSPEC : Int32(addr.ss_family)
        let initRC = uv_tcp_init_ex(loop.uv, tcp, UInt32(family))
        guard initRC == 0 else {
            // Not registered with the loop (EMFILE and the like): freed here, never closed.
            StreamConnection.deallocateHandle(handle)
            done(.failure(LoopError(initRC, "socket for \(host):\(port)")))
            return connecting
        }
        let conn = StreamConnection(loop: loop, handle: handle)
        if let source {
            var local = sockaddr_storage()
            var rc = socketAddress(source, 0, &local)
            // Let connect() pick the port for the whole 4-tuple: a port bound first must be
            // free on the address for every destination, and many thousands of connections
            // (and their TIME_WAIT remains) from one source address run out of those.
            var fd: uv_os_fd_t = -1
            if rc == 0, uv_fileno(UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self), &fd) == 0 {
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_IP), 24 /* IP_BIND_ADDRESS_NO_PORT */, &one,
                               socklen_t(MemoryLayout<Int32>.size))
            }
            if rc == 0 {
                rc = withUnsafePointer(to: &local) {
                    uv_tcp_bind(tcp, UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), 0)
                }
            }
            guard rc == 0 else {
                conn.close(status: rc)
                done(.failure(LoopError(rc, "bind to \(source)")))
                return connecting
            }
        }
        let what = "connect to \(host):\(port)"
        let pending = PendingTCPConnect(conn: conn, what: what, done: done)
        let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passRetained(pending).toOpaque()
        let rc = withUnsafePointer(to: &addr) {
            uv_tcp_connect(req, tcp, UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), tcpConnected)
        }
        if rc != 0 {
            Unmanaged<PendingTCPConnect>.fromOpaque(req.pointee.data!).release()
            req.deallocate()
            conn.close(status: rc)
            done(.failure(LoopError(rc, what)))
            return connecting
        }
        connecting.pending = pending
        return connecting
    }

    private static func socketAddress(_ host: String, _ port: Int, _ out: inout sockaddr_storage) -> Int32 {
        withUnsafeMutablePointer(to: &out) { p -> Int32 in
            let sa = UnsafeMutableRawPointer(p)
            if host.contains(":") {
                return uv_ip6_addr(host, Int32(port), sa.assumingMemoryBound(to: sockaddr_in6.self))
            }
            return uv_ip4_addr(host, Int32(port), sa.assumingMemoryBound(to: sockaddr_in.self))
        }
    }
}

/// A TCP connect in progress, to give up on (a blackholed address would otherwise hold its
/// socket until the kernel gives up, minutes later). Thread: the loop thread.
public final class TCPConnecting {
    fileprivate weak var pending: PendingTCPConnect?
    init() {}

    /// Closes the socket now; the connect's `done` is not called. No effect once `done` ran.
    public func cancel() {
        guard let p = pending, !p.cancelled, !p.finished else { return }
        p.cancelled = true
        pending = nil
        // libuv ends the pending connect request with UV_ECANCELED before the close callback.
        p.conn.close(status: UV_ECANCELED.rawValue)
    }
}

private final class PendingTCPConnect {
    var cancelled = false
    /// The connect callback ran: the connection is the caller's (or closed) now.
    var finished = false
    let conn: StreamConnection
    let what: String
    let done: (Result<StreamConnection, LoopError>) -> Void
    init(conn: StreamConnection, what: String, done: @escaping (Result<StreamConnection, LoopError>) -> Void) {
        self.conn = conn; self.what = what; self.done = done
    }
}

private let tcpConnected: uv_connect_cb = { req, status in
    guard let req, let data = req.pointee.data else { return }
    let pending = Unmanaged<PendingTCPConnect>.fromOpaque(data).takeRetainedValue()
    req.deallocate()
    if pending.cancelled {
        pending.conn.close() // already closing: a no-op
        return
    }
    pending.finished = true
    if status == 0 {
        uv_tcp_nodelay(UnsafeMutableRawPointer(pending.conn.handle).assumingMemoryBound(to: uv_tcp_t.self), 1)
        pending.done(.success(pending.conn))
    } else {
        pending.conn.close(status: status)
        pending.done(.failure(LoopError(status, pending.what)))
    }
}
