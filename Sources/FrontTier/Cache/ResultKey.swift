import MCPCore
import Security

/// What a cached tool result is found by: SHA-256 over the tool's name, the protocol era and
/// revision of the call, whose result it is (the principal's binding digest, or "shared"), and
/// the canonical text of the arguments (`CanonicalJSON`: member order, spacing, escapes and
/// number notation do not matter). The same on every front and host that shares a cache.
struct ResultKey: Hashable {
    private let w0, w1, w2, w3: UInt64

    /// The key's 32 digest bytes.
    let digest: [UInt8]

    init(digest: [UInt8]) {
        precondition(digest.count == 32)
        self.digest = digest
        func word(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(digest[at + $1]) } }
        w0 = word(0); w1 = word(8); w2 = word(16); w3 = word(24)
    }

    static func == (a: ResultKey, b: ResultKey) -> Bool { a.w0 == b.w0 && a.w1 == b.w1 && a.w2 == b.w2 && a.w3 == b.w3 }
    func hash(into h: inout Hasher) { h.combine(w0) }

    /// The key of a call, or nil when its arguments have no canonical form (invalid, too deep, a
    /// member name twice): such a call is not cached. `owner`: nil for a shared result.
    static func make(tool: String, era: String, owner: UInt64?, arguments: UnsafeRawBufferPointer?) -> ResultKey? {
        var material: [UInt8] = []
        material.reserveCapacity(96 + (arguments?.count ?? 2))
        material += "switchyard result v1\u{0}".utf8
        material += tool.utf8
        material.append(0)
        material += era.utf8
        material.append(0)
        material += (owner.map { "principal:" + String($0, radix: 16) } ?? "shared").utf8
        material.append(0)
        if let arguments, arguments.count > 0 {
            guard let canonical = CanonicalJSON.canonical(arguments) else { return nil }
            material += canonical
        } else {
            material += "{}".utf8 // absent arguments are an empty object, as validation sees them
        }
        return ResultKey(digest: AuditDigest.sha256(material))
    }

    /// The key in Redis: `sy:rc:<hex digest>`.
    var redisKey: [UInt8] { Array(("sy:rc:" + AuditDigest.hex(digest)).utf8) }
}
