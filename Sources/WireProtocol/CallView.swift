import MCPCore

/// A CALL payload read in place (proto, "CALL payload"): name, meta and arguments are ranges of
/// the frame's bytes, which `bytes` keeps alive; nothing is copied. What an executor runs a
/// call from; `CallPayload` is the same payload as separate arrays, for building one.
/// Thread: any (immutable).
public struct CallView: Sendable {
    public let bytes: FrameBytes
    public let kind: UInt8
    public let name: Range<Int>
    public let meta: Range<Int>
    public let arguments: Range<Int>

    /// Checks a CALL payload as `CallPayload.decode` does (the same errors) and views its parts.
    public init(_ bytes: FrameBytes) throws(FrameError) {
        let (kind, n, m) = try bytes.withUnsafeBytes { (p) throws(FrameError) -> (UInt8, Int, Int) in
            guard p.count >= CallPayload.fixedSize, p[1] == 0 else { throw .badCallPayload }
            let n = Int(p[2]) << 8 | Int(p[3])
            let m = Int(p[4]) << 24 | Int(p[5]) << 16 | Int(p[6]) << 8 | Int(p[7])
            // n < 2^16 and m < 2^32: the sum cannot overflow an Int.
            guard n <= p.count - CallPayload.fixedSize, m <= p.count - CallPayload.fixedSize - n else {
                throw .badCallPayload
            }
            let name = UnsafeRawBufferPointer(rebasing: p[CallPayload.fixedSize..<CallPayload.fixedSize + n])
            guard String(validating: name, as: UTF8.self) != nil else { throw .badCallPayload }
            return (p[0], n, m)
        }
        let f = CallPayload.fixedSize
        self.bytes = bytes
        self.kind = kind
        name = f..<f + n
        meta = f + n..<f + n + m
        arguments = f + n + m..<bytes.count
    }

    /// The payload of `call`, encoded (tests and local runs; links view what they read).
    public init(_ call: CallPayload) throws {
        try self.init(FrameBytes(call.encoded()))
    }

    public var knownKind: CallPayload.Kind? { CallPayload.Kind(rawValue: kind) }
    public var nameString: String {
        bytes.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[name]), as: UTF8.self) }
    }
    public var metaBytes: [UInt8] { bytes.withUnsafeBytes { Array($0[meta]) } }
    public var argumentCount: Int { arguments.count }
    /// The arguments' bytes, valid during `body`.
    public func withArguments<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[arguments])) }
    }
}
