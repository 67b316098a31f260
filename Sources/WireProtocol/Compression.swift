import CZstd
import MCPCore

/// zstd for frame payloads: a COMPRESSED payload is a 4-byte big-endian uncompressed length
/// followed by one zstd frame (proto, "Compression").
public enum PayloadCompression {
    /// Compression level: 1 is the fastest; a local socket cannot wait for more.
    public static let level: Int32 = 1

    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: 4 + bound)
        let n = out.withUnsafeMutableBytes { o -> Int in
            ZSTD_compress(o.baseAddress! + 4, bound, input.baseAddress, input.count, level)
        }
        precondition(ZSTD_isError(n) == 0, "zstd compression cannot fail on a bounded buffer")
        let len = input.count
        out[0] = UInt8(len >> 24 & 0xFF); out[1] = UInt8(len >> 16 & 0xFF)
        out[2] = UInt8(len >> 8 & 0xFF); out[3] = UInt8(len & 0xFF)
        out.removeLast(bound - n)
        return out
    }

    /// The COMPRESSED payload for `input` when it saves at least an eighth of the bytes; nil when
    /// compression does not pay (random or already compressed bytes: a payload above the
    /// threshold would cost a compression and a decompression to save nothing), so the frame
    /// goes raw.
    public static func compressIfWorthIt(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let packed = compress(input)
        return packed.count <= input.count - input.count / 8 ? packed : nil
    }

    /// Decompresses a COMPRESSED payload into bytes a frame's reader may keep (see `FrameBytes`).
    public static func decompressed(_ payload: UnsafeRawBufferPointer, maxSize: Int = FrameHeader.maxPayload)
        throws(FrameError) -> FrameBytes {
        guard payload.count >= 4 else { throw .badCompression }
        let len = Int(payload[0]) << 24 | Int(payload[1]) << 16 | Int(payload[2]) << 8 | Int(payload[3])
        guard len <= maxSize else { throw .tooLarge }
        return try FrameBytes(capacity: len) { (o) throws(FrameError) -> Int in
            if len == 0 { return 0 }
            let n = ZSTD_decompress(o.baseAddress, len, payload.baseAddress! + 4, payload.count - 4)
            guard ZSTD_isError(n) == 0, n == len else { throw .badCompression }
            return len
        }
    }

    /// Decompresses a COMPRESSED payload whose uncompressed size is at most `maxSize`.
    public static func decompress(_ payload: UnsafeRawBufferPointer, maxSize: Int = FrameHeader.maxPayload)
        throws(FrameError) -> [UInt8] {
        guard payload.count >= 4 else { throw .badCompression }
        let len = Int(payload[0]) << 24 | Int(payload[1]) << 16 | Int(payload[2]) << 8 | Int(payload[3])
        guard len <= maxSize else { throw .tooLarge }
        if len == 0 { return [] }
        var out = [UInt8](repeating: 0, count: len)
        let n = out.withUnsafeMutableBytes { o in
            ZSTD_decompress(o.baseAddress, len, payload.baseAddress! + 4, payload.count - 4)
        }
        guard ZSTD_isError(n) == 0, n == len else { throw .badCompression }
        return out
    }
}
