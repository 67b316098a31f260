/// The CALL payload: what to run, its request metadata and its arguments (proto, "CALL payload").
public struct CallPayload: Sendable, Equatable {
    /// 1 `tools/call`, 2 `resources/read`, 3 `prompts/get`, 4 `completion/complete` (name empty,
    /// arguments = the client's whole `params` object).
    public enum Kind: UInt8, Sendable, CaseIterable { case tool = 1, resource = 2, prompt = 3, completion = 4 }
    public static let fixedSize = 8

    public var kind: UInt8
    public var name: [UInt8]
    public var meta: [UInt8]
    public var arguments: [UInt8]

    public init(kind: Kind, name: String, meta: [UInt8] = [], arguments: [UInt8] = []) {
        self.kind = kind.rawValue
        self.name = Array(name.utf8)
        self.meta = meta
        self.arguments = arguments
    }

    public var nameString: String { String(decoding: name, as: UTF8.self) }
    /// The kind, when it is one this version knows.
    public var knownKind: Kind? { Kind(rawValue: kind) }

    /// The longest name the 16-bit length field can carry, in UTF-8 bytes.
    public static let maxNameLength = Int(UInt16.max)
    /// The longest meta the 32-bit length field can carry, in bytes.
    public static let maxMetaLength = Int(UInt32.max)

    /// Why a CALL payload cannot be encoded: a field longer than its length field can say.
    public enum EncodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case nameTooLong(Int)
        case metaTooLong(Int)

        public var description: String {
            switch self {
            case .nameTooLong(let n):
                return "the name is \(n) bytes long; a CALL carries names of at most \(maxNameLength) bytes"
            case .metaTooLong(let n):
                return "the call context is \(n) bytes long; a CALL carries at most \(maxMetaLength) bytes"
            }
        }
    }

    /// Throws when a name or meta of these lengths does not fit its length field (checked before
    /// anything is written: a length is never truncated into its field).
    public static func checkLengths(nameLength: Int, metaLength: Int) throws(EncodeError) {
        guard nameLength <= maxNameLength else { throw .nameTooLong(nameLength) }
        guard metaLength <= maxMetaLength else { throw .metaTooLong(metaLength) }
    }

    /// The 8 fixed bytes that precede name, meta and arguments.
    public static func prefix(kind: Kind, nameLength: Int, metaLength: Int) throws(EncodeError) -> [UInt8] {
        try checkLengths(nameLength: nameLength, metaLength: metaLength)
        return [UInt8](unsafeUninitializedCapacity: fixedSize) { b, n in
            store(kind: kind, nameLength: nameLength, metaLength: metaLength,
                  into: UnsafeMutableRawPointer(b.baseAddress!))
            n = fixedSize
        }
    }

    /// Writes the 8 fixed bytes at `out`; throws, writing nothing, when a length does not fit.
    public static func writePrefix(kind: Kind, nameLength: Int, metaLength: Int,
                                   into out: UnsafeMutableRawPointer) throws(EncodeError) {
        try checkLengths(nameLength: nameLength, metaLength: metaLength)
        store(kind: kind, nameLength: nameLength, metaLength: metaLength, into: out)
    }

    private static func store(kind: Kind, nameLength: Int, metaLength: Int, into out: UnsafeMutableRawPointer) {
        let bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (kind.rawValue, 0, UInt8(nameLength >> 8 & 0xFF), UInt8(nameLength & 0xFF),
             UInt8(metaLength >> 24 & 0xFF), UInt8(metaLength >> 16 & 0xFF),
             UInt8(metaLength >> 8 & 0xFF), UInt8(metaLength & 0xFF))
        withUnsafeBytes(of: bytes) { out.copyMemory(from: $0.baseAddress!, byteCount: fixedSize) }
    }

    /// The payload's bytes; throws when the name or meta is too long for its length field.
    public func encoded() throws(EncodeError) -> [UInt8] {
        var out = try CallPayload.prefix(kind: Kind(rawValue: kind) ?? .tool, nameLength: name.count,
                                         metaLength: meta.count)
        out[0] = kind
        out += name
        out += meta
        out += arguments
        return out
    }

    /// Decodes a CALL payload. A payload shorter than the fixed part, with a non-zero reserved
    /// byte, with name and meta lengths that overflow it, or with a name that is not UTF-8 is
    /// an error that closes the link (proto/executor-protocol.md, section 11).
    public static func decode(_ p: UnsafeRawBufferPointer) throws(FrameError) -> CallPayload {
        guard p.count >= fixedSize, p[1] == 0 else { throw .badCallPayload }
        let n = Int(p[2]) << 8 | Int(p[3])
        let m = Int(p[4]) << 24 | Int(p[5]) << 16 | Int(p[6]) << 8 | Int(p[7])
        // n < 2^16 and m < 2^32: the sum cannot overflow an Int.
        guard n <= p.count - fixedSize, m <= p.count - fixedSize - n else { throw .badCallPayload }
        let name = UnsafeRawBufferPointer(rebasing: p[fixedSize..<fixedSize + n])
        guard String(validating: name, as: UTF8.self) != nil else { throw .badCallPayload }
        var c = CallPayload(kind: .tool, name: "")
        c.kind = p[0]
        c.name = Array(name)
        c.meta = Array(p[fixedSize + n..<fixedSize + n + m])
        c.arguments = Array(p[(fixedSize + n + m)...])
        return c
    }
}
