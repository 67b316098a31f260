import Glibc
import MCPCore
import Security

/// The credentials this front has verified, found by the `Authorization` header's bytes as they
/// lie in the read buffer: a keep-alive client sends the same header with every request, so the
/// common case is a hash of its last bytes, one table lookup and one memcmp, with no String, no
/// SHA-256 and no lock (the authenticator's own cache costs all three). Entries hold until the
/// credential expires, the authenticator's credentials change (a new JWK Set, an API key
/// revoked: `BearerAuthenticator.generation`), or the table is full (then it starts over).
/// Thread: the loop thread.
final class VerifiedCredentials {
    private struct Entry {
        let header: [UInt8]
        let principal: Principal
        let generation: UInt64
    }

    @exclusivity(unchecked) private var entries: [UInt64: Entry] = [:]
    let capacity: Int

    init(capacity: Int = 10_000) { self.capacity = capacity }

    var count: Int { entries.count }

    /// The principal of a header seen before and still good at `now` (Unix seconds).
    func principal(_ header: UnsafeRawBufferPointer, now: UInt64, generation: UInt64) -> Principal? {
        guard let e = entries[Self.key(header)], e.generation == generation, e.header.count == header.count,
              e.header.withUnsafeBytes({ memcmp($0.baseAddress!, header.baseAddress!, header.count) }) == 0 else {
            return nil
        }
        if let exp = e.principal.expiresAt, now >= exp { return nil }
        return e.principal
    }

    func insert(_ header: UnsafeRawBufferPointer, _ principal: Principal, generation: UInt64) {
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[Self.key(header)] = Entry(header: Array(header), principal: principal, generation: generation)
    }

    /// FNV-1a of the length and the last 32 bytes: a token's random or signature bytes are at
    /// its end, and a hit is confirmed by comparing every byte.
    private static func key(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h = FNV1a.basis ^ UInt64(b.count)
        for i in max(0, b.count - 32)..<b.count { h = (h ^ UInt64(b[i])) &* FNV1a.prime }
        return h
    }
}
