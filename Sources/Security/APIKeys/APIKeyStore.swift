import MCPCore

/// The keys of an API keys file, looked up by the hash of the presented key.
///
/// Thread: any; the table is replaced whole under a lock by `reloadIfChanged`.
public final class APIKeyStore: Sendable {
    public let path: String

    private struct Table {
        /// By lowercase hex hash.
        var byHash: [String: APIKeyRecord] = [:]
        var version: [Int]?
    }
    private let table: Locked<Table>

    /// Loads `path` (which must exist and be private).
    public init(path: String) throws(ProtectedFile.Problem) {
        self.path = path
        let version = ProtectedFile.version(path)
        let records = try APIKeysFile.load(path)
        table = Locked(Table(byHash: Self.index(records), version: version))
    }

    public var count: Int { table.withLock { $0.byHash.count } }

    /// The principal of `key`, or `invalidToken` for a key of the wrong form or one not in
    /// the file (revoked, tampered, never issued).
    public func authenticate(_ key: String) -> Result<Principal, AuthFailure> {
        guard APIKey.decode(key) != nil else { return .failure(AuthFailure(.invalidToken, "malformed api key")) }
        let hash = APIKey.hash(key)
        let record = table.withLock { $0.byHash[hash] }
        // The dictionary found a candidate by hash; confirm in constant time so the answer's
        // timing says nothing about how much of a hash matched.
        guard let record, Digest.constantTimeEqual(Array(record.hash.utf8), Array(hash.utf8)) else {
            return .failure(AuthFailure(.invalidToken, "unknown api key"))
        }
        return .success(record.principal)
    }

    /// Re-reads the file when it changed (device, inode, size or mtime); true when it did.
    /// A file that became unreadable or invalid throws and leaves the current keys in place.
    @discardableResult
    public func reloadIfChanged() throws(ProtectedFile.Problem) -> Bool {
        let version = ProtectedFile.version(path)
        guard version != table.withLock({ $0.version }) else { return false }
        let records = try APIKeysFile.load(path)
        table.withLock { $0 = Table(byHash: Self.index(records), version: version) }
        return true
    }

    private static func index(_ records: [APIKeyRecord]) -> [String: APIKeyRecord] {
        Dictionary(records.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
