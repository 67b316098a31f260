import MCPCore

/// The API keys file: `{"keys":[{"name":..,"scopes":[..],"hash":"<sha256 hex>","created":<unix>}]}`,
/// mode 0600, refused when group or others may read it. Holds hashes only.
public enum APIKeysFile {
    static let what = "API keys file"

    public static func load(_ path: String) throws(ProtectedFile.Problem) -> [APIKeyRecord] {
        let bytes = try ProtectedFile.read(path, what: what)
        return try decode(bytes, path: path)
    }

    /// The records, or `[]` when the file does not exist yet (the first `keys new`).
    public static func loadOrEmpty(_ path: String) throws(ProtectedFile.Problem) -> [APIKeyRecord] {
        ProtectedFile.exists(path) ? try load(path) : []
    }

    public static func save(_ records: [APIKeyRecord], to path: String) throws(ProtectedFile.Problem) {
        try ProtectedFile.write(encode(records), to: path, what: what)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(ProtectedFile.Problem) -> [APIKeyRecord] {
        guard case .object(let root)? = try? JSONValue.parse(bytes), case .array(let entries)? = root["keys"] else {
            throw ProtectedFile.Problem("\(what) \(path) is not {\"keys\":[...]}")
        }
        var records: [APIKeyRecord] = []
        var names = Set<String>()
        for (i, entry) in entries.enumerated() {
            guard let record = APIKeyRecord(json: entry) else {
                throw ProtectedFile.Problem("\(what) \(path): entry \(i) needs name, scopes, hash (64 hex) and created")
            }
            guard names.insert(record.name).inserted else {
                throw ProtectedFile.Problem("\(what) \(path): name '\(record.name)' appears twice")
            }
            records.append(record)
        }
        return records
    }

    /// One entry per line, so a diff of the file shows which key changed.
    static func encode(_ records: [APIKeyRecord]) -> [UInt8] {
        var out = Array("{\"keys\":[".utf8)
        for (i, record) in records.enumerated() {
            out += Array((i == 0 ? "\n  " : ",\n  ").utf8)
            record.json.write(into: &out)
        }
        out += Array((records.isEmpty ? "]}\n" : "\n]}\n").utf8)
        return out
    }
}
