import CLibUV
import EventLoop
import Glibc

/// A running child: its libuv process handle and its readiness pipe, or (`ChildSpec.standardIO`
/// `.pipes`) pipes on its stdin, stdout and stderr.
///
/// Ownership: the process handle and the readiness pipe each hold a retained reference to this
/// object until their close callbacks. The stdio pipes are `StreamConnection`s owned by whoever
/// reads them; each closes itself at end of file, and the owner closes them when done.
public final class ChildProcess {
    public let spec: ChildSpec
    let loop: Loop
    private let process: UnsafeMutablePointer<uv_process_t>
    private let readyPipe: UnsafeMutablePointer<uv_pipe_t>
    public private(set) var pid: Int32 = 0
    public let startedAt: UInt64
    private(set) var ready = false
    public private(set) var exited = false
    var onReady: ((ChildProcess) -> Void)?
    /// Called once on the loop thread when the process has exited: status and signal.
    public var onExit: ((ChildProcess, Int64, Int32) -> Void)?
    /// `.pipes` only: the write end of the child's stdin, the read ends of its stdout and stderr
    /// (set by a successful `spawn`).
    public private(set) var stdin: StreamConnection?
    public private(set) var stdout: StreamConnection?
    public private(set) var stderr: StreamConnection?
    /// The readiness pipe's handle was initialized (and is closed through libuv); otherwise its
    /// memory is freed in deinit.
    private var readyPipeInUse = false
    private var readyBuffer: [UInt8] = []

    /// The executor socket this instance listens on, if any.
    let socketPath: String?
    /// Replaced by a newer instance in a rolling restart: its exit is expected.
    var retiring = false
    var heartbeat: Heartbeat?
    /// Kills the child if it is not ready in time; closed once it is ready or has exited.
    var readyWatchdog: Timer?
    /// SIGKILL after SIGTERM was ignored for the shutdown timeout; closed once it has exited.
    var killTimer: Timer?

    /// Closes the timers that watch this child (ready: the ready watchdog; exited: both).
    func stopTimers() {
        readyWatchdog?.close()
        readyWatchdog = nil
        if exited {
            killTimer?.close()
            killTimer = nil
        }
    }

    public init(spec: ChildSpec, loop: Loop, generation: Int = 0) {
        self.spec = spec
        socketPath = spec.socketPath(generation: generation)
        self.loop = loop
        startedAt = loop.now
        process = .allocate(capacity: 1)
        UnsafeMutableRawPointer(process).initializeMemory(as: UInt8.self, repeating: 0,
                                                          count: MemoryLayout<uv_process_t>.size)
        readyPipe = .allocate(capacity: 1)
        UnsafeMutableRawPointer(readyPipe).initializeMemory(as: UInt8.self, repeating: 0,
                                                            count: MemoryLayout<uv_pipe_t>.size)
    }

    /// Spawns the child: with fd 3 as its readiness pipe (`.inherit`), or with pipes on its
    /// descriptors 0-2 (`.pipes`). Throws when the program cannot be started (not found, not
    /// executable, a working directory that does not exist).
    public func spawn() throws {
        let piped = spec.standardIO == .pipes
        var env = ProcessEnvironment.current()
        // A foreign program on pipes gets none of the supervisor's own variables (sockets,
        // readiness descriptor, an upstream's spec).
        if piped { env = env.filter { !$0.key.hasPrefix("SWITCHYARD_") } }
        for (k, v) in spec.environment { env[k] = v }
        var stdio: [uv_stdio_container_t]
        var pipes: [StreamConnection] = []
        if piped {
            pipes = (0..<3).map { _ in StreamConnection.childPipe(loop: loop) }
            stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 3)
            stdio[0].flags = uv_stdio_flags(UV_CREATE_PIPE.rawValue | UV_READABLE_PIPE.rawValue)
            for i in 1...2 { stdio[i].flags = uv_stdio_flags(UV_CREATE_PIPE.rawValue | UV_WRITABLE_PIPE.rawValue) }
            for i in 0...2 { stdio[i].data.stream = pipes[i].uvStream }
        } else {
            uv_pipe_init(loop.uv, readyPipe, 0)
            readyPipeInUse = true
            readyPipe.pointee.data = Unmanaged.passRetained(self).toOpaque()
            env["SWITCHYARD_READY_FD"] = "3"
            if let socketPath { env["SWITCHYARD_SOCKET"] = socketPath }
            stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 4)
            stdio[0].flags = UV_IGNORE
            stdio[1].flags = UV_INHERIT_FD; stdio[1].data.fd = 1
            stdio[2].flags = UV_INHERIT_FD; stdio[2].data.fd = 2
            stdio[3].flags = uv_stdio_flags(UV_CREATE_PIPE.rawValue | UV_WRITABLE_PIPE.rawValue)
            stdio[3].data.stream = UnsafeMutableRawPointer(readyPipe).assumingMemoryBound(to: uv_stream_t.self)
        }
        let argv = spec.argv.map { strdup(substitute($0, "{socket}", socketPath ?? "")) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let cwd = spec.workingDirectory.map { strdup($0) }
        defer { argv.forEach { free($0) }; envp.forEach { free($0) }; cwd.map { free($0) } }
        var opts = uv_process_options_t()
        opts.exit_cb = childExited
        if let cwd { opts.cwd = UnsafePointer(cwd) }
        let rc: Int32 = argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in
                stdio.withUnsafeMutableBufferPointer { s in
                    opts.file = UnsafePointer(a[0])
                    opts.args = UnsafeMutablePointer(mutating: a.baseAddress)
                    opts.env = UnsafeMutablePointer(mutating: e.baseAddress)
                    opts.stdio_count = Int32(s.count)
                    opts.stdio = s.baseAddress
                    return uv_spawn(loop.uv, process, &opts)
                }
            }
        }
        guard rc == 0 else {
            if readyPipeInUse {
                Unmanaged<ChildProcess>.fromOpaque(readyPipe.pointee.data).release()
                readyPipe.pointee.data = nil
                uv_close(UnsafeMutableRawPointer(readyPipe).assumingMemoryBound(to: uv_handle_t.self), freeHandle)
                pipeClosed = true
            }
            for p in pipes { p.close() }
            uv_close(UnsafeMutableRawPointer(process).assumingMemoryBound(to: uv_handle_t.self), freeHandle)
            throw LoopError(rc, "spawn \(spec.argv.first ?? "")")
        }
        process.pointee.data = Unmanaged.passRetained(self).toOpaque()
        pid = process.pointee.pid
        if piped {
            stdin = pipes[0]; stdout = pipes[1]; stderr = pipes[2]
        } else {
            uv_read_start(UnsafeMutableRawPointer(readyPipe).assumingMemoryBound(to: uv_stream_t.self),
                          readyAlloc, readyRead)
        }
    }

    deinit {
        // Never handed to libuv (a `.pipes` child, or one never spawned): plain memory.
        if !readyPipeInUse { readyPipe.deallocate() }
    }

    public func signal(_ sig: Int32) {
        guard !exited else { return }
        uv_process_kill(process, sig)
    }

    fileprivate func readBytes(_ p: UnsafeRawBufferPointer) {
        readyBuffer += p
        if !ready, readyBuffer.starts(with: Array("READY\n".utf8)) {
            ready = true
            onReady?(self)
        }
    }

    private var pipeClosed = false

    fileprivate func pipeEnded() {
        guard !pipeClosed else { return }
        pipeClosed = true
        guard readyPipeInUse else { return }
        uv_close(UnsafeMutableRawPointer(readyPipe).assumingMemoryBound(to: uv_handle_t.self), releaseAndFree)
    }

    fileprivate func processExited(status: Int64, signal: Int32) {
        exited = true
        pipeEnded()
        uv_close(UnsafeMutableRawPointer(process).assumingMemoryBound(to: uv_handle_t.self), releaseAndFree)
        onExit?(self, status, signal)
    }
}

private let childExited: uv_exit_cb = { p, status, sig in
    guard let data = p?.pointee.data else { return }
    Unmanaged<ChildProcess>.fromOpaque(data).takeUnretainedValue().processExited(status: status, signal: sig)
}

private let readyAlloc: uv_alloc_cb = { _, suggested, buf in
    let size = min(Int(suggested), 256)
    buf?.pointee = uv_buf_init(UnsafeMutablePointer<CChar>.allocate(capacity: size), UInt32(size))
}

private let readyRead: uv_read_cb = { stream, n, buf in
    defer { if let base = buf?.pointee.base { base.deallocate() } }
    guard let data = stream?.pointee.data else { return }
    let child = Unmanaged<ChildProcess>.fromOpaque(data).takeUnretainedValue()
    if n > 0, let base = buf?.pointee.base {
        child.readBytes(UnsafeRawBufferPointer(start: base, count: Int(n)))
    } else if n < 0 {
        child.pipeEnded()
    }
}

private let releaseAndFree: uv_close_cb = { h in
    guard let h else { return }
    if let data = h.pointee.data { Unmanaged<ChildProcess>.fromOpaque(data).release() }
    UnsafeMutableRawPointer(h).deallocate()
}

private let freeHandle: uv_close_cb = { h in
    if let h { UnsafeMutableRawPointer(h).deallocate() }
}

/// The supervisor's own environment, as a dictionary.
enum ProcessEnvironment {
    static func current() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}

/// `text` with every `token` replaced by `value`.
func substitute(_ text: String, _ token: String, _ value: String) -> String {
    guard !token.isEmpty else { return text }
    var out = ""
    var rest = Substring(text)
    while let r = rest.firstRange(of: token) {
        out += rest[..<r.lowerBound]
        out += value
        rest = rest[r.upperBound...]
    }
    return out + rest
}
