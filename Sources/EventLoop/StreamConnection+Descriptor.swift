import CLibUV
import Glibc

extension StreamConnection {
    /// A stream over a descriptor that is already open: a pipe, a Unix or TCP socket, or a
    /// terminal (stdio's standard streams). Anything else (a regular file, /dev/null) cannot be
    /// polled and is refused. `name` says what the descriptor is, in errors.
    ///
    /// Ownership: once this returns, the stream owns `fd` (closing the stream closes it); when
    /// it throws, `fd` stays the caller's.
    public static func open(loop: Loop, descriptor fd: Int32, name: String) throws(LoopError) -> StreamConnection {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LoopError(-errno, name) }
        let type = st.st_mode & S_IFMT
        guard type == S_IFIFO || type == S_IFSOCK || isatty(fd) == 1 else {
            throw LoopError(UV_EINVAL.rawValue, "\(name) is not a pipe, socket or terminal")
        }
        let handle = allocateHandle()
        let pipe = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_pipe_t.self)
        let initRC = uv_pipe_init(loop.uv, pipe, 0)
        guard initRC == 0 else {
            // Not registered with the loop: freed here, never closed.
            deallocateHandle(handle)
            throw LoopError(initRC, "pipe handle for \(name)")
        }
        let conn = StreamConnection(loop: loop, handle: handle)
        let rc = uv_pipe_open(pipe, fd)
        guard rc == 0 else {
            conn.close(status: rc)
            throw LoopError(rc, "open \(name)")
        }
        return conn
    }
}
