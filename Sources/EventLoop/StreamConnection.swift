import CLibUV
import CSupport
import Glibc

/// A TCP or Unix-socket stream with a pooled read buffer and a batched output queue: the
/// production `ByteStream`. Its owner is told of reads and the close through `delegate`
/// (a `StreamDelegate` for owners that keep this concrete type, see ByteStream.swift).
///
/// Ownership: the libuv handle holds one retained reference to this object from `init` until
/// its close callback. There the handle memory is freed and the read buffer and output queue
/// give their chunks back; the two small structs themselves live until `deinit`, so that every
/// accessor stays safe on a closed stream: `readable` is empty, `readChunk` and
/// `mutableReadBase` are nil, `reserve` fails, `consume`, writes and flushes do nothing, and
/// nothing touches the freed handle.
/// Thread: the loop thread only.
public final class StreamConnection: ByteStream {
    public let loop: Loop
    // State read on every read and write is `@exclusivity(unchecked)`: it is touched on the
    // loop thread only, one statement at a time, never held `inout` across a call, so the
    // runtime's access check (about 100 instructions a touch) can never fire; those checks
    // were a tenth of a front's instructions per request (README.md, "Performance").
    @exclusivity(unchecked) public weak var delegate: (any ByteStreamDelegate)?
    /// The handle, sized for either a TCP or a pipe handle. Freed in the close callback: only
    /// touched while `!isClosed && !closing`.
    let handle: UnsafeMutablePointer<uv_stream_t>
    let inbuf: UnsafeMutablePointer<sy_inbuf_t>
    private let outq: UnsafeMutablePointer<sy_outq_t>
    @exclusivity(unchecked) private var flushScheduled = false
    @exclusivity(unchecked) private var reading = false
    @exclusivity(unchecked) public private(set) var isClosed = false
    @exclusivity(unchecked) private var closing = false
    /// Close once everything queued has been written.
    @exclusivity(unchecked) private var closeAfterFlush = false
    /// Free tail room asked of the read buffer before each read.
    @exclusivity(unchecked) public var readSize = 16 * 1024
    /// Arbitrary per-connection state for the owner.
    public var context: AnyObject?
    /// Which of the loop's byte counters this stream adds to (see `Loop.bytesIn`).
    @exclusivity(unchecked) public var trafficClass = 0
    /// Set by `keepFrame` inside `forEachFrame`: the frame's bytes left the read buffer.
    @exclusivity(unchecked) var frameKept = false

    /// Wraps an initialized-but-unused handle memory block; `kind` says how to initialize it.
    init(loop: Loop, handle: UnsafeMutablePointer<uv_stream_t>) {
        self.loop = loop
        self.handle = handle
        inbuf = .allocate(capacity: 1)
        inbuf.initialize(to: sy_inbuf_t())
        outq = .allocate(capacity: 1)
        sy_outq_init(outq, outqDone)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    static func allocateHandle() -> UnsafeMutablePointer<uv_stream_t> {
        let size = max(MemoryLayout<uv_tcp_t>.size, MemoryLayout<uv_pipe_t>.size)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        return raw.assumingMemoryBound(to: uv_stream_t.self)
    }

    /// Frees a handle from `allocateHandle` that libuv never registered (its init failed).
    static func deallocateHandle(_ handle: UnsafeMutablePointer<uv_stream_t>) {
        UnsafeMutableRawPointer(handle).deallocate()
    }

    /// The peer's IP address as text ("127.0.0.5", "::1"), for TCP streams; nil otherwise.
    public func peerAddress() -> String? {
        guard !isClosed, !closing else { return nil }
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let tcp = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_tcp_t.self)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(tcp, $0, &len) }
        }
        guard rc == 0 else { return nil }
        var text = [CChar](repeating: 0, count: 64)
        let family = storage.ss_family
        let ok = withUnsafePointer(to: &storage) { p -> Int32 in
            if family == sa_family_t(AF_INET6) {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_name($0, &text, text.count) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_name($0, &text, text.count) }
        }
        guard ok == 0 else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts reading; bytes arrive through the delegate.
    public func startReading() {
        guard !reading, !isClosed, !closing else { return }
        reading = true
        uv_read_start(handle, streamAlloc, streamRead)
    }

    public func stopReading() {
        guard reading else { return }
        reading = false
        uv_read_stop(handle)
    }

    /// The received, unconsumed bytes. Valid until the next read or `consume`.
    public var readable: UnsafeRawBufferPointer { inbuf.unconsumed }

    /// The chunk holding `readable`, to retain slices of it beyond this read.
    public var readChunk: UnsafeMutablePointer<sy_chunk_t>? { inbuf.pointee.chunk }

    /// The read buffer itself, for in-place decoding (chunked bodies).
    public var mutableReadBase: UnsafeMutablePointer<UInt8>? { inbuf.mutableBase }

    public func consume(_ n: Int) {
        guard !isClosed else { return }
        sy_inbuf_consume(inbuf, n)
    }

    /// Takes the first `n` unconsumed bytes out of the read buffer, in the chunk they were read
    /// into, detached from the pool (`sy_inbuf_take`): nil when the chunk is shared (copy then).
    /// Ownership: the caller gets the chunk's one reference; the bytes start at `offset` in it.
    func takeReadBytes(_ n: Int) -> (chunk: UnsafeMutablePointer<sy_chunk_t>, offset: Int)? {
        guard !isClosed, !closing else { return nil }
        var c: UnsafeMutablePointer<sy_chunk_t>?
        var offset: UInt32 = 0
        guard sy_inbuf_take(inbuf, loop.pool, n, &c, &offset) == 0, let c else { return nil }
        return (c, Int(offset))
    }

    /// Makes the read buffer able to hold `total` unconsumed bytes in one piece; false once
    /// closed (a chunk taken then would never be read).
    public func reserve(_ total: Int) -> Bool {
        guard !isClosed, !closing else { return false }
        return sy_inbuf_reserve(inbuf, loop.pool, total) == 0
    }

    /// Bytes queued or being written: back-pressure for the owner.
    public var outputBacklog: Int { outq.pointee.pending_bytes + outq.pointee.inflight_bytes }

    /// Queues a copy of `bytes`; written at the end of this loop turn.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closing, bytes.count > 0 else { return }
        let rc = sy_outq_copy(outq, loop.pool, handle, bytes.baseAddress, bytes.count)
        if rc != 0 { close(); return }
        loop.bytesOut[trafficClass] &+= UInt64(bytes.count)
        scheduleFlush()
    }

    public func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }

    public func write(_ string: StaticString) {
        write(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    public func write(_ string: String) {
        var s = string
        s.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Queues bytes that live in `chunk` without copying; the chunk is retained until written.
    public func write(chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closing, bytes.count > 0 else { return }
        let rc = sy_outq_ref(outq, loop.pool, handle, chunk, bytes.baseAddress, bytes.count)
        if rc != 0 { close(); return }
        loop.bytesOut[trafficClass] &+= UInt64(bytes.count)
        scheduleFlush()
    }

    private func scheduleFlush() {
        if !flushScheduled {
            flushScheduled = true
            loop.scheduleFlush(self)
        }
    }

    func flushNow() {
        flushScheduled = false
        guard !isClosed, !closing else { return }
        let rc = sy_outq_flush(outq, handle)
        if rc != 0 { close(status: rc); return }
        if closeAfterFlush && outq.pointee.inflight_writes == 0 { close() }
    }

    fileprivate func writeDone(status: Int32) {
        if status != 0 && status != UV_ECANCELED.rawValue { close(status: status); return }
        if closeAfterFlush && outq.pointee.inflight_writes == 0 && outq.pointee.nbufs == 0 { close() }
    }

    /// Closes after everything queued so far has been written.
    public func closeWhenFlushed() {
        guard !isClosed, !closing else { return }
        closeAfterFlush = true
        stopReading()
        if outq.pointee.nbufs == 0 && outq.pointee.inflight_writes == 0 { close() } else { scheduleFlush() }
    }

    /// Closes now; queued bytes not yet handed to the kernel are dropped.
    public func close() { close(status: 0) }

    /// Closes now with `status` (0 or a libuv error) for the delegate.
    public func close(status: Int32) {
        guard !isClosed, !closing else { return }
        closing = true
        reading = false
        closeStatus = status
        uv_close(asHandle(handle), streamClosedCallback)
    }
    private var closeStatus: Int32 = 0

    /// Milliseconds on the loop's clock (cached per turn).
    public var now: UInt64 { loop.now }

    /// Runs `work` once after `ms` on a libuv timer that does not keep the loop alive; the timer
    /// handle is closed after it fires.
    public func schedule(after ms: UInt64, _ work: @escaping () -> Void) {
        Timer.once(loop: loop, after: ms, unref: true, work)
    }

    /// The close callback: libuv is done with the handle. Every write callback ran before it
    /// (with `UV_ECANCELED` for writes still queued), so no request refers to `outq` any more.
    fileprivate func handleClosed() {
        isClosed = true
        sy_inbuf_reset(inbuf)
        sy_outq_discard(outq)
        UnsafeMutableRawPointer(handle).deallocate()
        delegate?.streamClosed(self, status: closeStatus)
        context = nil
    }

    deinit {
        // Only reached after the close callback (the handle held a reference until then).
        sy_inbuf_reset(inbuf)
        sy_outq_discard(outq)
        inbuf.deallocate()
        outq.deallocate()
    }

    fileprivate func allocate(_ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>) {
        if sy_inbuf_alloc(inbuf, loop.pool, readSize, buf) != 0 {
            buf.pointee = uv_buf_init(nil, 0)
        }
    }

    fileprivate func didRead(_ n: Int) {
        if n > 0 {
            sy_inbuf_commit(inbuf, n)
            loop.bytesIn[trafficClass] &+= UInt64(n)
            delegate?.streamReadable(self)
        } else if n < 0 {
            if n == Int(UV_EOF.rawValue) { delegate?.streamReachedEnd(self) }
            close(status: Int32(n))
        } else if sy_inbuf_length(inbuf) == 0 {
            sy_inbuf_reset(inbuf)
        }
    }
}

@inline(__always)
private func connection(_ h: UnsafeMutablePointer<uv_stream_t>?) -> StreamConnection? {
    guard let data = h?.pointee.data else { return nil }
    return Unmanaged<StreamConnection>.fromOpaque(data).takeUnretainedValue()
}

private let streamAlloc: uv_alloc_cb = { h, suggested, buf in
    guard let h, let buf, let data = h.pointee.data else { return }
    Unmanaged<StreamConnection>.fromOpaque(data).takeUnretainedValue().allocate(Int(suggested), buf)
}

private let streamRead: uv_read_cb = { h, n, _ in
    connection(h)?.didRead(Int(n))
}

private let outqDone: sy_outq_done_cb = { h, _, status in
    connection(h)?.writeDone(status: status)
}

private let streamClosedCallback: uv_close_cb = { h in
    guard let data = h?.pointee.data else { return }
    let conn = Unmanaged<StreamConnection>.fromOpaque(data).takeRetainedValue()
    conn.handleClosed()
}
