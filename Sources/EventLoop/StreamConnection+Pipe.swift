import CLibUV

extension StreamConnection {
    /// A pipe not yet connected to anything, for one of a child process's standard descriptors
    /// (`UV_CREATE_PIPE` in `uv_spawn`'s stdio containers). After a successful spawn it reads
    /// and writes like any stream; after a failed one, `close()` it.
    /// Ownership: as for every `StreamConnection`, the handle memory is freed in its close callback.
    public static func childPipe(loop: Loop) -> StreamConnection {
        let handle = allocateHandle()
        uv_pipe_init(loop.uv, UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_pipe_t.self), 0)
        return StreamConnection(loop: loop, handle: handle)
    }

    /// The libuv stream, for a `uv_stdio_container_t` only: valid while `isClosed` is false.
    public var uvStream: UnsafeMutablePointer<uv_stream_t> { handle }
}
