import MCPCore

/// Verified JWTs by the SHA-256 of their bytes, so a token seen before costs a hash and a
/// lookup instead of a signature check. An entry lives until its principal's `exp` (plus the
/// clock skew, as the verifier allows); lookups check it, so an expired token is never served.
/// Bounded: when full, expired entries go first, then the oldest.
///
/// Thread: any; one lock around the table (the hot path holds it for a dictionary lookup).
/// The key is a digest, not the token: a memory dump of the cache yields no usable credential.
public final class TokenCache: Sendable {
    struct Key: Hashable {
        let a, b, c, d: UInt64
    }

    struct Entry {
        let principal: Principal
        let expiresAt: UInt64
    }

    struct State {
        var entries: [Key: Entry] = [:]
        /// Insertion order, for evicting the oldest; keys already removed are skipped.
        var order: [Key] = []
        var head = 0
    }

    public let capacity: Int
    let clockSkew: UInt64
    private let state = Locked(State())

    public init(capacity: Int = 100_000, clockSkew: UInt64 = 60) {
        self.capacity = max(1, capacity)
        self.clockSkew = clockSkew
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// The cached principal for `token`, unless absent or expired at `now`.
    public func principal(for token: String, now: UInt64) -> Principal? {
        let key = Self.key(token)
        return state.withLock { s -> Principal? in
            guard let entry = s.entries[key] else { return nil }
            guard now < entry.expiresAt &+ clockSkew else {
                s.entries[key] = nil
                return nil
            }
            return entry.principal
        }
    }

    /// Remembers a verified token. Principals without an expiry are not cached (JWTs always
    /// carry `exp`; this cache is for them only).
    public func insert(_ token: String, principal: Principal, now: UInt64) {
        guard let exp = principal.expiresAt else { return }
        let key = Self.key(token)
        state.withLock { s in
            if s.entries.count >= capacity { evict(&s, now: now) }
            if s.entries.updateValue(Entry(principal: principal, expiresAt: exp), forKey: key) == nil {
                s.order.append(key)
            }
            // Lookups drop expired entries without touching `order`: keep it bounded too.
            if s.order.count - s.head > 2 * capacity { compactOrder(&s) }
        }
    }

    /// Drops every entry (e.g. after a key was withdrawn from the JWKS).
    public func removeAll() {
        state.withLock { $0 = State() }
    }

    /// Makes room for about a tenth of the capacity: a full scan per eviction round, not per
    /// insertion.
    private func evict(_ s: inout State, now: UInt64) {
        let target = capacity - max(1, capacity / 10)
        s.entries = s.entries.filter { now < $0.value.expiresAt &+ clockSkew }
        while s.entries.count > target && s.head < s.order.count {
            s.entries[s.order[s.head]] = nil
            s.head += 1
        }
        compactOrder(&s)
    }

    /// Keeps only keys still present in `order`, oldest first, each once.
    private func compactOrder(_ s: inout State) {
        var seen = Set<Key>()
        s.order = s.order[s.head...].filter { s.entries[$0] != nil && seen.insert($0).inserted }
        s.head = 0
    }

    static func key(_ token: String) -> Key {
        let d = Digest.sha256(token)
        func word(_ i: Int) -> UInt64 { d[i..<i + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        return Key(a: word(0), b: word(8), c: word(16), d: word(24))
    }
}
