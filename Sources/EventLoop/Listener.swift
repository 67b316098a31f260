import CLibUV
import Glibc

/// Errors from setting up sockets.
public struct LoopError: Error, CustomStringConvertible {
    public let code: Int32
    public let what: String
    public init(_ code: Int32, _ what: String) { self.code = code; self.what = what }
    public var description: String { "\(what): \(uvErrorName(code))" }
}

/// A listening TCP or Unix socket that hands each accepted connection to a closure.
///
/// Ownership: the handle holds a retained reference to this object until its close callback.
public final class Listener {
    public let loop: Loop
    private let handle: UnsafeMutablePointer<uv_stream_t>
    private let isPipe: Bool
    private let onAccept: (StreamConnection) -> Void
    private var closed = false
    /// Told when a connection could not be accepted (UV_EMFILE: no descriptor left; libuv then
    /// accepts and closes it with a descriptor it keeps in reserve, so accepting never stalls).
    public var onAcceptError: ((Int32) -> Void)?

    private init(loop: Loop, isPipe: Bool, onAccept: @escaping (StreamConnection) -> Void) {
        self.loop = loop
        self.isPipe = isPipe
        self.onAccept = onAccept
        handle = StreamConnection.allocateHandle()
    }

    /// Listens on host:port with SO_REUSEPORT, so several processes share the port and the
    /// kernel spreads connections across them.
    public static func tcp(loop: Loop, host: String, port: Int, backlog: Int32 = 4096,
                           onAccept: @escaping (StreamConnection) -> Void) throws -> Listener {
        let l = Listener(loop: loop, isPipe: false, onAccept: onAccept)
        let tcp = UnsafeMutableRawPointer(l.handle).assumingMemoryBound(to: uv_tcp_t.self)
        var addr = sockaddr_storage()
        var rc = withUnsafeMutablePointer(to: &addr) { p -> Int32 in
            let sa = UnsafeMutableRawPointer(p)
            if host.contains(":") {
                return uv_ip6_addr(host, Int32(port), sa.assumingMemoryBound(to: sockaddr_in6.self))
            }
            return uv_ip4_addr(host, Int32(port), sa.assumingMemoryBound(to: sockaddr_in.self))
        }
        guard rc == 0 else { l.handle.deallocate(); throw LoopError(rc, "address \(host):\(port)") }
        let family = host.contains(":") ? AF_INET6 : AF_INET
        uv_tcp_init_ex(loop.uv, tcp, UInt32(family))
        l.retain()
        // libuv 1.44 has no UV_TCP_REUSEPORT: set it on the fd before binding.
        var fd: uv_os_fd_t = -1
        uv_fileno(asHandle(tcp), &fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        rc = withUnsafePointer(to: &addr) { p in
            uv_tcp_bind(tcp, UnsafeRawPointer(p).assumingMemoryBound(to: sockaddr.self), 0)
        }
        if rc == 0 { rc = uv_listen(l.handle, backlog, listenerConnection) }
        guard rc == 0 else { l.close(); throw LoopError(rc, "listen on \(host):\(port)") }
        return l
    }

    /// Listens on a Unix socket path, replacing a stale socket file.
    public static func unix(loop: Loop, path: String, backlog: Int32 = 1024,
                            onAccept: @escaping (StreamConnection) -> Void) throws -> Listener {
        let l = Listener(loop: loop, isPipe: true, onAccept: onAccept)
        let pipe = UnsafeMutableRawPointer(l.handle).assumingMemoryBound(to: uv_pipe_t.self)
        uv_pipe_init(loop.uv, pipe, 0)
        l.retain()
        unlink(path)
        var rc = uv_pipe_bind(pipe, path)
        if rc == 0 { rc = uv_listen(l.handle, backlog, listenerConnection) }
        guard rc == 0 else { l.close(); throw LoopError(rc, "listen on \(path)") }
        return l
    }

    private func retain() { handle.pointee.data = Unmanaged.passRetained(self).toOpaque() }

    /// Stops accepting. Connections already accepted are not affected.
    public func close() {
        guard !closed else { return }
        closed = true
        uv_close(asHandle(handle), listenerClosed)
    }

    fileprivate func accept() {
        let client = StreamConnection.allocateHandle()
        if isPipe {
            uv_pipe_init(loop.uv, UnsafeMutableRawPointer(client).assumingMemoryBound(to: uv_pipe_t.self), 0)
        } else {
            uv_tcp_init(loop.uv, UnsafeMutableRawPointer(client).assumingMemoryBound(to: uv_tcp_t.self))
        }
        let conn = StreamConnection(loop: loop, handle: client)
        guard uv_accept(handle, client) == 0 else { conn.close(); return }
        if !isPipe {
            uv_tcp_nodelay(UnsafeMutableRawPointer(client).assumingMemoryBound(to: uv_tcp_t.self), 1)
        }
        onAccept(conn)
    }
}

private let listenerConnection: uv_connection_cb = { server, status in
    guard let data = server?.pointee.data else { return }
    let listener = Unmanaged<Listener>.fromOpaque(data).takeUnretainedValue()
    if status == 0 { listener.accept() } else { listener.onAcceptError?(status) }
}

private let listenerClosed: uv_close_cb = { h in
    guard let h else { return }
    if let data = h.pointee.data { Unmanaged<Listener>.fromOpaque(data).release() }
    UnsafeMutableRawPointer(h).deallocate()
}

/// Connects to a Unix socket; the closure gets the connection or a libuv error code.
public enum UnixConnector {
    public static func connect(loop: Loop, path: String,
                               _ done: @escaping (Result<StreamConnection, LoopError>) -> Void) {
        let handle = StreamConnection.allocateHandle()
        uv_pipe_init(loop.uv, UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_pipe_t.self), 0)
        let conn = StreamConnection(loop: loop, handle: handle)
        let req = PendingConnect(conn: conn, path: path, done: done)
        let uvReq = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        uvReq.pointee.data = Unmanaged.passRetained(req).toOpaque()
        uv_pipe_connect(uvReq, UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_pipe_t.self),
                        path, pipeConnected)
    }
}

private final class PendingConnect {
    let conn: StreamConnection
    let path: String
    let done: (Result<StreamConnection, LoopError>) -> Void
    init(conn: StreamConnection, path: String, done: @escaping (Result<StreamConnection, LoopError>) -> Void) {
        self.conn = conn; self.path = path; self.done = done
    }
}

private let pipeConnected: uv_connect_cb = { req, status in
    guard let req, let data = req.pointee.data else { return }
    let pending = Unmanaged<PendingConnect>.fromOpaque(data).takeRetainedValue()
    req.deallocate()
    if status == 0 {
        pending.done(.success(pending.conn))
    } else {
        pending.conn.close(status: status)
        pending.done(.failure(LoopError(status, "connect to \(pending.path)")))
    }
}
