import CSupport

/// Immutable bytes kept alive by reference: a received frame's payload left where it was read
/// (a pool chunk the read buffer handed over, `sy_inbuf_take`) or a copy. Everything that can
/// read them (`JSONView`, a tool's arguments) holds this object strongly, so the bytes cannot be
/// freed or reused while a reader remains: a view outlives its call safely, by construction.
///
/// Ownership: one reference to a detached chunk (`sy_chunk_detach`: it belongs to no pool),
/// released in deinit on whichever thread drops the last reference; a detached chunk is freed
/// with free(), which any thread may call. Nothing else refers to the chunk.
/// Thread: any; the bytes never change after init.
public final class FrameBytes: @unchecked Sendable {
    private let chunk: UnsafeMutablePointer<sy_chunk_t>
    /// The first byte (inside the chunk's data).
    private let start: UnsafeRawPointer
    /// How many bytes.
    public let count: Int

    /// Adopts the caller's one reference to a detached chunk; the bytes are
    /// `data[offset ..< offset + count]` of it.
    public init(adopting chunk: UnsafeMutablePointer<sy_chunk_t>, offset: Int, count: Int) {
        precondition(chunk.pointee.pool == nil, "FrameBytes needs a detached chunk")
        precondition(offset >= 0 && count >= 0 && offset + count <= Int(chunk.pointee.cap))
        self.chunk = chunk
        self.start = UnsafeRawPointer(FrameBytes.data(chunk)) + offset
        self.count = count
    }

    /// A copy of `bytes` (small payloads, compressed ones once inflated, tests).
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count) { out in
            if bytes.count > 0 { out.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            return bytes.count
        }
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(capacity: bytes.count) { out in
            bytes.withUnsafeBytes { b in
                if b.count > 0 { out.baseAddress!.copyMemory(from: b.baseAddress!, byteCount: b.count) }
            }
            return bytes.count
        }
    }

    /// Bytes written once by `fill`, which returns how many of the `capacity` it wrote.
    public init<E: Error>(capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) {
        guard let c = sy_chunk_new_detached(capacity) else { fatalError("out of memory: \(capacity) bytes") }
        let data = FrameBytes.data(c)
        let n: Int
        do { n = try fill(UnsafeMutableRawBufferPointer(start: data, count: capacity)) } catch {
            sy_chunk_release(c)
            throw error
        }
        precondition(n >= 0 && n <= capacity)
        chunk = c
        start = UnsafeRawPointer(data)
        count = n
    }

    deinit { sy_chunk_release(chunk) }

    /// The chunk holding `bytes[range]`, with a new reference for the caller, and those bytes:
    /// for an output queue that sends them from where they lie. Ownership: the caller releases
    /// the reference (any thread: a detached chunk's count is atomic) once the bytes are sent.
    public func retainedSlice(_ range: Range<Int>) -> (chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        sy_chunk_retain(chunk)
        return (chunk, UnsafeRawBufferPointer(start: start + range.lowerBound, count: range.count))
    }

    /// The bytes, valid during `body` only (this object is alive at least that long).
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(self) { () throws(E) -> R in try body(unsafeBytes) }
    }

    /// The bytes, for code that keeps this object alive while it reads them.
    @usableFromInline
    var unsafeBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }

    static func data(_ c: UnsafeMutablePointer<sy_chunk_t>) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(c) + MemoryLayout<sy_chunk_t>.size
    }
}
