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

    /// The 8 fixed bytes that precede name, meta and arguments.
    public static func prefix(kind: Kind, nameLength: Int, metaLength: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: fixedSize) { b, n in
            writePrefix(kind: kind, nameLength: nameLength, metaLength: metaLength,
                        into: UnsafeMutableRawPointer(b.baseAddress!))
            n = fixedSize
        }
    }

    /// Writes the 8 fixed bytes at `out`.
    public static func writePrefix(kind: Kind, nameLength: Int, metaLength: Int, into out: UnsafeMutableRawPointer) {
        let bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (kind.rawValue, 0, UInt8(nameLength >> 8 & 0xFF), UInt8(nameLength & 0xFF),
             UInt8(metaLength >> 24 & 0xFF), UInt8(metaLength >> 16 & 0xFF),
             UInt8(metaLength >> 8 & 0xFF), UInt8(metaLength & 0xFF))
        withUnsafeBytes(of: bytes) { out.copyMemory(from: $0.baseAddress!, byteCount: fixedSize) }
    }

    public func encoded() -> [UInt8] {
        var out = CallPayload.prefix(kind: Kind(rawValue: kind) ?? .tool, nameLength: name.count,
                                     metaLength: meta.count)
        out[0] = kind
        out += name
        out += meta
        out += arguments
        return out
    }

    /// Decodes a CALL payload; lengths that overflow the payload are an error that closes the link.
    public static func decode(_ p: UnsafeRawBufferPointer) throws(FrameError) -> CallPayload {
        guard p.count >= fixedSize, p[1] == 0 else { throw .badCallPayload }
        let n = Int(p[2]) << 8 | Int(p[3])
        let m = Int(p[4]) << 24 | Int(p[5]) << 16 | Int(p[6]) << 8 | Int(p[7])
        guard fixedSize + n + m <= p.count else { throw .badCallPayload }
        var c = CallPayload(kind: .tool, name: "")
        c.kind = p[0]
        c.name = Array(p[fixedSize..<fixedSize + n])
        c.meta = Array(p[fixedSize + n..<fixedSize + n + m])
        c.arguments = Array(p[(fixedSize + n + m)...])
        return c
    }
}
