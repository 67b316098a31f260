import CSupport

/// What a byte stream tells its owner. Thread: the stream's loop thread.
public protocol ByteStreamDelegate: AnyObject {
    /// New bytes are in `stream.readable`; consume what was handled with `stream.consume(_:)`.
    func streamReadable(_ stream: any ByteStream)
    /// The peer closed, an error occurred, or `close()` was called; `status` is 0 or a libuv error.
    /// Called once, from a later loop turn than the `close()` that caused it, never from inside it.
    func streamClosed(_ stream: any ByteStream, status: Int32)
    /// The peer ended its side (end of file): `stream.readable` still holds what was not
    /// consumed, a last message without its terminator for instance; `streamClosed` follows.
    func streamReachedEnd(_ stream: any ByteStream)
}

extension ByteStreamDelegate {
    /// Most protocols drop an unterminated tail (an HTTP request cut short is no request).
    public func streamReachedEnd(_ stream: any ByteStream) {}
}

/// A connected byte stream as a protocol handler sees it: a pooled read buffer that is parsed
/// in place, an output queue, and the loop's clock and timers. `StreamConnection` (a libuv
/// socket) is the production conformer; `MemoryStream` (target EventLoopTesting) lets tests
/// drive a handler byte by byte with a clock they advance, without sockets.
///
/// Reads arrive through `delegate`, one `streamReadable` per read, while reading is started.
/// Writes are queued and leave at the end of the loop turn, in order; `close()` drops what has
/// not left yet, `closeWhenFlushed()` does not. A closed stream may still be asked anything and
/// touches no freed memory: `readable` is empty, `readChunk` and `mutableReadBase` are nil,
/// `reserve` returns false, and `consume`, writes, reading and closing again do nothing (owners
/// such as a call in flight may outlive the connection). Handlers hold the stream as `any ByteStream`:
/// conformers are final classes, so each call is one witness-table call and allocates nothing.
/// Thread: the loop thread only.
public protocol ByteStream: AnyObject {
    /// Ownership: not retained (conformers hold it `weak`).
    var delegate: (any ByteStreamDelegate)? { get set }

    /// The received, unconsumed bytes. Valid until the next read, `consume` or `reserve`.
    var readable: UnsafeRawBufferPointer { get }
    /// The pooled chunk holding `readable` (nil when nothing is buffered); retain it to keep
    /// slices of the bytes beyond this read.
    var readChunk: UnsafeMutablePointer<sy_chunk_t>? { get }
    /// The first byte of `readable`, writable, for decoding in place (chunked bodies).
    var mutableReadBase: UnsafeMutablePointer<UInt8>? { get }
    /// Marks the first `n` bytes of `readable` handled.
    func consume(_ n: Int)
    /// Makes the read buffer able to hold `total` unconsumed bytes in one piece; false when out
    /// of memory. May move the bytes: re-read `readable` afterwards.
    func reserve(_ total: Int) -> Bool

    /// Queues a copy of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer)
    func write(_ bytes: [UInt8])
    func write(_ string: StaticString)
    func write(_ string: String)
    /// Queues bytes that live in `chunk` without copying; the stream retains the chunk until
    /// they are written or dropped.
    func write(chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer)

    /// Starts delivering reads (from a later loop turn, not from inside this call).
    func startReading()
    /// Stops delivering reads; bytes that arrive meanwhile wait.
    func stopReading()
    /// Closes after everything queued so far has been written.
    func closeWhenFlushed()
    /// Closes now; queued bytes not yet written are dropped. `delegate.streamClosed` follows.
    func close()
    /// True once the close has completed (`delegate.streamClosed` has been called).
    var isClosed: Bool { get }

    /// Milliseconds on the loop's clock (cached per loop turn).
    var now: UInt64 { get }
    /// Runs `work` once on the loop thread after `ms` milliseconds of the loop's clock. The
    /// timer does not keep the loop alive on its own. Not for the per-request path (it allocates).
    func schedule(after ms: UInt64, _ work: @escaping () -> Void)
}

/// A delegate for owners that hold the concrete `StreamConnection` (executor links, the
/// supervisor's heartbeat, the load generator): the same events, typed for that stream.
public protocol StreamDelegate: ByteStreamDelegate {
    func streamReadable(_ stream: StreamConnection)
    func streamClosed(_ stream: StreamConnection, status: Int32)
}

extension StreamDelegate {
    // A `StreamDelegate` is the delegate of a `StreamConnection` only: giving one to another
    // kind of stream is a programming error, which `unsafeDowncast` catches in debug builds.
    // Inlinable, so that each conformer's witness calls its own method directly.
    @inlinable
    public func streamReadable(_ stream: any ByteStream) {
        streamReadable(unsafeDowncast(stream, to: StreamConnection.self))
    }

    @inlinable
    public func streamClosed(_ stream: any ByteStream, status: Int32) {
        streamClosed(unsafeDowncast(stream, to: StreamConnection.self), status: status)
    }
}

/// The received bytes of a stream kept in an `sy_inbuf_t` (every conformer above keeps them
/// so): what `readable`, `readChunk` and `mutableReadBase` return, written once.
extension UnsafeMutablePointer where Pointee == sy_inbuf_t {
    /// The unconsumed bytes (empty when nothing is buffered).
    @inlinable
    public var unconsumed: UnsafeRawBufferPointer {
        guard let p = sy_inbuf_data(self) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: sy_inbuf_length(self))
    }

    /// The first unconsumed byte, writable (nil when nothing is buffered).
    @inlinable
    public var mutableBase: UnsafeMutablePointer<UInt8>? {
        guard let c = pointee.chunk else { return nil }
        return UnsafeMutableRawPointer(c).advanced(by: MemoryLayout<sy_chunk_t>.size)
            .assumingMemoryBound(to: UInt8.self).advanced(by: Int(pointee.start))
    }
}
