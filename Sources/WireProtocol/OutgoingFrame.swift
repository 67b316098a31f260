import CSupport
import MCPCore

/// A frame written where it is sent from: a detached chunk whose first 20 bytes are kept for the
/// header, the payload appended after them as it is built (a tool's result, escaped straight in),
/// then the header filled in once the length is known. A link queues the chunk itself for its
/// writev: the payload is never copied again.
///
/// Ownership: one reference to a detached chunk (`sy_chunk_new_detached`), grown with realloc
/// while it is written; `takeChunk` hands that reference to the sender, else deinit releases it
/// (a detached chunk is freed with free(): any thread).
/// Thread: written by one thread, then handed over whole (through a mailbox) to the loop thread
/// that sends it; never touched by two threads at once.
public final class OutgoingFrame: @unchecked Sendable {
    private var chunk: UnsafeMutablePointer<sy_chunk_t>?
    /// Bytes written, header room included.
    private var used = FrameHeader.size
    /// Large slices of received frames that the payload passes on as they lie (`append(borrowing:)`):
    /// each goes out after the bytes written before it (`at`), from its own chunk.
    private var borrowed: [(bytes: FrameBytes, range: Range<Int>, at: Int)] = []
    private var borrowedCount = 0

    /// Slices at least this large are sent from where they lie rather than copied.
    public static let borrowThreshold = 64 * 1024

    /// `capacity`: expected payload bytes (it grows past them when needed).
    public init(capacity: Int = 256) {
        guard let c = sy_chunk_new_detached(FrameHeader.size + max(capacity, 16)) else {
            fatalError("out of memory: \(capacity) bytes")
        }
        chunk = c
    }

    deinit { if let chunk { sy_chunk_release(chunk) } }

    /// Payload bytes written so far.
    public var payloadCount: Int { used - FrameHeader.size + borrowedCount }

    /// Appends `bytes[range]`: a large slice is not copied but sent from where it lies (the
    /// frame keeps `bytes` alive until then), a small one is copied.
    public func append(borrowing bytes: FrameBytes, range: Range<Int>) {
        guard range.count >= OutgoingFrame.borrowThreshold else {
            bytes.withUnsafeBytes { append(UnsafeRawBufferPointer(rebasing: $0[range])) }
            return
        }
        borrowed.append((bytes, range, used))
        borrowedCount += range.count
    }

    private var data: UnsafeMutableRawPointer { UnsafeMutableRawPointer(chunk!) + MemoryLayout<sy_chunk_t>.size }

    /// Makes room for `n` more bytes (doubling, so appends stay amortized O(1)).
    @inline(__always)
    public func reserve(_ n: Int) {
        let cap = Int(chunk!.pointee.cap)
        if cap - used >= n { return }
        var c = chunk
        guard sy_chunk_grow_detached(&c, max(used + n, cap * 2)) == 0 else { fatalError("out of memory: \(used + n) bytes") }
        chunk = c
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (data + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        used += bytes.count
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    public func append(_ s: StaticString) {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    public func append(byte: UInt8) {
        reserve(1)
        data.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        used += 1
    }

    /// Appends `s` as a JSON string literal: the bytes `JSONValue.appendQuoted` writes, escaped
    /// straight into the frame (runs that need no escape are copied whole).
    public func appendQuoted(_ s: String) {
        var s = s
        s.withUTF8 { appendQuoted(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Appends UTF-8 text (valid UTF-8, as a Swift String's) as a JSON string literal.
    public func appendQuoted(utf8 u: UnsafeRawBufferPointer) {
        reserve(u.count + 2)
        append(byte: UInt8(ascii: "\""))
        guard let base = u.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            append(byte: UInt8(ascii: "\""))
            return
        }
        var clean = 0 // bytes of `u` before `clean` are written already
        var k = 0
        while true {
            k += sy_json_plain_run(base + k, u.count - k)
            guard k < u.count else { break }
            let c = u[k]
            k += 1
            if c >= 0x80 { continue } // UTF-8 goes out as it is
            append(UnsafeRawBufferPointer(rebasing: u[clean..<k - 1]))
            clean = k
            switch c {
            case 0x22: append("\\\"")
            case 0x5C: append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            default:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00")
                append(byte: hex.utf8Start[Int(c >> 4)])
                append(byte: hex.utf8Start[Int(c & 0xF)])
            }
        }
        append(UnsafeRawBufferPointer(rebasing: u[clean...]))
        append(byte: UInt8(ascii: "\""))
    }

    /// Appends the compact JSON of `value` (`JSONValue.write`'s bytes).
    public func append(json value: JSONValue) {
        switch value {
        case .string(let s): appendQuoted(s)
        default:
            var tmp: [UInt8] = []
            value.write(into: &tmp)
            append(tmp)
        }
    }

    /// The payload written so far, valid during `body`: in place, or gathered into one buffer
    /// when it passes slices on (the compressed path, tests).
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if borrowed.isEmpty { return try body(UnsafeRawBufferPointer(start: data + FrameHeader.size, count: payloadCount)) }
        var whole: [UInt8] = []
        whole.reserveCapacity(payloadCount)
        var from = FrameHeader.size
        for b in borrowed {
            whole += UnsafeRawBufferPointer(start: data + from, count: b.at - from)
            b.bytes.withUnsafeBytes { whole += UnsafeRawBufferPointer(rebasing: $0[b.range]) }
            from = b.at
        }
        whole += UnsafeRawBufferPointer(start: data + from, count: used - from)
        return try whole.withUnsafeBytes(body)
    }

    /// A copy of the payload (tests, logs, the compressed path).
    public var payload: [UInt8] { withPayload { Array($0) } }

    /// Whether the whole frame lies in its own buffer (nothing borrowed).
    public var isContiguous: Bool { borrowed.isEmpty }

    /// Fills in the header and lends the whole frame, header and payload in one piece, during
    /// `body` (a small frame is cheaper copied into an output queue beside its neighbours than
    /// queued as a buffer of its own). Only for a contiguous frame.
    public func withFrame<R>(rawType: UInt8, stream: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(borrowed.isEmpty, "a frame with borrowed slices is sent in pieces")
        FrameHeader(rawType: rawType, flags: 0, stream: stream, length: UInt32(payloadCount)).encode(into: data)
        return try body(UnsafeRawBufferPointer(start: data, count: used))
    }

    /// Fills in the header and hands over the frame as the pieces to send in order, each in
    /// the chunk it lies in: the written bytes, and between them the slices passed on.
    /// Ownership: the caller receives one reference per piece (give each to an output queue,
    /// then release it; any thread); the object holds nothing afterwards. Call once.
    public func takePieces(rawType: UInt8, stream: UInt64)
        -> [(chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer)] {
        let c = chunk!
        let d = data
        FrameHeader(rawType: rawType, flags: 0, stream: stream, length: UInt32(payloadCount)).encode(into: d)
        var pieces: [(chunk: UnsafeMutablePointer<sy_chunk_t>, bytes: UnsafeRawBufferPointer)] = []
        pieces.reserveCapacity(1 + 2 * borrowed.count)
        var from = 0
        for b in borrowed {
            if b.at > from {
                sy_chunk_retain(c)
                pieces.append((c, UnsafeRawBufferPointer(start: d + from, count: b.at - from)))
            }
            pieces.append(b.bytes.retainedSlice(b.range))
            from = b.at
        }
        // The last piece takes over this object's own reference.
        pieces.append((c, UnsafeRawBufferPointer(start: d + from, count: used - from)))
        chunk = nil
        borrowed = []
        return pieces
    }
}
