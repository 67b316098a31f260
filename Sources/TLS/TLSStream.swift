import CLibUV
import CSupport
import CTLS
import EventLoop

/// A server-side (or, for tests, client-side) TLS connection over another `ByteStream` (the
/// socket's `StreamConnection`): a `ByteStream` itself, so `HTTPConnection` parses plaintext
/// in place from `readable` and never knows it is encrypted.
///
/// Read path: the transport's pooled ciphertext is fed to OpenSSL in place (no copy into a BIO);
/// records are decrypted into this stream's own pooled read buffer, which the owner parses and
/// slices as it would a socket's. Write path: writes of a loop turn are staged in one pooled chunk
/// and encrypted together at the end of the turn (`TLSTurn`); the records are copied into the
/// transport's output queue, which leaves in the same writev as ever. Handshake messages are answered as they come.
///
/// Ownership: this object owns the OpenSSL connection (freed when the transport's close
/// completes, or in `deinit`), its plaintext read buffer and staging chunk (given back on close).
/// It holds the transport strongly and is the transport's delegate. Thread: the loop thread only.
public final class TLSStream: ByteStream, ByteStreamDelegate {
    public let transport: any ByteStream
    @exclusivity(unchecked) public weak var delegate: (any ByteStreamDelegate)?
    private let turn: TLSTurn
    private let context: TLSContext
    /// The OpenSSL connection (`sy_tls_conn_t`); nil once the transport's close completed.
    @exclusivity(unchecked) var connection: OpaquePointer?
    private let inbuf: UnsafeMutablePointer<sy_inbuf_t>
    /// Plaintext written this turn and not yet encrypted: `staged.data[0..<stagedLength]`.
    @exclusivity(unchecked) private var staged: UnsafeMutablePointer<sy_chunk_t>?
    @exclusivity(unchecked) private var stagedLength = 0
    @exclusivity(unchecked) private var queuedForTurn = false
    @exclusivity(unchecked) private var resumeInput = false
    @exclusivity(unchecked) private var reading = false
    @exclusivity(unchecked) private var closing = false
    @exclusivity(unchecked) public private(set) var isClosed = false
    /// A TLS failure or the peer's close_notify, reported instead of the transport's status.
    @exclusivity(unchecked) private var closeStatus: Int32?
    @exclusivity(unchecked) private var handshakeDone = false
    /// Free tail room asked of the plaintext buffer before each decryption (a record is at most 16 KiB).
    public var readSize = 16 * 1024
    /// Writes at least this long are encrypted from where they lie instead of being staged.
    static let directWrite = 16 * 1024

    /// The verified client certificate's subject (RFC 2253), once the handshake is done; nil when
    /// the client sent none or the context does not ask for one.
    public private(set) var peerCertificateSubject: String?
    /// Loop time of the accept: the handshake must finish within the head timeout of it.
    public let startedAt: UInt64
    /// Why the connection failed, for a debug log (OpenSSL's reason; never key material).
    public private(set) var failureReason: String?
    /// Told once when the handshake completes (metrics, tests).
    public var onHandshake: ((TLSStream) -> Void)?

    public init(transport: any ByteStream, context: TLSContext, turn: TLSTurn) {
        self.transport = transport
        self.context = context
        self.turn = turn
        inbuf = .allocate(capacity: 1)
        inbuf.initialize(to: sy_inbuf_t())
        connection = sy_tls_conn_new(context.ctx, turn.output)
        startedAt = transport.now
        transport.delegate = self
        if connection == nil { transport.close() }
    }

    deinit {
        releaseBuffers()
        sy_tls_conn_free(connection)
        inbuf.deallocate()
    }

    /// The handshake has not completed yet (and the stream is open).
    public var isHandshaking: Bool { !handshakeDone && !closing && !isClosed }
    /// The session was resumed from a ticket rather than a full handshake.
    public var sessionReused: Bool { connection.map { sy_tls_session_reused($0) != 0 } ?? false }
    /// The negotiated ALPN protocol ("http/1.1"), or nil.
    public var negotiatedProtocol: String? {
        guard let c = connection else { return nil }
        var p: UnsafePointer<CChar>?
        var n = 0
        sy_tls_alpn(c, &p, &n)
        guard let p, n > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }
    /// "TLSv1.3", "TLSv1.2".
    public var protocolVersion: String? { connection.map { String(cString: sy_tls_version($0)) } }

    /// Client side (tests): sends the ClientHello.
    public func connect() {
        guard let c = connection else { return }
        _ = sy_tls_connect(c)
        drainOutput()
    }

    // MARK: ByteStream: reading

    public var readable: UnsafeRawBufferPointer { inbuf.unconsumed }

    public var readChunk: UnsafeMutablePointer<sy_chunk_t>? { inbuf.pointee.chunk }

    public var mutableReadBase: UnsafeMutablePointer<UInt8>? { inbuf.mutableBase }

    public func consume(_ n: Int) {
        guard !isClosed else { return }
        sy_inbuf_consume(inbuf, n)
    }

    public func reserve(_ total: Int) -> Bool {
        guard !isClosed, !closing else { return false }
        return sy_inbuf_reserve(inbuf, turn.pool, total) == 0
    }

    public func startReading() {
        guard !reading, !closing, !isClosed else { return }
        reading = true
        transport.startReading()
        // Ciphertext left in the transport (reading was paused) arrives with no new read:
        // go back to it later in this turn, not from inside this call.
        if transport.readable.count > 0 || (connection.map { sy_tls_has_pending($0) != 0 } ?? false) {
            resumeInput = true
            enqueueForTurn()
        }
    }

    public func stopReading() {
        reading = false
        transport.stopReading()
    }

    // MARK: ByteStreamDelegate (the transport)

    public func streamReadable(_ stream: any ByteStream) { decrypt() }

    public func streamClosed(_ stream: any ByteStream, status: Int32) {
        isClosed = true
        closing = true
        releaseBuffers()
        sy_tls_conn_free(connection)
        connection = nil
        delegate?.streamClosed(self, status: closeStatus ?? status)
    }

    /// Feeds the transport's ciphertext to OpenSSL and hands the plaintext to the delegate,
    /// until the ciphertext is used up, reading stops, or the stream closes.
    private func decrypt() {
        while !closing, let c = connection {
            let cipher = transport.readable
            guard cipher.count > 0 || sy_tls_has_pending(c) != 0 else { return }
            var buf = uv_buf_t()
            guard sy_inbuf_alloc(inbuf, turn.pool, readSize, &buf) == 0, let dst = buf.base else {
                fail(status: UV_ENOBUFS.rawValue)
                return
            }
            var used = 0, produced = 0
            let rc = sy_tls_read(c, cipher.baseAddress?.assumingMemoryBound(to: UInt8.self), cipher.count, &used,
                                 UnsafeMutableRawPointer(dst).assumingMemoryBound(to: UInt8.self), Int(buf.len),
                                 &produced)
            transport.consume(used)
            if produced > 0 { sy_inbuf_commit(inbuf, produced) }
            if !handshakeDone && sy_tls_handshake_done(c) != 0 { handshakeCompleted(c) }
            if rc == Int32(SY_TLS_ERROR) {
                failHandshakeOrRecord(c)
                return
            }
            drainOutput()
            if produced > 0 && reading { delegate?.streamReadable(self) }
            if rc == Int32(SY_TLS_CLOSED) {
                // close_notify: what was decrypted before it has been delivered; end like EOF.
                closeStatus = UV_EOF.rawValue
                closeWhenFlushed()
                return
            }
            if produced == 0 || !reading { return }
        }
    }

    private func handshakeCompleted(_ c: OpaquePointer) {
        handshakeDone = true
        if context.verifiesPeers {
            var text = [UInt8](repeating: 0, count: 1024)
            let n = text.withUnsafeMutableBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { sy_tls_peer_subject(c, $0.baseAddress, $0.count) }
            }
            if n > 0 { peerCertificateSubject = String(decoding: text[0..<Int(n)], as: UTF8.self) }
        }
        onHandshake?(self)
        // Writes made before the handshake finished (none in HTTP) leave now.
        if stagedLength > 0 { enqueueForTurn() }
    }

    /// A fatal TLS error: the alert OpenSSL queued goes out, then the connection closes. Plain
    /// HTTP sent to this port gets a plain 400 that says so, as nginx does.
    private func failHandshakeOrRecord(_ c: OpaquePointer) {
        failureReason = lastError(c)
        closeStatus = UV_EPROTO.rawValue
        if !handshakeDone && sy_tls_failed_on_plain_http(c) != 0 {
            turn.output.pointee.len = 0
            transport.write(TLSStream.plainHTTPAnswer)
        } else {
            drainOutput()
        }
        closing = true
        reading = false
        transport.closeWhenFlushed()
    }

    private func lastError(_ c: OpaquePointer) -> String {
        var text = [UInt8](repeating: 0, count: 256)
        text.withUnsafeMutableBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { sy_tls_last_error(c, $0.baseAddress, $0.count) }
        }
        return String(decoding: text.prefix { $0 != 0 }, as: UTF8.self)
    }

    static let plainHTTPAnswer: StaticString = """
        HTTP/1.1 400 Bad Request\r
        Content-Type: text/plain\r
        Content-Length: 34\r
        Connection: close\r
        \r
        This port speaks HTTPS, not HTTP.

        """

    private func fail(status: Int32) {
        closeStatus = status
        close()
    }

    // MARK: ByteStream: writing

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !closing, !isClosed, bytes.count > 0, let base = bytes.baseAddress else { return }
        if bytes.count >= TLSStream.directWrite && handshakeDone {
            // A large body: encrypt from where it lies, after what was staged before it.
            encryptStaged()
            encrypt(base, bytes.count)
            drainOutput()
            return
        }
        guard stage(base, bytes.count) else { fail(status: UV_ENOBUFS.rawValue); return }
        enqueueForTurn()
    }

    public func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }

    public func write(_ string: StaticString) {
        write(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    public func write(_ string: String) {
        var s = string
        s.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Encryption copies the bytes anyway: the chunk need not be retained.
    public func write(chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer) { write(bytes) }

    /// Copies into the staging chunk. When it is full, what it holds is encrypted (or, before the
    /// handshake is done, the chunk grows); a fresh chunk is always large enough for `n`.
    private func stage(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        if let s = staged, stagedLength + n > Int(s.pointee.cap) {
            if handshakeDone {
                encryptStaged()
            } else {
                guard let bigger = sy_chunk_get(turn.pool, stagedLength + n) else { return false }
                chunkBytes(bigger).copyMemory(from: chunkBytes(s), byteCount: stagedLength)
                sy_chunk_release(s)
                staged = bigger
            }
        }
        if staged == nil {
            guard let s = sy_chunk_get(turn.pool, max(n, 4096)) else { return false }
            staged = s
            stagedLength = 0
        }
        guard let s = staged else { return false }
        (chunkBytes(s) + stagedLength).copyMemory(from: p, byteCount: n)
        stagedLength += n
        return true
    }

    private func chunkBytes(_ c: UnsafeMutablePointer<sy_chunk_t>) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(c).advanced(by: MemoryLayout<sy_chunk_t>.size)
    }

    private func encryptStaged() {
        guard handshakeDone, let s = staged else { return }
        if stagedLength > 0 { encrypt(chunkBytes(s), stagedLength) }
        sy_chunk_release(s)
        staged = nil
        stagedLength = 0
    }

    private func encrypt(_ p: UnsafeRawPointer, _ n: Int) {
        guard let c = connection else { return }
        if sy_tls_write(c, p, n) != 0 {
            failureReason = lastError(c)
            fail(status: UV_EPROTO.rawValue)
        }
    }

    /// Hands OpenSSL's records to the transport (copied into its output queue).
    private func drainOutput() {
        let out = turn.output
        guard out.pointee.len > 0 else { return }
        transport.write(UnsafeRawBufferPointer(start: out.pointee.data, count: out.pointee.len))
        out.pointee.len = 0
    }

    private func enqueueForTurn() {
        guard !queuedForTurn else { return }
        queuedForTurn = true
        turn.enqueue(self)
    }

    /// Called by `TLSTurn` at the end of the loop turn: input left from a paused read, then the
    /// turn's writes as one encryption.
    func endOfTurn() {
        queuedForTurn = false
        guard !closing, !isClosed else { return }
        if resumeInput {
            resumeInput = false
            if reading { decrypt() }
        }
        guard !closing else { return }
        encryptStaged()
        drainOutput()
    }

    // MARK: ByteStream: closing

    /// Encrypts what is staged, sends close_notify, and closes once the transport has written it all.
    public func closeWhenFlushed() {
        guard !closing, !isClosed else { return }
        encryptStaged()
        if let c = connection { sy_tls_shutdown(c) }
        drainOutput()
        closing = true
        reading = false
        transport.closeWhenFlushed()
    }

    public func close() {
        guard !closing, !isClosed else { return }
        closing = true
        reading = false
        transport.close()
    }

    private func releaseBuffers() {
        sy_inbuf_reset(inbuf)
        if let s = staged { sy_chunk_release(s) }
        staged = nil
        stagedLength = 0
    }

    // MARK: ByteStream: clock

    public var now: UInt64 { transport.now }

    public func schedule(after ms: UInt64, _ work: @escaping () -> Void) { transport.schedule(after: ms, work) }
}
