import CSupport
import MCPCore
import WireProtocol

extension StreamConnection {
    /// Calls `body` for each complete frame in the read buffer, then consumes them. The payload
    /// pointer is valid only during the call; retain `readChunk` to keep it longer.
    /// Returns false after a malformed frame (the caller closes the link).
    public func forEachFrame(maxPayload: Int = FrameHeader.maxPayload,
                             _ body: (FrameHeader, UnsafeRawBufferPointer) -> Void) -> Bool {
        var consumed = 0
        defer { if consumed > 0 { consume(consumed) } }
        while true {
            let bytes = readable
            let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
            let frame: (header: FrameHeader, payload: Range<Int>)?
            do { frame = try FrameParser.next(rest, maxPayload: maxPayload) } catch { return false }
            guard let frame else {
                // Make room for the whole frame at once instead of growing step by step.
                if let size = FrameParser.frameSize(rest), size > rest.count, size <= maxPayload + FrameHeader.size {
                    if consumed > 0 { consume(consumed); consumed = 0 }
                    _ = reserve(size)
                }
                return true
            }
            body(frame.header, UnsafeRawBufferPointer(rebasing: rest[frame.payload]))
            if isClosed { return true }
            if frameKept {
                // `keepFrame` took everything up to this frame's end out of the buffer.
                frameKept = false
                consumed = 0
                continue
            }
            consumed += frame.payload.upperBound
        }
    }

    /// Inside `forEachFrame`'s body, for a large payload a handler keeps beyond the callback (a
    /// CALL whose tool runs on another thread): the payload stays where it was read, and the
    /// chunk holding it leaves the read buffer, detached from the pool, owned by the returned
    /// object. A copy when the chunk is shared. `payload` must be the one the body was given.
    public func keepFrame(_ payload: UnsafeRawBufferPointer) -> FrameBytes {
        if let chunkStart = sy_inbuf_data(inbuf), let p = payload.baseAddress {
            let offset = p - UnsafeRawPointer(chunkStart)
            if offset >= 0, offset + payload.count <= readable.count,
               let (chunk, start) = takeReadBytes(offset + payload.count) {
                frameKept = true
                return FrameBytes(adopting: chunk, offset: start + offset, count: payload.count)
            }
        }
        return FrameBytes(copying: payload)
    }

    /// Queues one frame (header and a copy of the payload).
    public func writeFrame(_ type: FrameType, stream: UInt64, payload: UnsafeRawBufferPointer,
                           compressed: Bool = false) {
        var header = [UInt8](repeating: 0, count: FrameHeader.size)
        header.withUnsafeMutableBytes {
            FrameHeader(type: type, stream: stream, length: payload.count, compressed: compressed)
                .encode(into: $0.baseAddress!)
        }
        write(header)
        write(payload)
    }

    public func writeFrame(_ type: FrameType, stream: UInt64, payload: [UInt8] = [], compressed: Bool = false) {
        payload.withUnsafeBytes { writeFrame(type, stream: stream, payload: $0, compressed: compressed) }
    }
}
