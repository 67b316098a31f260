import MCPCore
import Security

/// What a cached tool result is found by: the tool's name, the protocol era and revision of the
/// call, whose result it is (the principal's binding digest, or "shared"), and the canonical text
/// of the arguments (`CanonicalJSON`: member order, spacing, escapes and number notation do not
/// matter). The memory tier finds results by these bytes themselves (no digest on a hit); the
/// shared tier by their SHA-256, the same on every front and host.
struct ResultKey: Hashable {
    /// `switchyard result v1 \0 tool \0 era \0 owner \0 canonical arguments`.
    let material: [UInt8]

    static func == (a: ResultKey, b: ResultKey) -> Bool { a.material == b.material }

    func hash(into h: inout Hasher) { material.withUnsafeBytes { h.combine(bytes: $0) } }

    /// The key of a call, or nil when its arguments have no canonical form (invalid, too deep, a
    /// member name twice): such a call is not cached. `era` is "handshake" or "stateless",
    /// `version` the protocol revision; `owner`: nil for a shared result.
    static func make(tool: String, era: StaticString, version: String, owner: UInt64?,
                     arguments: UnsafeRawBufferPointer?) -> ResultKey? {
        var m: [UInt8] = []
        m.reserveCapacity(64 + tool.utf8.count + (arguments?.count ?? 2))
        m += "switchyard result v1\u{0}".utf8
        m += tool.utf8
        m.append(0)
        m += UnsafeBufferPointer(start: era.utf8Start, count: era.utf8CodeUnitCount)
        m.append(UInt8(ascii: ":"))
        m += version.utf8
        m.append(0)
        if let owner {
            m += "principal:".utf8
            for shift in stride(from: 60, through: 0, by: -4) {
                m.append(hexDigits[Int((owner >> UInt64(shift)) & 0xF)])
            }
        } else {
            m += "shared".utf8
        }
        m.append(0)
        if let arguments, arguments.count > 0 {
            guard CanonicalJSON.append(arguments, to: &m) else { return nil }
        } else {
            m += "{}".utf8 // absent arguments are an empty object, as validation sees them
        }
        return ResultKey(material: m)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// SHA-256 of the material: 32 bytes (computed for the shared tier only).
    var digest: [UInt8] { AuditDigest.sha256(material) }

    /// The key in Redis: `sy:rc:<hex digest>`.
    var redisKey: [UInt8] { Array(("sy:rc:" + AuditDigest.hex(digest)).utf8) }
}
