import CSupport

/// Message types of the executor protocol (proto/executor-protocol.md, "Message types").
public enum FrameType: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case ready = 0x02
    case call = 0x10
    case result = 0x11
    case error = 0x12
    case progress = 0x13
    case notify = 0x14
    case cancel = 0x15
    case ping = 0x20
    case pong = 0x21
    case drain = 0x30
    case goodbye = 0x31
}

/// Frame types added to protocol version 1 for server-to-client requests and catalog changes
/// (proto/executor-protocol.md, "Message types"): REQUEST and CATALOG go executor → front,
/// RESPONSE goes front → executor.
///
/// They are a separate enum, not `FrameType` cases, so that exhaustive switches over
/// `FrameType` written before them keep compiling (a receiver that does not know them sees
/// `FrameHeader.type == nil` and skips the frame, as the protocol requires). Match them with
/// `FrameHeader.extraType`; write them with `Frame.encode(_:stream:payload:)`.
public enum ExtraFrameType: UInt8, Sendable, CaseIterable {
    /// Executor → front, stream = the call's id: a request for the client (sampling, elicitation, roots).
    case request = 0x16
    /// Front → executor, stream = the call's id or 0: the client's answer to a REQUEST.
    case response = 0x17
    /// Executor → front, stream 0: the executor's whole new catalog.
    case catalog = 0x18
}

/// Whole frames as bytes, for any type byte.
public enum Frame {
    /// Header and payload of one frame.
    public static func encode(rawType: UInt8, stream: UInt64, payload: [UInt8], compressed: Bool = false) -> [UInt8] {
        var h = FrameHeader(rawType: rawType, flags: 0, stream: stream, length: UInt32(payload.count))
        if compressed { h.flags = UInt8(SY_FRAME_FLAG_COMPRESSED) }
        return h.bytes + payload
    }

    public static func encode(_ type: FrameType, stream: UInt64, payload: [UInt8] = []) -> [UInt8] {
        encode(rawType: type.rawValue, stream: stream, payload: payload)
    }

    public static func encode(_ type: ExtraFrameType, stream: UInt64, payload: [UInt8] = []) -> [UInt8] {
        encode(rawType: type.rawValue, stream: stream, payload: payload)
    }
}

/// The 20-byte frame header.
public struct FrameHeader: Sendable, Equatable {
    public static let size = Int(SY_FRAME_HEADER_SIZE)
    public static let version: UInt8 = UInt8(SY_FRAME_VERSION)
    public static let maxPayload = Int(SY_FRAME_MAX_PAYLOAD)

    /// The raw type byte; unknown types are skipped by receivers.
    public var rawType: UInt8
    public var flags: UInt8
    public var stream: UInt64
    public var length: UInt32

    public var type: FrameType? { FrameType(rawValue: rawType) }
    /// REQUEST, RESPONSE or CATALOG; nil for every other type byte.
    public var extraType: ExtraFrameType? { ExtraFrameType(rawValue: rawType) }
    public var isCompressed: Bool { flags & UInt8(SY_FRAME_FLAG_COMPRESSED) != 0 }

    public init(type: FrameType, stream: UInt64, length: Int, compressed: Bool = false) {
        self.rawType = type.rawValue
        self.flags = compressed ? UInt8(SY_FRAME_FLAG_COMPRESSED) : 0
        self.stream = stream
        self.length = UInt32(length)
    }

    public init(type: ExtraFrameType, stream: UInt64, length: Int, compressed: Bool = false) {
        self.rawType = type.rawValue
        self.flags = compressed ? UInt8(SY_FRAME_FLAG_COMPRESSED) : 0
        self.stream = stream
        self.length = UInt32(length)
    }

    public init(rawType: UInt8, flags: UInt8, stream: UInt64, length: UInt32) {
        self.rawType = rawType; self.flags = flags; self.stream = stream; self.length = length
    }

    /// Writes the header's 20 bytes into `out`.
    public func encode(into out: UnsafeMutableRawPointer) {
        var h = sy_frame_header_t(version: FrameHeader.version, type: rawType, flags: flags, stream: stream,
                                  length: length)
        sy_frame_header_encode(&h, out.assumingMemoryBound(to: UInt8.self))
    }

    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: FrameHeader.size) { buf, n in
            encode(into: buf.baseAddress!)
            n = FrameHeader.size
        }
    }
}

/// Why a frame was rejected; every one of these closes the link.
public enum FrameError: Error, Equatable, Sendable {
    case badMagic, badVersion, badFlags, badReserved, tooLarge
    case badCompression
    case badCallPayload

    init?(code: Int32) {
        switch Int(code) {
        case SY_EFRAME_MAGIC: self = .badMagic
        case SY_EFRAME_VERSION: self = .badVersion
        case SY_EFRAME_FLAGS: self = .badFlags
        case SY_EFRAME_RESERVED: self = .badReserved
        case SY_EFRAME_TOO_LARGE: self = .tooLarge
        default: return nil
        }
    }

    /// The name used in proto/vectors/index.json.
    public var vectorName: String {
        switch self {
        case .badMagic: return "bad-magic"
        case .badVersion: return "bad-version"
        case .badFlags: return "bad-flags"
        case .badReserved: return "bad-reserved"
        case .tooLarge: return "too-large"
        case .badCompression: return "bad-compression"
        case .badCallPayload: return "bad-call"
        }
    }
}

/// Splits a byte stream into frames without copying.
public enum FrameParser {
    /// Looks at the start of `bytes`: nil when more bytes are needed, else the header and the
    /// payload's range within `bytes` (the wire payload, still compressed if flagged).
    public static func next(_ bytes: UnsafeRawBufferPointer, maxPayload: Int = FrameHeader.maxPayload)
        throws(FrameError) -> (header: FrameHeader, payload: Range<Int>)? {
        guard bytes.count >= FrameHeader.size, let base = bytes.baseAddress else { return nil }
        var h = sy_frame_header_t()
        let rc = sy_frame_header_decode(base.assumingMemoryBound(to: UInt8.self), bytes.count, UInt32(maxPayload), &h)
        if rc != 0 {
            if Int(rc) == SY_EFRAME_SHORT { return nil }
            throw FrameError(code: rc) ?? .badMagic
        }
        let total = FrameHeader.size + Int(h.length)
        guard bytes.count >= total else { return nil }
        let header = FrameHeader(rawType: h.type, flags: h.flags, stream: h.stream, length: h.length)
        return (header, FrameHeader.size..<total)
    }

    /// Bytes the frame starting at `bytes` needs in all, once its header is readable.
    public static func frameSize(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= FrameHeader.size else { return nil }
        let len = Int(bytes[16]) << 24 | Int(bytes[17]) << 16 | Int(bytes[18]) << 8 | Int(bytes[19])
        return FrameHeader.size + len
    }
}
