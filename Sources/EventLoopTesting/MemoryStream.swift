// Test doubles for EventLoop's seams, in their own target (like SwiftNIO's NIOEmbedded) so that
// no production binary links them, and any test target can: it depends on EventLoop for the
// `ByteStream` protocol and on CSupport for real pooled read buffers, and it opens no socket,
// starts no libuv loop and arms no libuv timer.
import CLibUV
import CSupport
import EventLoop

/// One end of a connection held in memory: the code under test sees a `ByteStream`; the test
/// plays the peer. What the test sends is read into a real `sy_inbuf_t` over `loop.pool`, the
/// same read buffer a `StreamConnection` uses, so in-place parsing, `reserve`, `readChunk` and
/// zero-copy slices behave as in production. What the code writes is queued as a socket's
/// output queue is (slices retain their chunk), and reaches `written` when the loop flushes it.
///
/// Timing follows libuv: reads, flushes and the close complete on a later turn of `loop`
/// (`ManualLoop.run()`), never inside the call that caused them; `send` runs the loop.
/// Ownership: the read buffer and queued slices are released when the close completes, or on
/// deinit. Thread: the test's thread only.
public final class MemoryStream: ByteStream {
    public let loop: ManualLoop
    public weak var delegate: (any ByteStreamDelegate)?
    /// Free tail room asked of the read buffer before each read (as `StreamConnection.readSize`).
    public var readSize = 16 * 1024
    /// The most bytes one read delivers (a socket may return fewer than were sent).
    public var maxReadLength = Int.max

    private let inbuf: UnsafeMutablePointer<sy_inbuf_t>
    /// Sent by the peer and not yet read.
    private var incoming: [UInt8] = []
    private var peerClosed = false
    private enum Queued {
        case copy([UInt8])
        /// Holds one reference on the chunk.
        case slice(UnsafeMutablePointer<sy_chunk_t>, UnsafeRawBufferPointer)
    }
    private var output: [Queued] = []
    private var deliveryScheduled = false
    private var flushScheduled = false
    private var closeAfterFlush = false

    /// Every byte that reached the peer, in order.
    public private(set) var written: [UInt8] = []
    /// Reads are being delivered (started and not stopped or closed).
    public private(set) var isReading = false
    /// `close()` was called (or the peer's close was read); the close completes on a later turn.
    public private(set) var isClosing = false
    /// The close completed and the delegate was told.
    public private(set) var isClosed = false
    /// The status given to the delegate on close: 0, or a libuv error (`UV_EOF` for the peer's close).
    public private(set) var closeStatus: Int32?

    /// The close status after the peer's close was read (libuv's `UV_EOF`).
    public static let peerClosedStatus = UV_EOF.rawValue

    public init(loop: ManualLoop) {
        self.loop = loop
        inbuf = .allocate(capacity: 1)
        inbuf.initialize(to: sy_inbuf_t())
    }

    deinit {
        releaseBuffers()
        inbuf.deallocate()
    }

    // MARK: the peer (the test)

    /// The peer sends `bytes`; they are read on the next turn if reading, which this runs.
    public func send(_ bytes: [UInt8]) {
        incoming += bytes
        scheduleDelivery()
        loop.run()
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// The peer closes its side: once what it sent is read, the stream closes with `UV_EOF`.
    public func sendEOF() {
        peerClosed = true
        scheduleDelivery()
        loop.run()
    }

    /// Bytes sent by the peer and not read yet (reading is stopped, or the turn has not run).
    public var unreadCount: Int { incoming.count }

    /// What reached the peer so far, as text; `takeWritten` also forgets it.
    public var writtenText: String { String(decoding: written, as: UTF8.self) }

    public func takeWritten() -> String {
        defer { written.removeAll() }
        return writtenText
    }

    // MARK: ByteStream: reading

    public var readable: UnsafeRawBufferPointer { inbuf.unconsumed }

    public var readChunk: UnsafeMutablePointer<sy_chunk_t>? { inbuf.pointee.chunk }

    public var mutableReadBase: UnsafeMutablePointer<UInt8>? { inbuf.mutableBase }

    public func consume(_ n: Int) {
        guard !isClosed else { return } // as StreamConnection: nothing is left to consume
        precondition(n >= 0 && n <= sy_inbuf_length(inbuf), "consume(\(n)) beyond the readable bytes")
        sy_inbuf_consume(inbuf, n)
    }

    /// False once closing, as `StreamConnection.reserve`: a closed stream takes no chunk.
    public func reserve(_ total: Int) -> Bool {
        guard !isClosing else { return false }
        return sy_inbuf_reserve(inbuf, loop.pool, total) == 0
    }

    public func startReading() {
        guard !isReading, !isClosing else { return }
        isReading = true
        scheduleDelivery()
    }

    public func stopReading() { isReading = false }

    private func scheduleDelivery() {
        guard !deliveryScheduled, isReading, !incoming.isEmpty || peerClosed else { return }
        deliveryScheduled = true
        loop.enqueue { [self] in deliver() }
    }

    /// One turn's reads: as libuv does, read into the buffer's tail and tell the delegate,
    /// again and again while reading stays on and the peer has sent more.
    private func deliver() {
        deliveryScheduled = false
        while isReading, !isClosing {
            if incoming.isEmpty {
                if peerClosed {
                    delegate?.streamReachedEnd(self)
                    close(status: MemoryStream.peerClosedStatus)
                }
                return
            }
            var buf = uv_buf_t()
            guard sy_inbuf_alloc(inbuf, loop.pool, readSize, &buf) == 0, let base = buf.base else {
                close(status: UV_ENOBUFS.rawValue)
                return
            }
            let n = min(Int(buf.len), incoming.count, maxReadLength)
            incoming.withUnsafeBytes { UnsafeMutableRawPointer(base).copyMemory(from: $0.baseAddress!, byteCount: n) }
            incoming.removeFirst(n)
            sy_inbuf_commit(inbuf, n)
            delegate?.streamReadable(self)
        }
    }

    // MARK: ByteStream: writing

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosing, bytes.count > 0 else { return }
        output.append(.copy(Array(bytes)))
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

    public func write(chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer) {
        guard !isClosing, bytes.count > 0 else { return }
        sy_chunk_retain(chunk)
        output.append(.slice(chunk, bytes))
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.enqueue { [self] in flush() }
    }

    /// The end of a turn: everything queued reaches the peer.
    private func flush() {
        flushScheduled = false
        guard !isClosing else { return }
        for entry in output {
            switch entry {
            case .copy(let b): written += b
            case .slice(let c, let b):
                written += b
                sy_chunk_release(c)
            }
        }
        output.removeAll()
        if closeAfterFlush { close() }
    }

    // MARK: ByteStream: closing

    public func closeWhenFlushed() {
        guard !isClosing else { return }
        closeAfterFlush = true
        stopReading()
        if output.isEmpty { close() } else { scheduleFlush() }
    }

    public func close() { close(status: 0) }

    /// Closes with `status` for the delegate (0 or a libuv error), as `StreamConnection.close(status:)`.
    public func close(status: Int32) {
        guard !isClosing else { return }
        isClosing = true
        isReading = false
        closeStatus = status
        loop.enqueue { [self] in
            isClosed = true
            releaseBuffers()
            delegate?.streamClosed(self, status: status)
        }
    }

    /// Drops unwritten output and the read buffer, with the chunk references they hold.
    private func releaseBuffers() {
        for case .slice(let c, _) in output { sy_chunk_release(c) }
        output.removeAll()
        sy_inbuf_reset(inbuf)
    }

    // MARK: ByteStream: clock

    public var now: UInt64 { loop.now }

    public func schedule(after ms: UInt64, _ work: @escaping () -> Void) { loop.schedule(after: ms, work) }
}
